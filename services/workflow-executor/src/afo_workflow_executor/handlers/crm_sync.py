"""CRM sync: the lead projection kept from agent-runtime's and the booking flow's events, and the lead upserted
into the tenant's CRM when it is qualified, analysed, or gets or loses a meeting.

Rules:
- The CRM is the first provider the tenant connected of hubspot, salesforce, pipedrive (credentials resolved
  from the gateway's vault at the moment of use); none: ``builtin``, the lead store agent-runtime keeps — the
  record is the lead itself (``/v1/leads/<id>``) and no call goes out.
- A lead without an email cannot be found in a CRM: the sync is recorded ``skipped`` with the reason, and no
  event goes out (a lead who never gives an email must not raise a storm of failures).
- Idempotent: the sync is keyed by the event (``crm_syncs``), each step by an idempotency key
  (``provider_calls``); a step done is not sent again (no second note on a redelivery or replay), and the record
  id a CRM gave the first time (``crm_links``) is updated by id ever after (no second contact).
- Provider calls run outside any transaction; the lead's syncs run one at a time: in this process under a
  lock (``_held``), across replicas under a claim in the store (``crm_claims``) renewed before each step and
  lapsing by itself if its holder dies — so two events of one lead never race to create its contact. A sync
  that cannot get the claim in ``claim_wait_s`` is tried again later (NAK).
- A failure that may pass (429, 5xx, no answer) is recorded ``retrying`` and the delivery is NAKed with the
  consumer's backoff (``RetryLater``); a final one (other 4xx), or any failure on the last delivery, ends the
  sync ``failed`` with ``crm.failed`` (reason, HTTP status, attempts). Neither event nor record holds the
  credential: a ``ProviderError`` reason is redacted by the adapter.
- Everything final — projection, link, sync, calls, event — is written in the delivery's own transaction (the
  inbox row first), so a crash before it commits only repeats idempotent work.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol, TypeVar, cast

from afo_common.clock import Clock
from afo_common.events.conversation import ConversationAnalyzed, LeadCreated, LeadQualified, LeadUpdated
from afo_common.events.workflow import CrmFailed, CrmProvider, CrmSynced, MeetingBooked, MeetingCancelled
from afo_common.ids import new_id
from afo_common.messaging.consumer import Delivery
from afo_common.provider_errors import ProviderError
from afo_workflow_executor.domain import crm_leads as projection
from afo_workflow_executor.domain.crm import CrmLead, CrmRecord, CrmSteps
from afo_workflow_executor.domain.crm_leads import LeadRecord
from afo_workflow_executor.domain.crm_records import (
    FINAL,
    CrmLinkRow,
    CrmSyncRow,
    ProviderCallRow,
    idempotency_key,
)
from afo_workflow_executor.handlers.unit_of_work import Store, UnitOfWork
from afo_workflow_executor.metrics import CRM_SYNCS, SERVICE

CRM_PROVIDERS = ("hubspot", "salesforce", "pipedrive")
BUILTIN = "builtin"
T = TypeVar("T")
NO_EMAIL = "the lead has no email: a CRM finds and keeps contacts by email"


class Credentials(Protocol):
    async def resolve(self, tenant_id: str, provider: str) -> dict[str, str] | None:
        """The tenant's fields for the provider; None when it has none. Raises when the vault cannot answer."""
        ...


class OpenedCrm(Protocol):
    """A provider's adapter opened on a tenant's fields, and what it sent: how a step counts its attempts."""

    @property
    def crm(self) -> CrmSteps: ...

    @property
    def sent(self) -> Sequence[int | None]:
        """The HTTP status of every request sent so far, in order (None: no answer came)."""
        ...

    async def close(self) -> None: ...


# Opens the adapter for a provider and its fields; raises a final ProviderError when the fields will not do.
OpenCrm = Callable[[str, Mapping[str, str]], OpenedCrm]


class LeadProjection(Protocol):
    async def get(self, tenant_id: str, lead_id: str) -> LeadRecord | None: ...

    async def save(self, row: LeadRecord) -> None: ...


class Projection(Protocol):
    @property
    def crm_leads(self) -> LeadProjection: ...


Projecting = Callable[[Delivery], AbstractAsyncContextManager[Projection]]


class RetryLater(Exception):
    """The provider may answer later: the consumer NAKs the delivery with its backoff."""


@dataclass(frozen=True)
class _Failure:
    error: ProviderError
    attempts: int
    record: CrmRecord | None = None  # the contact, when its step was done before another failed


