"""What an e2e test does again and again: sign a tenant up, build and publish an agent, chat."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from afo_testkit.platform import Platform

# A lead who gives every default qualification field in five turns: the agent qualifies them on the last.
LEAD_EMAIL = "dana@northwind.example"
FIVE_TURNS = [
    "Hi there!",
    f"I'm Dana from Northwind Traders, you can reach me at {LEAD_EMAIL}",
    "We need an assistant that answers questions on our website",
    "Our budget is about $20k",
    "We'd like to launch next quarter",
]


@dataclass(frozen=True)
class Tenant:
    id: str
    secret: str
    email: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


async def sign_up(api: httpx.AsyncClient, company: str = "Acme Test") -> Tenant:
    email = f"owner+{secrets.token_hex(4)}@example.com"
    response = await api.post("/v1/signup", json={"email": email, "password": "correct horse battery",
                                                   "company": company, "timezone": "America/New_York"})
    assert response.status_code == 201, response.text
    body = response.json()
    return Tenant(body["tenant"]["id"], body["api_key"]["secret"], email)


async def published_agent(api: httpx.AsyncClient, tenant: Tenant, **spec: Any) -> str:
    response = await api.post("/v1/agents", headers=tenant.auth, json={"name": "Ava", **spec})
    assert response.status_code == 201, response.text
    agent_id: str = response.json()["id"]
    published = await api.post(f"/v1/agents/{agent_id}/publish", headers=tenant.auth)
    assert published.status_code == 200, published.text
    return agent_id


async def conversation(api: httpx.AsyncClient, tenant: Tenant, agent_id: str, channel: str = "api") -> str:
    response = await api.post("/v1/conversations", headers=tenant.auth,
                              json={"agent_id": agent_id, "channel": channel})
    assert response.status_code == 201, response.text
    conversation_id: str = response.json()["id"]
    return conversation_id


async def say(api: httpx.AsyncClient, tenant: Tenant, conversation_id: str, text: str) -> dict[str, Any]:
    response = await api.post(f"/v1/conversations/{conversation_id}/messages", params={"wait": "true"},
                              headers=tenant.auth, json={"text": text})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "replied"
    return body


async def llm_agent(api: httpx.AsyncClient, tenant: Tenant, base_url: str) -> str:
    """A published agent whose model is the OpenAI-compatible server at ``base_url`` (a FakeOpenAI)."""
    return await published_agent(api, tenant, llm={"provider": "openai", "model": "gpt-test", "base_url": base_url})


async def exited(platform: Platform, service: str, within_s: float = 30.0) -> float:
    """Wait for ``service``'s process to be gone; how long that took (AssertionError past ``within_s``)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while platform.pids[service] is not None:
        assert loop.time() - started < within_s, f"{service} did not exit within {within_s:.0f} s"
        await asyncio.sleep(0.05)
    return loop.time() - started


async def eventually(api: httpx.AsyncClient, tenant: Tenant, path: str, holds: Callable[[Any], bool], *,
                     params: Mapping[str, str] | None = None, within_s: float = 15.0) -> Any:
    """GET ``path`` until ``holds(body)``; the body that held (AssertionError with the last one past
    ``within_s``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        response = await api.get(path, headers=tenant.auth, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        if holds(body):
            return body
        assert loop.time() < deadline, f"{path} never came to the expected state within {within_s:.0f} s: {body}"
        await asyncio.sleep(0.1)


EVERY_DAY = {day: ["00:00-23:59"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def on_grid(instant: datetime) -> datetime:
    """The first 5-minute mark at or after ``instant`` (the calendar's slot step)."""
    floor = instant.replace(minute=instant.minute - instant.minute % 5, second=0, microsecond=0)
    return floor if floor == instant else floor + timedelta(minutes=5)


@dataclass(frozen=True)
class MeetingSoon:
    agent_id: str
    start: datetime  # what the lead asks for
    offset_min: int  # the agent's one reminder, minutes before the start
    send_at: datetime


async def agent_reminding_soon(api: httpx.AsyncClient, tenant: Tenant, margin: timedelta) -> MeetingSoon:
    """A published agent, qualifying on email, phone, company and need, on a calendar open all day, and a start
    on its 5-minute grid 6 to 11 minutes ahead whose reminder is due ``margin`` to a minute more from now: the
    time the chat has to qualify and book first. In a zone where the meeting ends before midnight (the day's hours
    end at 23:59: a meeting asked for at 23:30 UTC would not fit)."""
    zone = ZoneInfo("Asia/Tokyo" if datetime.now(UTC).hour == 23 else "UTC")
    now = datetime.now(zone)
    start = on_grid(now + timedelta(minutes=6))
    offset_min = int((start - now - margin).total_seconds() // 60)
    agent_id = await published_agent(api, tenant, timezone=zone.key, reminder_offsets_minutes=[offset_min],
                                     qualification_fields=["email", "phone", "company", "need"])
    calendar = await api.put(f"/v1/agents/{agent_id}/calendar", headers=tenant.auth, json={
        "time_zone": zone.key, "weekly": EVERY_DAY, "minimum_notice_minutes": 0, "slot_step_minutes": 5})
    assert calendar.status_code == 200, calendar.text
    return MeetingSoon(agent_id, start, offset_min, start - timedelta(minutes=offset_min))
