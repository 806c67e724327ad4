"""Twilio's webhooks: an inbound SMS (``POST /twilio/sms``), an inbound call (``POST /twilio/voice``) and a status
report of a message or a call (``POST /twilio/status``).

Rules:
- The tenant is found from the number the SMS was sent to (an agent's number, agent-runtime's
  ``numbers.resolve``; unknown: 404), for a status report from its ``?tenant=`` (notifier puts it in the
  ``StatusCallback`` URL it sends, which the signature covers) or else its ``From`` number.
- ``X-Twilio-Signature`` is checked with twilio's ``RequestValidator`` and the tenant's Twilio auth token from
  the vault, over the URL Twilio called (``AFO_PUBLIC_URL`` + path when set, else the request's URL) and the
  form's parameters; the form's ``AccountSid`` must be the tenant's too. A tenant without Twilio credentials
  cannot have its requests checked, so they are refused like a bad signature (403).
- An SMS becomes ``conversation.message_received`` (channel ``sms``, ``reply_route`` back to the sender from
  the number it was sent to) in the conversation agent-runtime chooses for that phone (``conversations.for_sms``).
  It is deduplicated on ``MessageSid``: its event id and message id are derived from the tenant and the SID, so
  a retried webhook meets the outbox's unique event id (while unpublished), JetStream's duplicate window
  (10 minutes) and agent-runtime's inbox and message key. It carries no ``sequence`` (Twilio itself does not
  promise order); an empty body (a picture alone) records nothing.
- An SMS over the tenant's monthly messages (its plan, ``handlers/quotas.py``) records nothing and is answered with
  the same empty TwiML: Twilio is told it was received, and the lead gets nothing.
- A call to an agent's number is admitted by voice-media (``calls.admit``: the call's conversation started, a
  one-time media ticket issued) and answered with TwiML that connects the call's audio to voice-media's media
  WebSocket (``<Connect><Stream>``); the audio never passes through the gateway. A call voice-media refuses for
  the tenant's plan (calls at once, voice minutes) hears a short refusal (``<Say>``) and is hung up.
- An outbound call (``Direction`` outbound-api: one voice-media placed, ``POST /v1/calls``) asks for its TwiML
  once answered: its tenant is the owner of ``From`` (the agent's number) and the lead is ``To``. Twilio's
  answering machine detection says who answered (``AnsweredBy``): a machine whose greeting ended
  (``machine_end_beep``, ``machine_end_silence``, ``machine_end_other``) hears the agent's voicemail message
  (``<Say>``, then ``<Hangup/>``) and the call ends ``voicemail`` (``calls.voicemail``); a person, or an
  undecided answer, is connected to the agent like an inbound call.
- A status report with a ``CallSid`` and ``CallStatus`` (no ``MessageSid``) is a call's: recorded on the call by
  voice-media. Its tenant is the owner of the agent's number: ``To`` for an inbound call, else ``From``.
- STOP, UNSUBSCRIBE, CANCEL, END, QUIT… reach the agent like any message: agent-runtime's rules opt the lead
  out (``conversation.opted_out``), and notifier sends nothing more to that lead."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Connect, VoiceResponse

from afo_common.clock import Clock
from afo_common.events.conversation import MessageReceived, ReplyRoute
from afo_common.hot_sql import IntegrityError
from afo_common.messaging.inbox import record_processed
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs import agent_runtime_channels as ch
from afo_common.rpcs import notifier_delivery as nd
from afo_common.rpcs import voice_media as vm
from afo_gateway.adapters.plans_repository import count_message
from afo_gateway.domain.errors import ApiProblem, Forbidden, Invalid, NotFound, QuotaExceeded
from afo_gateway.domain.phones import NotAPhoneNumber, e164
from afo_gateway.handlers.integrations import Integrations
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.quotas import Quotas

log = logging.getLogger(__name__)
MAX_TEXT = 8000
_IDS = uuid.UUID("1b0f3c64-5e8a-4a59-9d0e-7f3c2b1a9e11")
MACHINE_ENDS = frozenset({"machine_end_beep", "machine_end_silence", "machine_end_other"})
SMS_RECEIVED = "gateway-twilio-sms"  # the inbox's name for the SMS the webhook recorded
BUSY = "Sorry, we cannot take your call right now. Please try again later. Goodbye."


class BadSignature(Forbidden):
    pass


class AlreadyRecorded(Exception):
    """This SMS was recorded before: its transaction is undone, nothing is sent twice."""


class TwilioWebhooks:
    def __init__(self, owners: Owners, integrations: Integrations, unit_of_work: UnitOfWorkFactory,
                 clock: Clock, quotas: Quotas) -> None:
        self._quotas = quotas
        self._owners = owners
        self._integrations = integrations
        self._uow = unit_of_work
        self._clock = clock

    async def sms(self, url: str, params: Mapping[str, str], signature: str | None) -> bool:
        """True when a message was recorded, False for a duplicate or an empty one."""
        owner = await self._owner(params.get("To", ""))
        await self._check(owner.tenant_id, url, params, signature)
        sid = params.get("MessageSid") or params.get("SmsSid") or ""
        if not sid or len(sid) > 64:
            raise Invalid("MessageSid is missing")
        try:
            phone = e164(params.get("From", ""))
        except NotAPhoneNumber as exc:
            raise Invalid("From is not a phone number") from exc
        text = (params.get("Body") or "").strip()[:MAX_TEXT]
        if not text:
            return False
        try:
            await self._quotas.admit_message(owner.tenant_id)
        except QuotaExceeded as exc:
            log.info("SMS %s of tenant %s not recorded: %s", sid, owner.tenant_id, exc.detail)
            return False
        conversation = await self._owners.call(ch.SMS_CONVERSATION, ch.SmsConversation(
            tenant_id=owner.tenant_id, agent_id=owner.agent_id, phone=phone, request_id=f"sms_{sid}"))
        key = uuid.uuid5(_IDS, f"{owner.tenant_id}:{sid}")
        event = MessageReceived(conversation_id=conversation.id, message_id=f"msg_{key.hex}", channel="sms",
                                text=text, sent_at=self._clock.now(),
                                reply_route=ReplyRoute(channel="sms", to=phone, sender=owner.number))
        try:
            async with self._uow.hot() as uow:
                # Twilio sends a webhook again when it did not hear back in time: the inbox remembers which SMS
                # were recorded (for its retention, days), so one is recorded and counted once.
                if not await record_processed(uow, SMS_RECEIVED, str(key)):
                    raise AlreadyRecorded(sid)
                await uow.emit(event, tenant_id=owner.tenant_id, event_id=str(key))
                await count_message(uow.tx, owner.tenant_id, event.sent_at)
        except (AlreadyRecorded, IntegrityError):
            log.info("SMS %s of tenant %s received again: already recorded", sid, owner.tenant_id)
            return False
        return True

    async def voice(self, url: str, params: Mapping[str, str], signature: str | None) -> str:
        """TwiML connecting the admitted call to voice-media's media WebSocket, or leaving a voicemail."""
        outbound = params.get("Direction", "").startswith("outbound")
        owner = await self._owner(params.get("From" if outbound else "To", ""))
        await self._check(owner.tenant_id, url, params, signature)
        sid = params.get("CallSid") or ""
        if not sid or len(sid) > 64:
            raise Invalid("CallSid is missing")
        if outbound:
            return await self._outbound(owner, sid, params)
        try:
            caller: str | None = e164(params.get("From", ""))
        except NotAPhoneNumber:
            caller = None  # a withheld or unknown number: the call goes on without a lead's phone
        try:
            admitted = await self._owners.call(vm.ADMIT_CALL, vm.AdmitCall(
                tenant_id=owner.tenant_id, agent_id=owner.agent_id, provider_call_id=sid, caller=caller,
                called=owner.number))
        except QuotaExceeded as exc:
            log.info("call %s of tenant %s refused: %s", sid, owner.tenant_id, exc.detail)
            return _refusal()
        return _stream(admitted)

    async def _outbound(self, owner: ch.NumberOwner, sid: str, params: Mapping[str, str]) -> str:
        answered_by = params.get("AnsweredBy", "")
        if answered_by in MACHINE_ENDS:
            left = await self._owners.call(vm.LEAVE_VOICEMAIL, vm.VoicemailReached(
                tenant_id=owner.tenant_id, provider_call_id=sid, answered_by=answered_by))
            response = VoiceResponse()
            response.say(left.message)
            response.hangup()
            return str(response)
        try:
            lead = e164(params.get("To", ""))
        except NotAPhoneNumber as exc:
            raise Invalid("To is not a phone number") from exc
        admitted = await self._owners.call(vm.ADMIT_CALL, vm.AdmitCall(
            tenant_id=owner.tenant_id, agent_id=owner.agent_id, provider_call_id=sid, caller=owner.number,
            called=lead, direction="outbound"))
        return _stream(admitted)

    async def status(self, url: str, params: Mapping[str, str], signature: str | None,
                     tenant_id: str | None) -> bool:
        """A delivery report or a call's status: True when it was recorded on one of the tenant's notifications
        or calls."""
        is_call = bool(params.get("CallSid") and params.get("CallStatus") and not params.get("MessageSid"))
        own_number = params.get("To", "") if is_call and params.get("Direction", "").startswith("inbound") else \
            params.get("From", "")
        tenant = tenant_id or (await self._owner(own_number)).tenant_id
        await self._check(tenant, url, params, signature)
        if is_call:
            return await self._call_status(tenant, params)
        sid, status = params.get("MessageSid") or params.get("SmsSid"), params.get("MessageStatus")
        if not sid or not status:
            return False
        recorded = await self._owners.call(nd.RECORD_DELIVERY_STATUS, nd.DeliveryStatus(
            tenant_id=tenant, provider_id=sid[:120], status=status[:32],
            error_code=(params.get("ErrorCode") or None) and params["ErrorCode"][:16]))
        return recorded.recorded

    async def _call_status(self, tenant_id: str, params: Mapping[str, str]) -> bool:
        duration = params.get("CallDuration") or ""
        recorded = await self._owners.call(vm.RECORD_CALL_STATUS, vm.CallStatusReport(
            tenant_id=tenant_id, provider_call_id=params["CallSid"][:64], status=params["CallStatus"][:32],
            duration_s=int(duration) if duration.isdigit() else None,
            answered_by=(params.get("AnsweredBy") or None) and params["AnsweredBy"][:32]))
        return recorded.recorded

    async def _owner(self, number: str) -> ch.NumberOwner:
        try:
            normalised = e164(number)
        except NotAPhoneNumber:
            raise NotFound("no agent has this number") from None
        return await self._owners.call(ch.RESOLVE_NUMBER, ch.ResolveNumber(number=normalised))

    async def _check(self, tenant_id: str, url: str, params: Mapping[str, str], signature: str | None) -> None:
        if not signature:
            raise BadSignature("X-Twilio-Signature is missing")
        fields = await self._credentials(tenant_id)
        if fields is None or not fields.get("auth_token"):
            raise BadSignature("this tenant has no Twilio credentials to check the signature with")
        if not RequestValidator(str(fields["auth_token"])).validate(url, dict(params), signature):
            raise BadSignature("X-Twilio-Signature does not match this request")
        if params.get("AccountSid") and params["AccountSid"] != fields.get("account_sid"):
            raise BadSignature("the request is for another Twilio account")

    async def _credentials(self, tenant_id: str) -> dict[str, Any] | None:
        try:
            return await self._integrations.fields(tenant_id, "twilio")
        except ApiProblem as exc:  # the vault has no key, or cannot open the record
            log.warning("Twilio credentials of %s unavailable: %s", tenant_id, exc.detail)
            return None


def _stream(admitted: vm.AdmittedCall) -> str:
    """TwiML connecting the call's audio to voice-media's media WebSocket."""
    response = VoiceResponse()
    connect = Connect()
    stream = connect.stream(url=admitted.stream_url)
    stream.parameter(name="call_id", value=admitted.call_id)
    response.append(connect)
    return str(response)


def _refusal() -> str:
    """TwiML that tells the caller the call cannot be taken, and hangs up."""
    response = VoiceResponse()
    response.say(BUSY)
    response.hangup()
    return str(response)