class CrmSync:
    def __init__(self, store: Store, credentials: Credentials, open_crm: OpenCrm, clock: Clock,
                 max_deliver: int, *, claim_s: float = 120.0, claim_wait_s: float = 130.0,
                 claim_poll_s: float = 0.5, projecting: Projecting | None = None) -> None:
        """``projecting``: the transaction lead.created / lead.updated are projected in (``crm_leads`` with the
        inbox row); the store's own by default, the database driver's in the service (``adapters/crm_hot.py``)."""
        self._store = store
        self._projecting: Projecting = projecting or store.handling
        self._owner = uuid.uuid4().hex  # this replica, in crm_claims
        self._claim_s, self._claim_wait_s, self._claim_poll_s = claim_s, claim_wait_s, claim_poll_s
        self._credentials = credentials
        self._open_crm = open_crm
        self._clock = clock
        self._max_deliver = max_deliver
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._users: dict[tuple[str, str], int] = {}

    # -- entrypoint: one delivery of any of the six events ----------------------------------------------------
    async def __call__(self, delivery: Delivery) -> None:
        lead_id = getattr(delivery.payload, "lead_id", None)
        if lead_id is None:  # a meeting or an analysis without a lead: nothing for a CRM
            async with self._store.handling(delivery):
                return
        async with self._held(delivery.envelope.tenantid, lead_id):
            if isinstance(delivery.payload, (LeadCreated, LeadUpdated)):
                # An event that may change nothing (lead.created, lead.updated naming no field) is checked
                # first, outside any transaction, and acknowledged with nothing written when it does (applying
                # it again would change nothing either); one naming a changed field goes straight to its write.
                if not getattr(delivery.payload, "changed", None):
                    async with self._store.reading() as repos:
                        before = await repos.crm_leads.get(delivery.envelope.tenantid, lead_id)
                    if before is not None and applied(before, delivery, lead_id, self._clock.now()) is before:
                        return
                async with self._projecting(delivery) as projection:
                    await self._project(projection, delivery, lead_id)
                return
            await self._sync(delivery, lead_id)

    async def project(self, delivery: Delivery) -> None:
        """The lead projection only, no sync (the tenant's workflows asked for none): under the lead's lock,
        in the delivery's transaction."""
        lead_id = getattr(delivery.payload, "lead_id", None)
        if lead_id is None:
            async with self._store.handling(delivery):
                return
        async with self._held(delivery.envelope.tenantid, lead_id), self._store.handling(delivery) as uow:
            await self._project(uow, delivery, lead_id)

    @asynccontextmanager
    async def _held(self, tenant_id: str, lead_id: str) -> AsyncIterator[None]:
        key = (tenant_id, lead_id)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    async def _project(self, uow: Projection, delivery: Delivery, lead_id: str
                       ) -> tuple[LeadRecord, LeadRecord | None]:
        """The lead with the event applied, saved; and the lead as it was."""
        tenant_id = delivery.envelope.tenantid
        before = await uow.crm_leads.get(tenant_id, lead_id)
        after = applied(before, delivery, lead_id, self._clock.now())
        if after != before:
            await uow.crm_leads.save(after)
        return after, before

    # -- the sync ---------------------------------------------------------------------------------------------
    async def _sync(self, delivery: Delivery, lead_id: str) -> None:
        tenant_id, event_id = delivery.envelope.tenantid, delivery.envelope.id
        async with self._store.reading() as repos:
            sync = await repos.crm_syncs.for_event(tenant_id, event_id)
            before = await repos.crm_leads.get(tenant_id, lead_id)
        if sync is not None and sync.status in FINAL:  # replayed after its sync ended: nothing to redo
            async with self._store.handling(delivery):
                return
        lead = applied(before, delivery, lead_id, self._clock.now())
        if lead == before and isinstance(delivery.payload, MeetingCancelled):  # not the lead's meeting
            async with self._store.handling(delivery) as uow:
                await self._project(uow, delivery, lead_id)
            return
        provider, fields = await self._connected(tenant_id)
        now = self._clock.now()
        sync = replace(sync, provider=provider, deliveries=sync.deliveries + 1, updated_at=now) if sync else \
            CrmSyncRow(new_id("crs"), tenant_id, lead_id, event_id, delivery.payload.event_name, provider,
                       "retrying", 1, now, now)
        if provider == BUILTIN:
            record = CrmRecord(BUILTIN, lead_id, f"/v1/leads/{lead_id}")
            await self._finish(delivery, lead_id, sync, record, [])
            CRM_SYNCS.labels(SERVICE, BUILTIN, "synced").inc()
            return
        crm_lead = projection.crm_lead(lead)
        if crm_lead is None:
            async with self._store.handling(delivery) as uow:
                await self._project(uow, delivery, lead_id)
                await uow.crm_syncs.save(replace(sync, status="skipped", reason=NO_EMAIL))
            CRM_SYNCS.labels(SERVICE, provider, "skipped").inc()
            return
        await self._claim(tenant_id, lead_id, wait_s=self._claim_wait_s)
        try:
            await self._sync_with(delivery, lead_id, lead, sync, crm_lead, fields)
        finally:
            async with self._store() as uow:
                await uow.crm_syncs.release(tenant_id, lead_id, self._owner)

    async def _claim(self, tenant_id: str, lead_id: str, *, wait_s: float) -> None:
        """The lead's claim taken or renewed for ``claim_s``, waiting up to ``wait_s`` for another replica's
        to end or lapse; ``RetryLater`` when it does not."""
        waited = 0.0
        while True:
            now = self._clock.now()
            async with self._store() as uow:
                if await uow.crm_syncs.claim(tenant_id, lead_id, self._owner, now,
                                             now + timedelta(seconds=self._claim_s)):
                    return
            if waited >= wait_s:
                raise RetryLater(f"another replica is syncing lead {lead_id}")
            await asyncio.sleep(self._claim_poll_s)
            waited += self._claim_poll_s

    async def _sync_with(self, delivery: Delivery, lead_id: str, lead: LeadRecord, sync: CrmSyncRow,
                         crm_lead: CrmLead, fields: Mapping[str, str]) -> None:
        tenant_id, provider = delivery.envelope.tenantid, sync.provider
        calls, outcome = await self._call(sync, crm_lead, fields)
        if isinstance(outcome, CrmRecord):
            await self._finish(delivery, lead_id, sync, outcome, calls)
            CRM_SYNCS.labels(SERVICE, provider, "synced").inc()
            return
        final = not outcome.error.retryable or delivery.attempt >= self._max_deliver
        CRM_SYNCS.labels(SERVICE, provider, "failed" if final else "retrying").inc()
        failed = replace(sync, status="failed" if final else "retrying", reason=outcome.error.reason[:500],
                         http_status=outcome.error.status)
        if not final:
            async with self._store() as uow:
                if outcome.record is not None:  # the next delivery updates the contact by its id
                    failed = await self._link(uow, failed, outcome.record)
                await self._record(uow, failed, calls)
            raise RetryLater(f"{provider} may answer later (HTTP {outcome.error.status})")
        async with self._store.handling(delivery) as uow:
            await self._project(uow, delivery, lead_id)
            if outcome.record is not None:  # the contact exists though its note failed: later syncs update it
                failed = await self._link(uow, failed, outcome.record)
            await self._record(uow, failed, calls)
            await uow.emit(CrmFailed(lead_id=lead_id, conversation_id=lead.conversation_id,
                                     provider=cast(CrmProvider, provider), reason=failed.reason or "",
                                     status=outcome.error.status,
                                     attempts=outcome.attempts),
                           tenant_id=tenant_id, causation=delivery.envelope)

    async def _connected(self, tenant_id: str) -> tuple[str, Mapping[str, str]]:
        for provider in CRM_PROVIDERS:
            fields = await self._credentials.resolve(tenant_id, provider)
            if fields is not None:
                return provider, fields
        return BUILTIN, {}

    async def _call(self, sync: CrmSyncRow, lead: CrmLead,
                    fields: Mapping[str, str]) -> tuple[list[ProviderCallRow], CrmRecord | _Failure]:
        """The steps not done yet, each recorded; the record, or the failure that stopped them."""
        async with self._store.reading() as repos:
            link = await repos.crm_syncs.link(sync.tenant_id, sync.lead_id, sync.provider)
            keys = {step: idempotency_key(sync.tenant_id, sync.event_id, sync.provider, step)
                    for step in ("contact", "note")}
            held = {step: await repos.crm_syncs.call(sync.tenant_id, key) for step, key in keys.items()}
        try:
            opened = self._open_crm(sync.provider, fields)
        except ProviderError as error:  # the stored credential lacks a field the provider needs
            return [], _Failure(error, 0)
        crm, calls = opened.crm, []

        async def step(name: str, run: Callable[[], Awaitable[T]]) -> T:
            await self._claim(sync.tenant_id, sync.lead_id, wait_s=0.0)  # renewed: still ours
            seen = len(opened.sent)
            try:
                result = await run()
            except ProviderError as error:
                calls.append(self._call_row(sync, name, keys[name], held[name], opened.sent[seen:], error))
                raise
            calls.append(self._call_row(sync, name, keys[name], held[name], opened.sent[seen:], None))
            return result

        record: CrmRecord | None = None
        try:
            record = await step("contact", lambda: crm.upsert_contact(lead, link.record_id if link else None))
            note = held["note"]
            if note is None or not note.done:  # sent on an earlier delivery: a second note would be a duplicate
                await step("note", lambda: crm.add_note(lead, record))
        except ProviderError as error:
            return calls, _Failure(error, calls[-1].attempts if calls else 0, record)
        finally:
            await opened.close()
        return calls, record

    def _call_row(self, sync: CrmSyncRow, step: str, key: str, previous: ProviderCallRow | None,
                  sent: Sequence[int | None], error: ProviderError | None) -> ProviderCallRow:
        now = self._clock.now()
        status = sent[-1] if sent else (error.status if error else None)
        attempts = (previous.attempts if previous else 0) + len(sent)
        return ProviderCallRow(key, sync.tenant_id, sync.id, step, attempts, error is None,
                               previous.created_at if previous else now, now, status,
                               error.reason[:500] if error else None)

    async def _record(self, uow: UnitOfWork, sync: CrmSyncRow, calls: list[ProviderCallRow]) -> None:
        await uow.crm_syncs.save(sync)
        for call in calls:
            await uow.crm_syncs.save_call(call)

    async def _finish(self, delivery: Delivery, lead_id: str, sync: CrmSyncRow, record: CrmRecord,
                      calls: list[ProviderCallRow]) -> None:
        tenant_id = delivery.envelope.tenantid
        async with self._store.handling(delivery) as uow:
            lead, _ = await self._project(uow, delivery, lead_id)
            linked = await self._link(uow, sync, record)
            done = replace(linked, status="synced", reason=None,
                           http_status=calls[-1].http_status if calls else None)
            await self._record(uow, done, calls)
            await uow.emit(CrmSynced(lead_id=lead_id, conversation_id=lead.conversation_id,
                                     provider=cast(CrmProvider, record.provider), record_id=record.record_id,
                                     url=record.url, action=done.action or "created"),
                           tenant_id=tenant_id, causation=delivery.envelope)

    async def _link(self, uow: UnitOfWork, sync: CrmSyncRow, record: CrmRecord) -> CrmSyncRow:
        """The lead's record in the CRM kept; the sync with its action: ``created`` when this sync is the first
        to reach the CRM with the lead (decided once, on the delivery that made the contact)."""
        link = await uow.crm_syncs.link(sync.tenant_id, sync.lead_id, record.provider)
        action = sync.action or ("updated" if link is not None else "created")
        now = self._clock.now()
        await uow.crm_syncs.save_link(CrmLinkRow(sync.tenant_id, sync.lead_id, record.provider, record.record_id,
                                                 record.url, now, now))
        return replace(sync, action=action, record_id=record.record_id, url=record.url, updated_at=now)


