"""Anomaly detection: each signal of each agent, API key or tenant against its own rolling baseline (plain
Python, no I/O; ``now`` is passed in).

Rules:
- A signal is kept per (tenant, signal, scope): the agent, the API key or the tenant the signal is about
  (``SIGNALS``). Its events are counted in fixed time buckets of ``bucket_s`` (5 minutes), aligned to the Unix
  epoch, by the event's own time (the CloudEvent ``time``). An event older than the open bucket is counted in
  the open bucket: a closed bucket is never reopened, and nothing is lost.
- A bucket holds ``amount`` and ``volume``. Its value is ``amount / volume`` for a rate (failures per attempt,
  qualified leads or booked meetings per conversation started) and for a mean (reply latency: ms per reply),
  and ``volume`` itself for a count (messages sent with one key).
- A bucket closes when an event of a later bucket arrives, or when the periodic tick finds its end more than
  ``grace_s`` ago (so a signal that stops — bookings dropping to zero — is still judged). Buckets passed
  without any event close empty: a count's empty bucket is a value of 0, a rate's or a mean's has no value.
- The baseline is an exponentially weighted mean and variance of the closed buckets' values (``alpha`` 0.1,
  about the last 19 buckets). Only buckets with a value are learned: for a rate or a mean, at least the
  minimum volume (``min_rate_volume`` 20 events, ``min_latency_volume`` 10 replies); for a count, every bucket.
- A closed bucket is anomalous when all hold: the baseline has learned ``warmup`` buckets (12: an hour); the
  bucket has the minimum volume (a count: ``min_key_messages`` 20); and it lies more than ``sigmas`` (3)
  standard deviations from the baseline's mean in the signal's bad direction (up for latency, failures and
  volume; down for qualification and booking rates). The standard deviation has a floor, so a flat baseline
  does not fire on noise: for a rate, the sampling noise of a proportion at the bucket's volume,
  sqrt(p(1-p)/n), and at least 0.02; for latency, 10% of the mean and at least 25 ms; for a count, the Poisson
  noise sqrt(mean), 10% of the mean and at least 1.
- Severity is ``critical`` from twice ``sigmas`` on, ``warning`` below. An anomalous bucket is not learned:
  the baseline stays what normal looks like.
- At most one anomaly is open per (tenant, signal, scope). It resolves (``recovered``) with the first bucket
  with a value back within the band; ``quiet`` after ``quiet_buckets`` (12) buckets without a value; and
  ``relearned`` after ``relearn_buckets`` (24: two hours) anomalous buckets in a row — a lasting change is the
  new normal, so the baseline starts over from it (and warms up again).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from afo_common.events.anomaly import Resolution, Scope, Severity, Signal

Kind = Literal["rate", "mean", "count"]
# Past this many buckets without an event, one more changes nothing worth the loop (0.9 ** 200 ≈ 1e-9).
MAX_EMPTY_BUCKETS = 200
RATE_SIGMA_FLOOR = 0.02
LATENCY_SIGMA_FLOOR_MS = 25.0
MEAN_SIGMA_FLOOR_SHARE = 0.10
COUNT_SIGMA_FLOOR = 1.0


@dataclass(frozen=True)
class SignalRule:
    scope: Scope
    kind: Kind
    bad: Literal["up", "down"]
    unit: Literal["ms", "ratio", "messages"]


SIGNALS: dict[Signal, SignalRule] = {
    "reply_latency": SignalRule("agent", "mean", "up", "ms"),
    "reply_errors": SignalRule("agent", "rate", "up", "ratio"),
    "qualification_rate": SignalRule("agent", "rate", "down", "ratio"),
    "booking_rate": SignalRule("agent", "rate", "down", "ratio"),
    "booking_failures": SignalRule("agent", "rate", "up", "ratio"),
    "crm_failures": SignalRule("tenant", "rate", "up", "ratio"),
    "webhook_failures": SignalRule("tenant", "rate", "up", "ratio"),
    "key_messages": SignalRule("key", "count", "up", "messages"),
}


@dataclass(frozen=True)
class Params:
    bucket_s: int = 300
    alpha: float = 0.1
    sigmas: float = 3.0
    warmup: int = 12
    min_rate_volume: int = 20
    min_latency_volume: int = 10
    min_key_messages: int = 20
    grace_s: float = 30.0
    quiet_buckets: int = 12
    relearn_buckets: int = 24

    def min_volume(self, kind: Kind) -> int:
        return {"rate": self.min_rate_volume, "mean": self.min_latency_volume, "count": self.min_key_messages}[kind]


@dataclass(frozen=True)
class Observation:
    """One event's part in one signal: ``amount`` adds to the numerator (1 for a failure or a qualified lead,
    the ms of a reply), ``volume`` to the denominator (an attempt, a conversation started, a reply)."""

    signal: Signal
    scope_id: str
    at: datetime
    amount: float
    volume: int


@dataclass(frozen=True)
class SignalState:
    tenant_id: str
    signal: Signal
    scope_id: str
    bucket_start: datetime  # the open bucket
    amount: float = 0.0
    volume: int = 0
    mean: float = 0.0
    var: float = 0.0
    buckets: int = 0  # learned into the baseline
    anomalous_run: int = 0
    quiet_run: int = 0
    open_anomaly_id: str | None = None

    @property
    def pending(self) -> bool:
        """Something the tick must close: events in the open bucket, or an open anomaly to resolve."""
        return self.volume > 0 or self.amount != 0 or self.open_anomaly_id is not None


@dataclass(frozen=True)
class AnomalyRow:
    id: str
    tenant_id: str
    signal: Signal
    scope: Scope
    scope_id: str
    direction: Literal["above", "below"]
    observed: float
    unit: Literal["ms", "ratio", "messages"]
    volume: int
    baseline_mean: float
    baseline_sigma: float
    deviation: float
    window_start: datetime
    window_end: datetime
    severity: Severity
    detected_at: datetime
    status: Literal["open", "resolved"] = "open"
    resolved_at: datetime | None = None
    resolution: Resolution | None = None


@dataclass(frozen=True)
class Resolved:
    anomaly_id: str
    tenant_id: str
    signal: Signal
    scope_id: str
    resolution: Resolution
    observed: float | None
    resolved_at: datetime


Finding = AnomalyRow | Resolved


def bucket_start(at: datetime, bucket_s: int) -> datetime:
    seconds = math.floor(at.timestamp())
    return datetime.fromtimestamp(seconds - seconds % bucket_s, UTC)


def anomaly_id(tenant_id: str, signal: str, scope_id: str, window_start: datetime) -> str:
    """Derived, so the same bucket judged twice names the same anomaly."""
    key = f"{tenant_id}:{signal}:{scope_id}:{window_start.isoformat()}"
    return "anm_" + hashlib.sha256(key.encode()).hexdigest()[:26]


def new_state(tenant_id: str, signal: Signal, scope_id: str, at: datetime, params: Params) -> SignalState:
    return SignalState(tenant_id, signal, scope_id, bucket_start(at, params.bucket_s))


def observe(state: SignalState, seen: Observation, now: datetime,
            params: Params) -> tuple[SignalState, list[Finding]]:
    """The event counted, after closing the buckets before its own."""
    state, found = advance(state, bucket_start(seen.at, params.bucket_s), now, params)
    return replace(state, amount=state.amount + seen.amount, volume=state.volume + seen.volume), found


def tick_target(now: datetime, params: Params) -> datetime:
    """The bucket the tick brings every signal to: every bucket that ended ``grace_s`` ago is closed."""
    return bucket_start(now - timedelta(seconds=params.grace_s), params.bucket_s)


def tick(state: SignalState, now: datetime, params: Params) -> tuple[SignalState, list[Finding]]:
    return advance(state, tick_target(now, params), now, params)


def advance(state: SignalState, target: datetime, now: datetime,
            params: Params) -> tuple[SignalState, list[Finding]]:
    """Closes the open bucket and the empty ones after it until ``target`` is the open bucket."""
    found: list[Finding] = []
    for _ in range(MAX_EMPTY_BUCKETS + 1):
        if state.bucket_start >= target:
            return state, found
        state, finding = close(state, now, params)
        if finding is not None:
            found.append(finding)
    return replace(state, bucket_start=target), found


def close(state: SignalState, now: datetime, params: Params) -> tuple[SignalState, Finding | None]:
    """The open bucket judged against the baseline, then learned or not; the next bucket opened empty."""
    rule = SIGNALS[state.signal]
    window = timedelta(seconds=params.bucket_s)
    following = replace(state, bucket_start=state.bucket_start + window, amount=0.0, volume=0)
    value = _value(rule.kind, state, params)
    if value is None:
        quiet = state.quiet_run + 1 if state.open_anomaly_id else 0
        if state.open_anomaly_id and quiet >= params.quiet_buckets:
            return (replace(following, quiet_run=0, anomalous_run=0, open_anomaly_id=None),
                    _resolved(state, "quiet", None, now))
        return replace(following, quiet_run=quiet), None
    sigma = max(math.sqrt(max(state.var, 0.0)), sigma_floor(rule.kind, state.mean, state.volume))
    deviation = (value - state.mean) / sigma
    bad = deviation if rule.bad == "up" else -deviation
    anomalous = (state.buckets >= params.warmup and state.volume >= params.min_volume(rule.kind)
                 and bad > params.sigmas)
    if not anomalous:
        finding = _resolved(state, "recovered", value, now) if state.open_anomaly_id else None
        mean, var = learn(state.mean, state.var, value, params.alpha, first=state.buckets == 0)
        return replace(following, mean=mean, var=var, buckets=state.buckets + 1, anomalous_run=0, quiet_run=0,
                       open_anomaly_id=None), finding
    run = state.anomalous_run + 1
    if run >= params.relearn_buckets:
        resolved = _resolved(state, "relearned", value, now) if state.open_anomaly_id else None
        return replace(following, mean=value, var=0.0, buckets=1, anomalous_run=0, quiet_run=0,
                       open_anomaly_id=None), resolved
    if state.open_anomaly_id:
        return replace(following, anomalous_run=run, quiet_run=0), None
    row = AnomalyRow(
        id=anomaly_id(state.tenant_id, state.signal, state.scope_id, state.bucket_start), tenant_id=state.tenant_id,
        signal=state.signal, scope=rule.scope, scope_id=state.scope_id,
        direction="above" if deviation > 0 else "below", observed=value, unit=rule.unit, volume=state.volume,
        baseline_mean=state.mean, baseline_sigma=sigma, deviation=deviation, window_start=state.bucket_start,
        window_end=state.bucket_start + window, severity="critical" if bad >= 2 * params.sigmas else "warning",
        detected_at=now)
    return replace(following, anomalous_run=run, quiet_run=0, open_anomaly_id=row.id), row


def learn(mean: float, var: float, value: float, alpha: float, *, first: bool) -> tuple[float, float]:
    """One step of the exponentially weighted mean and variance (the first value starts the baseline)."""
    if first:
        return value, 0.0
    diff = value - mean
    step = alpha * diff
    return mean + step, (1 - alpha) * (var + diff * step)


def sigma_floor(kind: Kind, mean: float, volume: int) -> float:
    if kind == "rate":
        p = min(max(mean, 0.0), 1.0)
        return max(RATE_SIGMA_FLOOR, math.sqrt(p * (1 - p) / max(volume, 1)))
    if kind == "mean":
        return max(LATENCY_SIGMA_FLOOR_MS, MEAN_SIGMA_FLOOR_SHARE * abs(mean))
    return max(COUNT_SIGMA_FLOOR, math.sqrt(max(mean, 0.0)), MEAN_SIGMA_FLOOR_SHARE * mean)


def _value(kind: Kind, state: SignalState, params: Params) -> float | None:
    """The bucket's value; None for a rate or a mean below the minimum volume (too few events to tell)."""
    if kind == "count":
        return float(state.volume)
    if state.volume < max(params.min_volume(kind), 1):
        return None
    return state.amount / state.volume


def _resolved(state: SignalState, resolution: Resolution, observed: float | None, now: datetime) -> Resolved:
    assert state.open_anomaly_id is not None
    return Resolved(state.open_anomaly_id, state.tenant_id, state.signal, state.scope_id, resolution, observed, now)
