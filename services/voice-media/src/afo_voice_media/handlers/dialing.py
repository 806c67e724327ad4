"""Outbound calls: the agent calls a lead from its first phone number through the tenant's Twilio account.

Rules:
- Refused for the tenant's plan (calls at once, voice minutes: ``handlers/call_limits.py``) before anything else.
- Refused (``conflict``) before anything is made when the agent has no number or the tenant no Twilio
  credentials, and (``unavailable``) when this platform has no public address Twilio could call back.
- The call is recorded (``dialing``, its conversation started with the lead's phone) before Twilio is asked, so
  a call Twilio placed always has its record; Twilio's CallSid is stored as soon as it answers, seconds before
  the lead can pick up and Twilio asks ``/twilio/voice`` for the call's TwiML (``Calls.admit`` then finds it).
- Twilio is asked once (a repeated create could ring the lead twice). A refusal ends the call ``failed`` and is
  the caller's problem: the tenant's credentials refused (``conflict``), a bad request (``invalid``, Twilio's
  words), no answer or a server error (``unavailable``).
- The voicemail message is resolved now (``conversations.for_call``) and kept with the call's voice settings, so
  the answering machine gets it without another lookup."""

from __future__ import annotations

import logging
from dataclasses import replace

from afo_common.clock import Clock
from afo_common.credentials import resolve_credential
from afo_common.ids import new_id
from afo_common.messaging.rpc import ErrorCode, RpcClient, RpcError
from afo_common.messaging.store import SqlStore
from afo_common.rpcs import agent_runtime_channels as ch
from afo_common.rpcs.voice_media import CallView, DialCall
from afo_voice_media.adapters.call_repository import CallRow, SqlRepositories
from afo_voice_media.adapters.twilio_calls import OutboundCall, TwilioAccount, TwilioCallError
from afo_voice_media.handlers.calls import SERVICE, Calls, view_of

log = logging.getLogger(__name__)


def _refusal(error: TwilioCallError) -> ErrorCode:
    if error.status is None or error.status == 429 or error.status >= 500:
        return "unavailable"
    return "conflict" if error.status in (401, 403) else "invalid"


class Dialer:
    def __init__(self, store: SqlStore[SqlRepositories], rpc: RpcClient, clock: Clock, calls: Calls,
                 twilio: TwilioAccount, public_url: str | None) -> None:
        self._store = store
        self._rpc = rpc
        self._clock = clock
        self._calls = calls
        self._twilio = twilio
        self._public_url = public_url.rstrip("/") if public_url else None

    async def dial(self, request: DialCall) -> CallView:
        tenant_id, agent_id = request.tenant_id, request.agent_id
        await self._calls.allow(tenant_id)
        numbers = await self._rpc.call(ch.GET_PHONE_NUMBERS, ch.PhoneNumbersRef(tenant_id=tenant_id,
                                                                                agent_id=agent_id))
        if not numbers.numbers:
            raise RpcError("conflict", f"agent {agent_id} has no phone number to call from "
                                       f"(PUT /v1/agents/{agent_id}/phone-numbers)")
        fields = await resolve_credential(self._rpc, SERVICE, tenant_id, "twilio", "place an outbound call")
        if not fields or not fields.get("account_sid") or not fields.get("auth_token"):
            raise RpcError("conflict", "this tenant has no Twilio credentials to call with "
                                       "(PUT /v1/integrations/twilio)")
        if self._public_url is None:
            raise RpcError("unavailable", "outbound calls need AFO_PUBLIC_URL, the address Twilio calls back")
        call_id, sender = new_id("call"), numbers.numbers[0]
        conversation = await self._rpc.call(ch.CALL_CONVERSATION, ch.CallConversation(
            tenant_id=tenant_id, agent_id=agent_id, phone=request.to, request_id=f"dial_{call_id}"))
        row = CallRow(
            id=call_id, tenant_id=tenant_id, agent_id=agent_id, conversation_id=conversation.conversation_id,
            transport="twilio", direction="outbound", caller=sender, called=request.to,
            provider_call_id=None, ticket_hash=None, ticket_expires_at=None, state="dialing", provider_status=None,
            end_reason=None, greeting=conversation.greeting,
            voice={**conversation.voice, "voicemail_message": conversation.voicemail_message},
            hints=conversation.hints, created_at=self._clock.now(), started_at=None, ended_at=None, duration_s=None,
            turns=0)
        async with self._store() as uow:
            await uow.calls.add(row)
        try:
            sid = await self._twilio(fields).place(OutboundCall(
                to=request.to, sender=sender, twiml_url=f"{self._public_url}/twilio/voice",
                status_callback=f"{self._public_url}/twilio/status?tenant={tenant_id}"))
        except TwilioCallError as exc:
            log.warning("call %s: Twilio did not place it: %s", call_id, exc.reason)
            await self._calls.unanswered(row, "failed")
            raise RpcError(_refusal(exc), f"Twilio did not place the call: {exc.reason}") from None
        async with self._store() as uow:
            await uow.calls.dialled(tenant_id, call_id, sid)
        return view_of(replace(row, provider_call_id=sid))
