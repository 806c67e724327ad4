"""Calls (owned by voice-media): the gateway checks the caller may read (or, to place an outbound call, write)
and that the number dialled is one, then asks the owner over RPC (which answers ``not_found`` for another
tenant's id)."""

from __future__ import annotations

from typing import Protocol

from afo_common.messaging.blobs import BlobNotFound
from afo_common.rpcs import voice_media as vm
from afo_common.rpcs.pages import Page
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.domain.errors import Forbidden, Invalid, NotFound
from afo_gateway.domain.phones import NotAPhoneNumber, e164
from afo_gateway.handlers.owners import Owners


class Blobs(Protocol):
    async def get(self, name: str) -> bytes: ...


class Calls:
    def __init__(self, owners: Owners, recordings: Blobs) -> None:
        self._owners = owners
        self._recordings = recordings

    async def list(self, principal: Principal, limit: int, cursor: str | None, agent_id: str | None,
                   conversation_id: str | None = None) -> Page[vm.CallView]:
        require(principal, Permission.READ)
        return await self._owners.call(vm.LIST_CALLS, vm.ListCalls(
            tenant_id=principal.tenant_id, limit=limit, cursor=cursor, agent_id=agent_id,
            conversation_id=conversation_id))

    async def dial(self, principal: Principal, agent_id: str, to: str) -> vm.CallView:
        """The agent calls ``to`` (with its country code) from its first number through the tenant's Twilio
        account."""
        require(principal, Permission.WRITE)
        try:
            number = e164(to)
        except NotAPhoneNumber as exc:
            raise Invalid("to is not a phone number with its country code",
                          [{"loc": ["body", "to"], "msg": str(exc), "type": "value_error"}]) from exc
        return await self._owners.call(vm.DIAL_CALL, vm.DialCall(
            tenant_id=principal.tenant_id, agent_id=agent_id, to=number))

    async def browser_offer(self, principal: Principal, agent_id: str | None, sdp: str) -> vm.BrowserAnswer:
        """A publishable key talks to its own agent (its origin was checked on the way in); a secret key or a
        user names the agent."""
        require(principal, Permission.WRITE, publishable=True)
        if principal.is_publishable:
            if agent_id is not None and agent_id != principal.agent_id:
                raise Forbidden("this publishable key opens calls to its own agent only")
            agent_id = principal.agent_id
        if agent_id is None:
            raise Invalid("agent_id is required")
        return await self._owners.call(vm.BROWSER_OFFER, vm.BrowserOffer(
            tenant_id=principal.tenant_id, agent_id=agent_id, sdp=sdp))

    async def recording(self, principal: Principal, call_id: str) -> bytes:
        """The call's recording (WAV); NotFound while it has none (still in progress, or nothing was said)."""
        call = await self.get(principal, call_id)
        if call.recording is None:
            raise NotFound(f"call {call_id} has no recording")
        try:
            return await self._recordings.get(call.recording.name)
        except BlobNotFound:
            raise NotFound(f"call {call_id}'s recording is gone") from None

    async def get(self, principal: Principal, call_id: str) -> vm.CallDetail:
        require(principal, Permission.READ)
        return await self._owners.call(vm.GET_CALL, vm.CallRef(tenant_id=principal.tenant_id, call_id=call_id))
