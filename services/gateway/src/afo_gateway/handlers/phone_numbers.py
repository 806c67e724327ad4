"""An agent's phone numbers (owned by agent-runtime): numbers checked and normalised to E.164 here, then
stored by the owner, which refuses one another agent holds (409)."""

from __future__ import annotations

from afo_common.rpcs import agent_runtime_channels as ch
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.domain.errors import Invalid
from afo_gateway.domain.phones import NotAPhoneNumber, e164
from afo_gateway.handlers.audit import AuditTrail
from afo_gateway.handlers.owners import Owners


class PhoneNumbers:
    def __init__(self, owners: Owners, audit: AuditTrail) -> None:
        self._owners = owners
        self._audit = audit

    async def put(self, principal: Principal, agent_id: str, numbers: list[str]) -> ch.PhoneNumbersView:
        require(principal, Permission.WRITE)
        normalised, errors = [], []
        for index, raw in enumerate(numbers):
            try:
                normalised.append(e164(raw))
            except NotAPhoneNumber as exc:
                errors.append({"loc": ["body", "numbers", index], "msg": str(exc), "type": "phone_number"})
        if errors:
            raise Invalid("numbers must be phone numbers in E.164 (+ and the country code)", errors)
        stored: ch.PhoneNumbersView = await self._owners.call(ch.PUT_PHONE_NUMBERS, ch.PutPhoneNumbers(
            tenant_id=principal.tenant_id, agent_id=agent_id, numbers=normalised))
        await self._audit.changed(principal, "agent.phone_numbers.update", agent_id)
        return stored

    async def get(self, principal: Principal, agent_id: str) -> ch.PhoneNumbersView:
        require(principal, Permission.READ)
        return await self._owners.call(ch.GET_PHONE_NUMBERS, ch.PhoneNumbersRef(
            tenant_id=principal.tenant_id, agent_id=agent_id))
