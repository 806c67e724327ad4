"""Who may try how often: logins and sign-ups per client address and per email (password guessing, and
argon2's cost), and every API call per principal. A refusal says when to come back."""

from __future__ import annotations

from dataclasses import dataclass

from afo_gateway.adapters.rate_limits import Limit
from afo_gateway.domain.access import Principal
from afo_gateway.domain.errors import TooManyRequests


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
    def __init__(self, limits: Limits) -> None:
        self._limits = limits

    async def login(self, client: str, email: str) -> None:
        await self._check(self._limits.login_per_ip, client, "too many logins from this address")
        await self._check(self._limits.login_per_email, _email(email), "too many logins to this account")

    async def signup(self, client: str, email: str) -> None:
        await self._check(self._limits.signup_per_ip, client, "too many sign-ups from this address")
        await self._check(self._limits.signup_per_email, _email(email), "too many sign-ups with this email")

    async def request(self, principal: Principal) -> None:
        await self._check(self._limits.api_per_principal, principal.identity, "too many requests with this key "
                          "or session")

    @staticmethod
    async def _check(limit: Limit, identity: str, detail: str) -> None:
        retry_after_s = await limit.hit(identity)
        if retry_after_s is not None:
            raise TooManyRequests(f"{detail}; retry in {retry_after_s} s", retry_after_s=retry_after_s)
