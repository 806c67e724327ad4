"""Who may try how often: logins and sign-ups per client address and per email (password guessing, and
argon2's cost), and every API call per principal. A refusal says when to come back.

A principal's calls are counted at its tenant's plan's ``requests_per_minute`` where that is stricter than the
platform's own limit (``AFO_RATE_LIMIT_API_PER_PRINCIPAL``), which otherwise applies: a plan's refusal names the
plan and its limit (``QuotaExceeded``), the platform's does not."""

from __future__ import annotations

from dataclasses import dataclass

from afo_gateway.adapters.rate_limits import Limit
from afo_gateway.domain.access import Principal
from afo_gateway.domain.errors import QuotaExceeded, TooManyRequests
from afo_gateway.handlers.quotas import PlanBook


@dataclass(frozen=True)
class Limits:
    login_per_ip: Limit
    login_per_email: Limit
    signup_per_ip: Limit
    signup_per_email: Limit
    api_per_principal: Limit


def _email(email: str) -> str:
    return email.strip().lower()


class Throttle:
    def __init__(self, limits: Limits, plans: PlanBook) -> None:
        self._limits = limits
        self._plans = plans

    async def login(self, client: str, email: str) -> None:
        await self._check(self._limits.login_per_ip, client, "too many logins from this address")
        await self._check(self._limits.login_per_email, _email(email), "too many logins to this account")

    async def signup(self, client: str, email: str) -> None:
        await self._check(self._limits.signup_per_ip, client, "too many sign-ups from this address")
        await self._check(self._limits.signup_per_email, _email(email), "too many sign-ups with this email")

    async def request(self, principal: Principal) -> None:
        limit = self._limits.api_per_principal
        tenant = await self._plans.of(principal.tenant_id)
        rate = tenant.limits.requests_per_minute
        if rate is None or not limit.stricter(rate):
            await self._check(limit, principal.identity, "too many requests with this key or session")
        elif (retry_after_s := await limit.hit(principal.identity, rate)) is not None:
            raise QuotaExceeded(limit="requests_per_minute", allowed=rate, used=rate, plan=tenant.plan,
                                retry_after_s=retry_after_s)

    @staticmethod
    async def _check(limit: Limit, identity: str, detail: str) -> None:
        retry_after_s = await limit.hit(identity)
        if retry_after_s is not None:
            raise TooManyRequests(f"{detail}; retry in {retry_after_s} s", retry_after_s=retry_after_s)
