"""RPC contracts of agent-runtime for the channels outside chat: the agents' phone numbers (SMS and calls), the
conversation an inbound SMS or a call belongs to, and a lead submitted by an inbound source (speed to lead).

Phone numbers are E.164 strings, normalised by the gateway (phonenumbers) before they get here; one number
belongs to one agent platform-wide (``conflict`` otherwise). ``numbers.resolve`` is not tenant-scoped: it is
how a Twilio webhook, which carries only the number called, finds its tenant."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from afo_common.events.conversation import Contact
from afo_common.messaging.rpc import RpcOperation, TenantRequest
from afo_common.rpcs.agent_runtime import ConversationView

SERVICE = "agent-runtime"
E164 = r"^\+[1-9][0-9]{6,15}$"


class PhoneNumbersRef(TenantRequest):
    agent_id: str = Field(max_length=64)


class PutPhoneNumbers(PhoneNumbersRef):
    numbers: list[str] = Field(max_length=20)


class PhoneNumbersView(BaseModel):
    agent_id: str
    numbers: list[str]


class ResolveNumber(BaseModel):
    number: str = Field(pattern=E164)


class NumberOwner(BaseModel):
    tenant_id: str
    agent_id: str
    number: str


class SmsConversation(TenantRequest):
    """The conversation an SMS from ``phone`` to the agent's ``number`` goes into: the latest one of that phone
    with that agent unless it ended by an opt-out or was closed by the tenant, else a new one (channel ``sms``,
    the lead's phone known from the start). ``request_id`` makes a retried call create one conversation."""

    agent_id: str = Field(max_length=64)
    phone: str = Field(pattern=E164)
    request_id: str = Field(min_length=8, max_length=64)


class InboundLead(TenantRequest):
    """A lead an inbound source submitted: its conversation (channel ``webhook``) and lead are created, and the
    agent's opening message goes out at once (``message_replied`` with a ``reply_route``). ``request_id`` is the
    dedupe key (source + external id, or the payload's hash): the same one again answers with the first lead."""

    agent_id: str = Field(max_length=64)
    request_id: str = Field(min_length=8, max_length=64)
    contact: Contact
    # Normalised values for the lead's fields (name, email, phone, company, need…); ``message`` is what the
    # lead wrote in the form, if anything.
    fields: dict[str, str] = Field(default_factory=dict, max_length=50)
    message: str | None = Field(default=None, max_length=4000)
    # How the agent reaches out first: by SMS when the lead gave a phone and ``channel`` is sms, else by email.
    channel: Literal["sms", "email"] = "sms"


class InboundLeadView(BaseModel):
    conversation_id: str
    lead_id: str
    # False: this request id was seen before and this is the first submission's lead.
    created: bool
    # Where the opening message went (None: no usable address, or the lead opted out before).
    reached_by: Literal["sms", "email"] | None


class CallConversation(TenantRequest):
    """A call's conversation (channel ``voice``): always a new one, its lead made at once when the caller's number
    is known (and remembered, so the caller's later SMS carries it on). ``request_id`` (the call's provider id)
    makes a retried admission answer with the first conversation."""

    agent_id: str = Field(max_length=64)
    phone: str | None = Field(default=None, pattern=E164)
    request_id: str = Field(min_length=8, max_length=64)


class CallConversationView(BaseModel):
    conversation_id: str
    lead_id: str | None
    # What the agent says first, recorded as its first message; voice-media speaks it as the call connects.
    greeting: str
    # The agent's published voice settings (``VoiceConfig``) and the words the recogniser should expect.
    voice: dict[str, Any]
    hints: list[str]
    # What the agent leaves on an answering machine: the agent's own ``voicemail_message``, else one naming it.
    voicemail_message: str


def _op(name: str, request: type[Any], response: type[Any]) -> RpcOperation[Any, Any]:
    return RpcOperation(SERVICE, name, request, response)


PUT_PHONE_NUMBERS: RpcOperation[PutPhoneNumbers, PhoneNumbersView] = _op(
    "numbers.put", PutPhoneNumbers, PhoneNumbersView)
GET_PHONE_NUMBERS: RpcOperation[PhoneNumbersRef, PhoneNumbersView] = _op(
    "numbers.get", PhoneNumbersRef, PhoneNumbersView)
RESOLVE_NUMBER: RpcOperation[ResolveNumber, NumberOwner] = _op("numbers.resolve", ResolveNumber, NumberOwner)
SMS_CONVERSATION: RpcOperation[SmsConversation, ConversationView] = _op(
    "conversations.for_sms", SmsConversation, ConversationView)
INBOUND_LEAD: RpcOperation[InboundLead, InboundLeadView] = _op("leads.inbound", InboundLead, InboundLeadView)
CALL_CONVERSATION: RpcOperation[CallConversation, CallConversationView] = _op(
    "conversations.for_call", CallConversation, CallConversationView)

OPERATIONS: list[RpcOperation[Any, Any]] = [
    PUT_PHONE_NUMBERS, GET_PHONE_NUMBERS, RESOLVE_NUMBER, SMS_CONVERSATION, INBOUND_LEAD, CALL_CONVERSATION,
]
