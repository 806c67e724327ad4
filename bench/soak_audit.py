"""Counting at the end, exactly: for everything the soak sent, what the platform recorded — each message answered
once, each booking conversation one meeting, each CRM sync its lead's triggers once, each meeting its four
reminders and its confirmation, each webhook delivered once — read back through the public API, from the local
receiver, the SMTP sink and the HubSpot stand-in. Checked again until all is there or ``settle_s`` passes: what is
still missing then is lost. A conversation whose checks all passed is not read again."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from afo_testkit.crm_servers import FakeHubSpot
from afo_testkit.webhook_receiver import Received
from bench.soak_client import Api
from bench.soak_ledger import BOOKING, LEAD, Conversation, Ledger

REMINDERS_PER_MEETING = 4  # 24 h and 1 h before, by email and by SMS
CRM_TRIGGERS = {LEAD: ("lead.qualified", "conversation.analyzed"), BOOKING: ("meeting.booked", "conversation.analyzed")}


@dataclass
class Count:
    what: str
    expected: int
    done: int = 0
    duplicated: int = 0
    note: str = ""

    @property
    def lost(self) -> int:
        return self.expected - self.done


@dataclass
class Checked:
    """One conversation's findings; ``final`` once nothing more can arrive for it."""

    replies: int = 0
    reply_duplicates: int = 0
    strangers: int = 0  # user messages the soak did not send (a message recorded twice would be one)
    meetings: int = 0
    crm: Counter[str] = field(default_factory=Counter)
    crm_failed: int = 0
    has_lead: bool = False
    reminders: int = 0
    confirmations: int = 0
    final: bool = False


