"""The soak's tenants, set up through the public API as a customer would: a sign-up, a knowledge base with one
document of the labelled corpus (bench/data/knowledge), a published agent grounded on it with a calendar open around
the clock, a webhook subscription to ``lead.qualified`` and ``meeting.booked`` on a local receiver, and the first
tenant's CRM a local HubSpot stand-in (the others sync to the built-in lead store)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from afo_testkit.webhook_receiver import Receiver
from afo_workflow_executor.domain.calendar import CalendarSettings, TimeRange
from afo_workflow_executor.handlers.views import settings_body
from bench.knowledge_corpus import DATA

# One document each, and the questions of bench/data/knowledge/questions.jsonl it answers that the embedded engine
# takes as questions (not as scheduling or lead details): each such reply cites the document.
CORPUS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("maple-grove-dental", "faq.md", ("mgd-004", "mgd-009", "mgd-027", "mgd-029", "mgd-032")),
    ("ledgerly", "faq.md", ("led-009", "led-011", "led-014", "led-016")),
    ("foundry-coworking", "faq.md", ("fnd-006", "fnd-007", "fnd-017", "fnd-018")),
)
HUBSPOT_TOKEN = "pat-na1-soak-token-0123"
# Open every day around the clock on a 15-minute grid a year ahead: a slot for every booking of a long run.
CALENDAR = CalendarSettings(time_zone="UTC", weekly={day: (TimeRange.parse("00:00-00:00"),) for day in
                                                     ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
                            meeting_minutes=15, minimum_notice_minutes=0, horizon_days=365)
SLOT = timedelta(minutes=15)
# The default fields, and the phone when the lead gives one: the SMS reminders go to it.
FIELDS = ["email", "company", "need", "budget", "timeline", {"name": "phone", "kind": "phone", "required": False}]


@dataclass
class TimedReceiver(Receiver):
    """The test receiver, noting when each webhook first arrived (``time.monotonic()``, as the ledger's times),
    by its ``webhook-id``."""

    arrived: dict[str, float] = field(default_factory=dict)

    async def handle(self, request: Request) -> Response:
        self.arrived.setdefault(request.headers.get("webhook-id", ""), time.monotonic())
        return await super().handle(request)


@dataclass
class SoakTenant:
    index: int
    id: str
    auth: dict[str, str]
    agent_id: str
    questions: list[str]
    crm: str  # "hubspot" or "builtin"
    first_slot: datetime
    _slots: itertools.count[int] = field(default_factory=itertools.count)
    _asked: itertools.count[int] = field(default_factory=itertools.count)

    def next_slot(self) -> datetime:
        """A free slot of the agent's calendar: each booking asks its own. Two days ahead at least, so both default
        reminders (24 h and 1 h before) are scheduled rather than skipped."""
        return self.first_slot + SLOT * next(self._slots)

    def next_question(self) -> str:
        return self.questions[next(self._asked) % len(self.questions)]


def corpus_questions(ids: tuple[str, ...]) -> list[str]:
    by_id = {row["id"]: row["question"] for row in map(json.loads, (DATA / "questions.jsonl").read_text()
                                                        .splitlines()) if row}
    return [by_id[question_id] for question_id in ids]


def checked(response: httpx.Response, *expected: int) -> Any:
    if response.status_code not in expected:
        raise RuntimeError(f"{response.request.method} {response.request.url.path}: {response.status_code} "
                           f"{response.text[:300]}")
    return response.json()


async def set_up_tenant(api: httpx.AsyncClient, index: int, receiver_port: int, receiver: TimedReceiver,
                        hubspot_url: str | None) -> SoakTenant:
    business, document, question_ids = CORPUS[index % len(CORPUS)]
    signup = checked(await api.post("/v1/signup", json={
        "email": f"soak+{index}.{time.time_ns()}@example.com", "password": "soak-password-1",
        "company": business.replace("-", " ").title(), "timezone": "UTC"}), 201)
    auth = {"Authorization": f"Bearer {signup['api_key']['secret']}"}
    kb = checked(await api.post("/v1/knowledge-bases", headers=auth, json={"name": business}), 201)
    content = (DATA / business / document).read_bytes()
    uploaded = checked(await api.post(f"/v1/knowledge-bases/{kb['id']}/documents", headers=auth,
                                            files={"file": (document, content, "text/markdown")}), 200, 202)
    await ingested(api, auth, kb["id"], uploaded["id"])
    agent = checked(await api.post("/v1/agents", headers=auth, json={
        "name": "Ava", "timezone": "UTC", "knowledge_base_ids": [kb["id"]], "qualification_fields": FIELDS}), 201)
    checked(await api.post(f"/v1/agents/{agent['id']}/publish", headers=auth), 200)
    checked(await api.put(f"/v1/agents/{agent['id']}/calendar", headers=auth,
                                json=settings_body(CALENDAR).model_dump(mode="json")), 200)
    subscription = checked(await api.post("/v1/webhook-subscriptions", headers=auth, json={
        "url": f"http://127.0.0.1:{receiver_port}/tenant-{index}", "events": ["lead.qualified", "meeting.booked"]}),
        201)
    # One receiver for every tenant: the secret checked is the last tenant's, so signatures are not counted here
    # (tests/e2e/test_webhooks.py proves them).
    receiver.secret = subscription["secret"]
    crm = "builtin"
    if hubspot_url is not None:
        checked(await api.put("/v1/integrations/hubspot", headers=auth,
                                    json={"access_token": HUBSPOT_TOKEN, "base_url": hubspot_url}), 200)
        crm = "hubspot"
    first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    return SoakTenant(index, signup["tenant"]["id"], auth, agent["id"], corpus_questions(question_ids), crm, first)


async def ingested(api: httpx.AsyncClient, auth: dict[str, str], kb_id: str, doc_id: str,
                   timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        document = checked(await api.get(f"/v1/knowledge-bases/{kb_id}/documents/{doc_id}", headers=auth), 200)
        if document["status"] == "ready":
            return
        if document["status"] == "failed" or time.monotonic() > deadline:
            raise RuntimeError(f"the soak's document was not ingested: {document}")
        await asyncio.sleep(0.2)
