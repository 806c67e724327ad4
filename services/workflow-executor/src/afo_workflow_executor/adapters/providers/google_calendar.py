"""Google Calendar v3 behind the `ExternalCalendar` port, with OAuth 2.0 tokens from the tenant's vault record.

Endpoints and fields used (base `https://www.googleapis.com`, configurable):
- `POST /calendar/v3/freeBusy` `{timeMin, timeMax, items: [{id}]}` → `calendars[id].busy[{start, end}]`, in
  windows of at most 60 days (Google refuses a range much longer, "The requested time range is too long"); a
  calendar answered with `errors` (e.g. `notFound`) fails for good.
- `POST /calendar/v3/calendars/{calendarId}/events?sendUpdates=all` with a client-chosen `id`: the event id is
  derived from the draft's idempotency key (base32hex of its SHA-256, as Google's id rule allows: `a-v0-9`, 5 to 1024
  characters), so a retried create — after a lost answer or a redelivery — answers `409 duplicate`, and the
  adapter then reads the event it made (`GET .../events/{eventId}`). An event found cancelled is not revived.
- `DELETE /calendar/v3/calendars/{calendarId}/events/{eventId}?sendUpdates=all`; `404` / `410` mean already gone.
- The lead is an attendee (`email`, `displayName`); the event's `htmlLink` is its URL.

Tokens: the vault's `google` record holds `client_id`, `client_secret`, `refresh_token` and, when known,
`access_token` + `expires_at` (ISO 8601, or seconds since the epoch). A token missing or within a minute of
expiry is refreshed at `POST {oauth_base}/token` (`grant_type=refresh_token`, form-encoded); a call answered
`401` refreshes once and is tried again. workflow-executor cannot write the gateway's vault, so refreshed
tokens live in `AccessTokenCache`, per process, keyed by tenant and refresh token; a new process refreshes once.
A refresh Google refuses (`invalid_grant`, `invalid_client`) is final: the tenant must connect Google again.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from afo_common.provider_http import ProviderError, ProviderHttp, RetryPolicy
from afo_workflow_executor.adapters.providers.time_windows import windows
from afo_workflow_executor.domain.calendar import Interval
from afo_workflow_executor.domain.external_calendars import ExternalEvent, MeetingDraft

GOOGLE_API = "https://www.googleapis.com"
GOOGLE_OAUTH = "https://oauth2.googleapis.com"
EARLY_REFRESH = timedelta(seconds=60)
FREE_BUSY_WINDOW = timedelta(days=60)
T = TypeVar("T")


def event_id_for(idempotency_key: str) -> str:
    """The Google event id a booking request always gets: lowercase base32hex, no padding (52 characters)."""
    digest = hashlib.sha256(idempotency_key.encode()).digest()
    return base64.b32hexencode(digest).decode().rstrip("=").lower()


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class GoogleCredentials:
    client_id: str
    client_secret: str
    refresh_token: str
    access_token: str | None = None
    expires_at: datetime | None = None
    calendar_id: str = "primary"

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> GoogleCredentials:
        """From the vault's record; a record without what a refresh needs fails for good (connect again)."""
        missing = [name for name in ("client_id", "client_secret", "refresh_token") if not fields.get(name)]
        if missing:
            raise ProviderError("google", None, f"the google record lacks {', '.join(missing)}: connect Google "
                                "(GET /v1/integrations/google/connect)", retryable=False)
        return cls(fields["client_id"], fields["client_secret"], fields["refresh_token"],
                   fields.get("access_token") or None, _expiry(fields.get("expires_at")),
                   fields.get("calendar_id") or "primary")

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.client_secret, self.refresh_token, self.access_token) if s)


def _expiry(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        if value.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(value), UTC)
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None  # unreadable: treated as expired, so the token is refreshed
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_at: datetime


