"""A phone call handed to a person: when agent-runtime asks for a handoff (the lead wants a human), the live
Twilio call is given new TwiML that dials the agent's ``transfer_to`` number; Twilio then ends the media stream
and the call is recorded ``transferred``.

Nothing is transferred (the agent simply carries on, having said someone will follow up) for a browser call, an
agent without ``transfer_to``, a tenant whose Twilio credentials are gone, or Twilio refusing the update."""

from __future__ import annotations

import logging

from twilio.twiml.voice_response import VoiceResponse

from afo_common.credentials import resolve_credential
from afo_common.messaging.rpc import RpcClient, RpcError
from afo_common.messaging.store import SqlStore
from afo_voice_media.adapters.call_repository import SqlRepositories
from afo_voice_media.adapters.twilio_calls import TwilioAccount, TwilioCallError
from afo_voice_media.handlers.call_session import CallContext
from afo_voice_media.handlers.calls import SERVICE

log = logging.getLogger(__name__)


def dial_twiml(number: str) -> str:
    response = VoiceResponse()
    response.dial(number)
    return str(response)


class Transfers:
    """The ``Handoff`` a call session is given: True when Twilio took the call on to the person."""

    def __init__(self, store: SqlStore[SqlRepositories], rpc: RpcClient, twilio: TwilioAccount) -> None:
        self._store = store
        self._rpc = rpc
        self._twilio = twilio

    async def __call__(self, call: CallContext) -> bool:
        async with self._store.reading() as repos:
            row = await repos.calls.get(call.tenant_id, call.call_id)
        number = row.voice.get("transfer_to") if row is not None else None
        if row is None or row.transport != "twilio" or not row.provider_call_id or not number:
            return False
        try:
            fields = await resolve_credential(self._rpc, SERVICE, row.tenant_id, "twilio", "transfer a call")
        except RpcError as exc:
            log.warning("call %s: no transfer, the Twilio credentials are unavailable: %s", row.id, exc.message)
            return False
        if not fields or not fields.get("account_sid") or not fields.get("auth_token"):
            log.warning("call %s: no transfer, the tenant has no Twilio credentials", row.id)
            return False
        try:
            await self._twilio(fields).run_twiml(row.provider_call_id, dial_twiml(str(number)))
        except TwilioCallError as exc:
            log.warning("call %s: Twilio did not transfer it: %s", row.id, exc.reason)
            return False
        log.info("call %s: transferred to a person", row.id)
        return True