def applied(lead: LeadRecord | None, delivery: Delivery, lead_id: str, now: datetime) -> LeadRecord:
    """The lead with one delivery's event applied (``domain/crm_leads.py``); ``lead`` itself when the event
    changes nothing in it."""
    after = _applied(lead, delivery, lead_id, now)
    return lead if lead is not None and replace(after, updated_at=lead.updated_at) == lead else after


def _applied(lead: LeadRecord | None, delivery: Delivery, lead_id: str, now: datetime) -> LeadRecord:
    event, tenant_id, at = delivery.payload, delivery.envelope.tenantid, delivery.envelope.time
    if isinstance(event, (LeadCreated, LeadQualified)):
        return projection.with_fields(lead, tenant_id=tenant_id, lead_id=lead_id,
                                      conversation_id=event.conversation_id, agent_id=event.agent_id,
                                      fields=event.fields, at=at, now=now,
                                      qualified=isinstance(event, LeadQualified),
                                      changed=isinstance(event, LeadQualified))
    if isinstance(event, LeadUpdated):
        return projection.with_fields(lead, tenant_id=tenant_id, lead_id=lead_id,
                                      conversation_id=event.conversation_id, agent_id=None, fields=event.fields,
                                      at=at, now=now, changed=bool(event.changed))
    if isinstance(event, ConversationAnalyzed):
        return projection.with_analysis(lead, tenant_id=tenant_id, lead_id=lead_id,
                                        conversation_id=event.conversation_id, agent_id=event.agent_id,
                                        summary=event.summary, outcome=event.outcome, next_step=event.next_step,
                                        at=at, now=now)
    if isinstance(event, MeetingBooked):
        return projection.with_meeting(lead, tenant_id=tenant_id, lead_id=lead_id,
                                       conversation_id=event.conversation_id, agent_id=event.agent_id,
                                       meeting_id=event.meeting_id, start=event.start, at=at, now=now)
    if isinstance(event, MeetingCancelled):
        return projection.without_meeting(lead, tenant_id=tenant_id, lead_id=lead_id,
                                          conversation_id=event.conversation_id, agent_id=event.agent_id,
                                          meeting_id=event.meeting_id, at=at, now=now)
    raise TypeError(f"CRM sync does not handle {type(event).__name__}")
