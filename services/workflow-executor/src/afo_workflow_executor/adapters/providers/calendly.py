"""Calendly API v2 behind the `ExternalCalendar` port, with a personal access token (`Authorization: Bearer`).

Calendly books only through its own pages, so `book` answers a single-use scheduling link that the lead
finishes the booking on. Endpoints and fields used (base `https://api.calendly.com`, configurable):
- `GET /users/me` → `resource.uri` (cached per adapter).
- `GET /event_types?user=…&count=100[&page_token=…]` → the event type whose `uri` is the vault's
  `event_type_uri` when set (it must be one of the user's), else the first `active` one.
- `GET /user_busy_times?user&start_time&end_time` → `collection[{start_time, end_time}]`. Calendly takes at
  most 7 days per request and no start in the past: a range is cut to start a minute from now and split into
  7-day windows.
- `POST /scheduling_links {max_event_count: 1, owner: <event type uri>, owner_type: "EventType"}` →
  `resource.booking_url`. A retried create makes a second unused link at worst (Calendly has no idempotency
  key), which is harmless: the lead gets one.
- `POST /scheduled_events/{uuid}/cancellation {reason}`; `404` means already gone, and a `403` for an event
  Calendly reports `canceled` (`GET /scheduled_events/{uuid}`) too. `external_id` may be the uuid or the uri.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from afo_common.provider_http import ProviderError, ProviderHttp, RetryPolicy
from afo_workflow_executor.adapters.providers.time_windows import windows
from afo_workflow_executor.domain.calendar import Interval
from afo_workflow_executor.domain.external_calendars import MeetingDraft, SchedulingLink

CALENDLY_API = "https://api.calendly.com"
MAX_WINDOW = timedelta(days=7)
START_MARGIN = timedelta(minutes=1)
CANCEL_REASON = "Cancelled by the organiser"


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class CalendlyCalendar:
    provider = "calendly"

    def __init__(
        self,
        access_token: str,
        *,
        event_type_uri: str | None = None,
        base_url: str = CALENDLY_API,
        policy: RetryPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        auth = {"Authorization": f"Bearer {access_token}"}
        self._http = ProviderHttp("calendly", base_url, secret=access_token, headers=auth, policy=policy,
                                  transport=transport)
        self._event_type_uri = event_type_uri or None
        self._clock = clock
        self._user_uri: str | None = None
        self._chosen_type: str | None = None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _user(self) -> str:
        if self._user_uri is None:
            me = await self._http.request("GET", "/users/me")
            self._user_uri = str(me["resource"]["uri"])
        return self._user_uri

    async def event_type(self) -> str:
        """The uri of the event type links are made for."""
        if self._chosen_type is None:
            self._chosen_type = await self._choose_event_type()
        return self._chosen_type

    async def _choose_event_type(self) -> str:
        user = await self._user()
        first_active: str | None = None
        params: dict[str, str | int] = {"user": user, "count": 100}
        while True:
            page = await self._http.request("GET", "/event_types", params=params)
            for event_type in page.get("collection", []):
                if self._event_type_uri is not None and event_type["uri"] == self._event_type_uri:
                    return self._event_type_uri
                if first_active is None and event_type.get("active"):
                    first_active = str(event_type["uri"])
            token = (page.get("pagination") or {}).get("next_page_token")
            if not token:
                break
            params = {**params, "page_token": token}
        if self._event_type_uri is not None:
            raise ProviderError("calendly", None, "the configured event_type_uri is not one of this user's event "
                                "types", retryable=False)
        if first_active is None:
            raise ProviderError("calendly", None, "the Calendly user has no active event type", retryable=False)
        return first_active

    async def busy(self, start: datetime, end: datetime) -> list[Interval]:
        # Calendly refuses a start in the past, as it judges when the request arrives; the next minute is far
        # inside any notice a booking keeps, so nothing bookable is left out.
        start = max(start, self._clock() + START_MARGIN)
        if start >= end:
            return []
        user = await self._user()
        found: set[Interval] = set()
        for window_start, window_end in windows(start, end, MAX_WINDOW):
            params: dict[str, str | int] = {"user": user, "start_time": _iso(window_start),
                                            "end_time": _iso(window_end)}
            answer = await self._http.request("GET", "/user_busy_times", params=params)
            found.update(Interval(_instant(b["start_time"]), _instant(b["end_time"]))
                         for b in answer.get("collection", []))
        return sorted(found, key=lambda i: (i.start, i.end))

    async def book(self, draft: MeetingDraft) -> SchedulingLink:
        body: dict[str, Any] = {"max_event_count": 1, "owner": await self.event_type(), "owner_type": "EventType"}
        answer = await self._http.request("POST", "/scheduling_links", json=body)
        return SchedulingLink(url=str(answer["resource"]["booking_url"]))

    async def cancel(self, external_id: str) -> None:
        event_uuid = external_id.rstrip("/").rsplit("/", 1)[-1]
        path = f"/scheduled_events/{quote(event_uuid, safe='')}"
        try:
            await self._http.request("POST", f"{path}/cancellation", json={"reason": CANCEL_REASON})
        except ProviderError as error:
            if error.status == 404:
                return
            if error.status != 403:
                raise
            try:
                event = await self._http.request("GET", path)
            except ProviderError:
                raise error from None
            if event["resource"].get("status") != "canceled":
                raise
