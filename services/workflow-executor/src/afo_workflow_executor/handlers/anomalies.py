"""Anomaly detection as a use case: each consumed event counted in its signals (``domain/anomaly_signals.py``),
buckets closed by later events and by the periodic tick, and what closing found recorded and announced
(``anomaly.detected`` / ``anomaly.resolved``); the tenant's anomalies listed.

Rules:
- Events are counted in batches (``afo_common.messaging.batches``: the deliveries that arrived while the last
  batch was being counted), each batch in one transaction with its inbox rows, so a redelivered event counts
  once; a batch whose events feed no signal (messages without a key, replies that answered no turn) is
  acknowledged with nothing written.
- A signal's state is read locked (``FOR UPDATE`` on PostgreSQL; SQLite has one writer) and written once per
  batch: batches touching one signal count one after the other; a batch locks its signals in one order
  (tenant, signal, scope), so two batches never wait on each other in a cycle.
- The tick closes, in a transaction per signal, every signal whose open bucket ended ``grace_s`` ago and holds
  events or an open anomaly; a signal with neither is left as it is until its next event, which closes the
  buckets in between with the same result. Replicas ticking together: the second finds the work done.
- The anomaly and its event are written together; ``detected_at`` and ``resolved_at`` are the clock's.
"""

from __future__ import annotations

from datetime import datetime

from afo_common.clock import Clock
from afo_common.events import Envelope
from afo_common.events.anomaly import AnomalyDetected, AnomalyResolved, Signal
from afo_common.messaging.batches import Batch
from afo_common.rpcs.pages import Page
from afo_common.rpcs.workflow_executor_anomalies import (
    AnomalyView,
    ListAnomalies,
    ListPlatformAnomalies,
    PlatformAnomalyView,
)
from afo_workflow_executor.domain.anomalies import (
    SIGNALS,
    AnomalyRow,
    Finding,
    Observation,
    Params,
    SignalState,
    advance,
    new_state,
    observe,
    tick_target,
)
from afo_workflow_executor.domain.anomaly_signals import observations
from afo_workflow_executor.handlers.anomaly_repositories import (
    AnomalyStore,
    AnomalyUnitOfWork,
    SignalKey,
    anomalies_cursor,
)

# A tick does at most this many batches; the rest waits for the next tick.
TICK_BATCHES = 20