class AccessTokenCache:
    """Access tokens this process refreshed, by tenant and refresh token (a tenant that connects another
    Google account has another refresh token, so it never gets the old account's token)."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str], AccessToken] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    @staticmethod
    def key(tenant_id: str, refresh_token: str) -> tuple[str, str]:
        return tenant_id, hashlib.sha256(refresh_token.encode()).hexdigest()[:32]

    def get(self, key: tuple[str, str]) -> AccessToken | None:
        return self._tokens.get(key)

    def put(self, key: tuple[str, str], token: AccessToken) -> None:
        self._tokens[key] = token

    def lock(self, key: tuple[str, str]) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    def drop_tenant(self, tenant_id: str) -> None:
        for key in [k for k in self._tokens if k[0] == tenant_id]:
            del self._tokens[key]


class GoogleCalendar:
    provider = "google"

    def __init__(
        self,
        tenant_id: str,
        credentials: GoogleCredentials,
        *,
        tokens: AccessTokenCache,
        api_base: str = GOOGLE_API,
        oauth_base: str = GOOGLE_OAUTH,
        policy: RetryPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._credentials = credentials
        self._tokens = tokens
        self._key = tokens.key(tenant_id, credentials.refresh_token)
        self._clock = clock
        # ProviderHttp redacts one secret; our requests carry tokens only in headers and form bodies, never in
        # a path, and Google's error bodies do not echo them.
        self._api = ProviderHttp("google", api_base, secret=credentials.refresh_token, policy=policy,
                                 transport=transport)
        self._oauth = ProviderHttp("google", oauth_base, secret=credentials.client_secret, policy=policy,
                                   transport=transport)

    async def aclose(self) -> None:
        await self._api.aclose()
        await self._oauth.aclose()

    @property
    def _events(self) -> str:
        return f"/calendar/v3/calendars/{quote(self._credentials.calendar_id, safe='@')}/events"

    async def busy(self, start: datetime, end: datetime) -> list[Interval]:
        found: set[Interval] = set()
        for window_start, window_end in windows(start, end, FREE_BUSY_WINDOW):
            found.update(await self._free_busy(window_start, window_end))
        return sorted(found, key=lambda i: (i.start, i.end))

    async def _free_busy(self, start: datetime, end: datetime) -> list[Interval]:
        calendar_id = self._credentials.calendar_id
        body = {"timeMin": _rfc3339(start), "timeMax": _rfc3339(end), "items": [{"id": calendar_id}]}
        answer = await self._authorized(
            lambda auth: self._api.request("POST", "/calendar/v3/freeBusy", json=body, headers=auth))
        calendar = (answer.get("calendars") or {}).get(calendar_id) or {}
        if calendar.get("errors"):
            reasons = ", ".join(str(e.get("reason")) for e in calendar["errors"])
            raise ProviderError("google", None, f"freeBusy of calendar {calendar_id!r}: {reasons}", retryable=False)
        return [Interval(_instant(b["start"]), _instant(b["end"])) for b in calendar.get("busy", [])]

    async def book(self, draft: MeetingDraft) -> ExternalEvent:
        event_id = event_id_for(draft.idempotency_key)
        body: dict[str, Any] = {
            "id": event_id, "summary": draft.title, "description": draft.description,
            "start": {"dateTime": _rfc3339(draft.start), "timeZone": draft.time_zone},
            "end": {"dateTime": _rfc3339(draft.end), "timeZone": draft.time_zone},
            "extendedProperties": {"private": {"afo_idempotency_key": draft.idempotency_key}},
        }
        if draft.attendee_email:
            attendee = {"email": draft.attendee_email}
            if draft.attendee_name:
                attendee["displayName"] = draft.attendee_name
            body["attendees"] = [attendee]
        event = await self._authorized(
            lambda auth: self._api.retrying(lambda: self._insert_or_read(event_id, body, auth)))
        if event.get("status") == "cancelled":
            raise ProviderError("google", 409, f"the event {event_id} of this booking request was cancelled",
                                retryable=False)
        return ExternalEvent(external_id=str(event["id"]), url=event.get("htmlLink"))

    async def _insert_or_read(self, event_id: str, body: dict[str, Any], auth: dict[str, str]) -> Any:
        try:
            return await self._api.attempt("POST", self._events, json=body, params={"sendUpdates": "all"},
                                           headers=auth)
        except ProviderError as error:
            if error.status != 409:
                raise
        return await self._api.attempt("GET", f"{self._events}/{event_id}", headers=auth)

    async def cancel(self, external_id: str) -> None:
        path = f"{self._events}/{quote(external_id, safe='')}"
        try:
            await self._authorized(
                lambda auth: self._api.request("DELETE", path, params={"sendUpdates": "all"}, headers=auth))
        except ProviderError as error:
            if error.status not in (404, 410):
                raise

    async def _authorized(self, call: Callable[[dict[str, str]], Awaitable[T]]) -> T:
        """`call` with a valid access token; answered 401, once more with a freshly refreshed one."""
        token = await self._access_token()
        try:
            return await call({"Authorization": f"Bearer {token}"})
        except ProviderError as error:
            if error.status != 401:
                raise
        token = await self._access_token(stale=token)
        return await call({"Authorization": f"Bearer {token}"})

    async def _access_token(self, stale: str | None = None) -> str:
        """A token believed valid: this process's cached one, else the vault's, else a refreshed one.
        `stale` is a token Google just refused: any other valid token will do, else it refreshes."""
        async with self._tokens.lock(self._key):
            soon = self._clock() + EARLY_REFRESH
            cached = self._tokens.get(self._key)
            if cached is not None and cached.token != stale and cached.expires_at > soon:
                return cached.token
            stored = self._credentials
            if (stale is None and stored.access_token and stored.expires_at is not None
                    and stored.expires_at > soon and cached is None):
                return stored.access_token
            fresh = await self._refresh()
            self._tokens.put(self._key, fresh)
            return fresh.token

    async def _refresh(self) -> AccessToken:
        form = {"grant_type": "refresh_token", "client_id": self._credentials.client_id,
                "client_secret": self._credentials.client_secret, "refresh_token": self._credentials.refresh_token}
        try:
            answer = await self._oauth.request("POST", "/token", data=form)
        except ProviderError as error:
            if error.retryable:
                raise
            raise ProviderError("google", error.status, f"Google refused the stored credentials ({error.reason}): "
                                "connect Google again", retryable=False) from None
        lifetime = int(answer.get("expires_in", 3600))
        return AccessToken(str(answer["access_token"]), self._clock() + timedelta(seconds=lifetime))