class Audit:
    def __init__(self, api: Api, ledger: Ledger, received: list[Received], mail: list[tuple[str, list[str], Any]],
                 hubspot: FakeHubSpot | None) -> None:
        self._api, self._ledger, self._received, self._mail, self._hubspot = api, ledger, received, mail, hubspot
        self._checked: dict[str, Checked] = {}
        self._meetings: Counter[str] = Counter()  # booked meetings by conversation

    async def settle(self, conversations: list[Conversation], settle_s: float) -> list[Count]:
        deadline = time.monotonic() + settle_s
        while True:
            await self._list_meetings(conversations)
            for conversation in conversations:
                if not self._checked.get(conversation.id, Checked()).final:
                    self._checked[conversation.id] = await self._check(conversation)
            counts = self.counts(conversations)
            if all(count.lost == 0 for count in counts) or time.monotonic() > deadline:
                return counts
            await asyncio.sleep(2.0)

    async def _check(self, conversation: Conversation) -> Checked:
        auth = conversation.tenant.auth
        detail = await self._api.call("GET", f"/v1/conversations/{conversation.id}", auth)
        ours = set(conversation.messages)
        replies = Counter(m["in_reply_to"] for m in detail["messages"] if m["role"] == "assistant")
        found = Checked(replies=sum(1 for m in ours if replies[m]), reply_duplicates=sum(
            replies[m] - 1 for m in ours if replies[m] > 1),
            strangers=sum(1 for m in detail["messages"] if m["role"] == "user" and m["id"] not in ours))
        lead_id = detail.get("lead_id")
        found.has_lead = bool(lead_id)
        if conversation.kind == BOOKING:
            found.meetings = self._meetings[conversation.id]
            meeting_id = ((detail.get("lead") or {}).get("fields") or {}).get("meeting_id")
            if meeting_id:
                rows = (await self._api.call("GET", "/v1/notifications", auth,
                                             params={"meeting_id": meeting_id, "limit": "100"}))["data"]
                found.reminders = sum(1 for r in rows if r["kind"] == "reminder" and r["status"] == "scheduled")
                found.confirmations = sum(1 for r in rows if r["kind"] == "confirmation" and r["status"] == "sent")
        if lead_id:
            runs = (await self._api.call("GET", f"/v1/leads/{lead_id}/crm-syncs", auth,
                                         params={"limit": "100"}))["data"]
            found.crm = Counter(r["trigger"] for r in runs if r["status"] in ("synced", "skipped"))
            found.crm_failed = sum(1 for r in runs if r["status"] == "failed")
        expected_crm = CRM_TRIGGERS.get(conversation.kind, ("conversation.analyzed",) if lead_id else ())
        found.final = (found.replies == len(ours) and all(found.crm[t] for t in expected_crm)
                       and (conversation.kind != BOOKING or (found.meetings > 0 and found.reminders
                                                            == REMINDERS_PER_MEETING and found.confirmations > 0)))
        return found

    async def _list_meetings(self, conversations: list[Conversation]) -> None:
        tenants = {c.tenant.id: c.tenant for c in conversations if c.kind == BOOKING}
        self._meetings.clear()
        for tenant in tenants.values():
            cursor: dict[str, str] = {}
            while True:
                page = await self._api.call("GET", "/v1/meetings", tenant.auth, params={
                    "agent_id": tenant.agent_id, "status": "booked", "limit": "100", **cursor})
                self._meetings.update(m["conversation_id"] for m in page["data"])
                if not page.get("next_cursor"):
                    break
                cursor = {"cursor": page["next_cursor"]}

    def counts(self, conversations: list[Conversation]) -> list[Count]:
        checked = [self._checked.get(c.id, Checked()) for c in conversations]
        by_kind = {kind: [c for c in conversations if c.kind == kind] for kind in (LEAD, BOOKING)}
        messages = sum(len(c.messages) for c in conversations)
        replies = Count("replies (each message answered once)", messages, sum(c.replies for c in checked),
                        sum(c.reply_duplicates for c in checked) + sum(c.strangers for c in checked))
        bookings = by_kind[BOOKING]
        meetings = Count("bookings (meeting.booked, one per booking conversation)", len(bookings),
                         sum(min(self._meetings[c.id], 1) for c in bookings),
                         sum(max(self._meetings[c.id] - 1, 0) for c in bookings))
        expected_crm, done_crm, dup_crm, failed = 0, 0, 0, 0
        for conversation, found in zip(conversations, checked, strict=True):
            triggers = CRM_TRIGGERS.get(conversation.kind, ("conversation.analyzed",) if found.has_lead else ())
            expected_crm += len(triggers)
            done_crm += sum(1 for t in triggers if found.crm[t])
            dup_crm += sum(max(found.crm[t] - 1, 0) for t in triggers)
            failed += found.crm_failed
        crm = Count("CRM syncs (synced or skipped, per lead and trigger)", expected_crm, done_crm, dup_crm,
                    f"{failed} failed")
        reminders = Count("reminders scheduled", REMINDERS_PER_MEETING * len(bookings),
                          sum(min(self._checked.get(c.id, Checked()).reminders, REMINDERS_PER_MEETING)
                              for c in bookings))
        emails = {c.email for c in bookings if c.email}
        mailed = Counter(to[0] for _, to, _ in self._mail if len(to) == 1 and to[0] in emails)
        confirmations = Count("confirmation emails received by the SMTP sink", len(bookings),
                              sum(1 for e in emails if mailed[e]), sum(n - 1 for n in mailed.values() if n > 1))
        return [replies, meetings, crm, reminders, confirmations, self._webhooks(conversations, by_kind),
                *self._crm_calls(conversations)]

    def _webhooks(self, conversations: list[Conversation], by_kind: dict[str, list[Conversation]]) -> Count:
        ids = {c.id for c in conversations}
        wanted = {("afo.lead.qualified.v1", c.id) for c in by_kind[LEAD]} | {
            ("afo.meeting.booked.v1", c.id) for c in by_kind[BOOKING]}
        got = Counter((r.envelope["type"], r.envelope["data"].get("conversation_id")) for r in self._received
                      if r.envelope["data"].get("conversation_id") in ids)
        return Count("webhook deliveries received (lead.qualified, meeting.booked)", len(wanted),
                     sum(1 for key in wanted if got[key]), sum(n - 1 for n in got.values() if n > 1),
                     f"{sum(1 for key in got if key not in wanted)} unexpected")

    def _crm_calls(self, conversations: list[Conversation]) -> list[Count]:
        if self._hubspot is None:
            return []
        emails = {c.email for c in conversations if c.email and c.tenant.crm == "hubspot"}
        contacts = Counter(contact.get("email") for contact in self._hubspot.contacts.values())
        return [Count("HubSpot stand-in: one contact per lead with an email", len(emails),
                      sum(1 for e in emails if contacts[e]), sum(contacts[e] - 1 for e in emails if contacts[e] > 1))]