class AnomalyDetector:
    def __init__(self, store: AnomalyStore, clock: Clock, params: Params, *, batch: int = 200) -> None:
        self._store, self._clock, self._params, self._batch = store, clock, params, batch

    async def count(self, batch: Batch) -> None:
        """Counts a batch of events (``afo_common.messaging.batches``): one transaction, and each signal read,
        advanced through its events in arrival order and written once."""
        seen = {id(delivery): observations(delivery.payload, delivery.envelope.tenantid, delivery.envelope.time)
                for delivery in batch.deliveries}
        if not any(seen.values()):
            return
        now = self._clock.now()
        async with self._store.handling_batch(batch) as (uow, fresh):
            by_signal: dict[SignalKey, list[tuple[Envelope, Observation]]] = {}
            for delivery in fresh:
                envelope = delivery.envelope
                for observation in seen[id(delivery)]:
                    key = (envelope.tenantid, observation.signal, observation.scope_id)
                    by_signal.setdefault(key, []).append((envelope, observation))
            for key in sorted(by_signal):
                events = by_signal[key]
                state = await self._locked(uow, *key, events[0][1].at)
                found: list[tuple[Finding, Envelope]] = []
                for envelope, observation in events:
                    state, closed = observe(state, observation, now, self._params)
                    found += [(finding, envelope) for finding in closed]
                await uow.anomalies.save(state)
                for finding, envelope in found:
                    await _record(uow, [finding], envelope)

    async def tick(self) -> None:
        """Closes the buckets that ended ``grace_s`` ago (each signal in a transaction of its own)."""
        now = self._clock.now()
        target = tick_target(now, self._params)
        for _ in range(TICK_BATCHES):
            async with self._store.reading() as repos:
                due = await repos.anomalies.due(target, self._batch)
            for tenant_id, signal, scope_id in due:
                async with self._store() as uow:
                    state = await uow.anomalies.state(tenant_id, signal, scope_id)
                    if state is None or state.bucket_start >= target:
                        continue  # another replica closed it
                    state, found = advance(state, target, now, self._params)
                    await uow.anomalies.save(state)
                    await _record(uow, found, None)
            if len(due) < self._batch:
                return

    async def list(self, request: ListAnomalies) -> Page[AnomalyView]:
        async with self._store.reading() as repos:
            rows = await repos.anomalies.page(request.tenant_id, request.limit, request.cursor,
                                              status=request.status, signal=request.signal)
        next_cursor = anomalies_cursor(rows[-1]) if len(rows) == request.limit else None
        return Page[AnomalyView](data=[anomaly_view(r) for r in rows], next_cursor=next_cursor)

    async def list_platform(self, request: ListPlatformAnomalies) -> Page[PlatformAnomalyView]:
        """Every tenant's, for the platform's operators (the gateway asks only for one)."""
        async with self._store.reading() as repos:
            rows = await repos.anomalies.platform_page(request.limit, request.cursor, status=request.status,
                                                       signal=request.signal)
        next_cursor = anomalies_cursor(rows[-1]) if len(rows) == request.limit else None
        return Page[PlatformAnomalyView](
            data=[PlatformAnomalyView(tenant_id=r.tenant_id, **anomaly_view(r).model_dump()) for r in rows],
            next_cursor=next_cursor)

    async def _locked(self, uow: AnomalyUnitOfWork, tenant_id: str, signal: Signal, scope_id: str,
                      first_seen: datetime) -> SignalState:
        state = await uow.anomalies.state(tenant_id, signal, scope_id)
        if state is None:
            await uow.anomalies.start(new_state(tenant_id, signal, scope_id, first_seen, self._params))
            state = await uow.anomalies.state(tenant_id, signal, scope_id)
        assert state is not None
        return state


async def _record(uow: AnomalyUnitOfWork, found: list[Finding], cause: Envelope | None) -> None:
    for finding in found:
        if isinstance(finding, AnomalyRow):
            await uow.anomalies.add(finding)
            await uow.emit(detected_event(finding), tenant_id=finding.tenant_id, causation=cause)
            continue
        await uow.anomalies.resolve(finding.tenant_id, finding.anomaly_id, finding.resolved_at, finding.resolution)
        scope = SIGNALS[finding.signal].scope
        await uow.emit(AnomalyResolved(anomaly_id=finding.anomaly_id, signal=finding.signal, scope=scope,
                                       agent_id=finding.scope_id if scope == "agent" else None,
                                       key_id=finding.scope_id if scope == "key" else None,
                                       resolution=finding.resolution, observed=finding.observed,
                                       resolved_at=finding.resolved_at),
                       tenant_id=finding.tenant_id, causation=cause)


def _scoped(row: AnomalyRow) -> dict[str, str | None]:
    return {"agent_id": row.scope_id if row.scope == "agent" else None,
            "key_id": row.scope_id if row.scope == "key" else None}


def detected_event(row: AnomalyRow) -> AnomalyDetected:
    return AnomalyDetected(
        anomaly_id=row.id, signal=row.signal, scope=row.scope, **_scoped(row), direction=row.direction,
        observed=row.observed, unit=row.unit, volume=row.volume, baseline_mean=row.baseline_mean,
        baseline_sigma=row.baseline_sigma, deviation=row.deviation, window_start=row.window_start,
        window_end=row.window_end, severity=row.severity, detected_at=row.detected_at)


def anomaly_view(row: AnomalyRow) -> AnomalyView:
    return AnomalyView(
        id=row.id, signal=row.signal, scope=row.scope, **_scoped(row), status=row.status, severity=row.severity,
        direction=row.direction, observed=row.observed, unit=row.unit, volume=row.volume,
        baseline_mean=row.baseline_mean, baseline_sigma=row.baseline_sigma, deviation=row.deviation,
        window_start=row.window_start, window_end=row.window_end, detected_at=row.detected_at,
        resolved_at=row.resolved_at, resolution=row.resolution)
