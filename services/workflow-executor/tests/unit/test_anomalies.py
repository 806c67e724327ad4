"""Anomaly detection's method (``domain/anomalies.py``) on made-up signals, bucket by bucket: nothing before the
baseline warms up or below the minimum volume, a spike fires once and resolves when the signal recovers, noise
within the band never fires, a drop to zero is seen by the tick alone, one key's burst of messages is its own;
and which event feeds which signal (``domain/anomaly_signals.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from afo_common.events.anomaly import Signal
from afo_common.events.conversation import (
    Contact,
    ConversationStarted,
    LeadQualified,
    MessageReceived,
    MessageReplied,
    TurnsTallied,
)
from afo_common.events.webhooks import WebhookFailed
from afo_common.events.workflow import MeetingBooked, MeetingFailed
from afo_workflow_executor.domain.anomalies import (
    AnomalyRow,
    Finding,
    Observation,
    Params,
    Resolved,
    SignalState,
    advance,
    bucket_start,
    learn,
    new_state,
    observe,
    tick,
)
from afo_workflow_executor.domain.anomaly_signals import observations

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PARAMS = Params(bucket_s=300, warmup=4, grace_s=30, quiet_buckets=3, relearn_buckets=5)


def at(bucket: int, second: int = 10) -> datetime:
    return T0 + timedelta(seconds=300 * bucket + second)


class Feed:
    """One signal of one scope, fed a bucket at a time as its events would be (summed into one observation)."""

    def __init__(self, signal: Signal, scope_id: str = "agt_1", params: Params = PARAMS) -> None:
        self.signal, self.scope_id, self.params = signal, scope_id, params
        self.state: SignalState = new_state("t1", signal, scope_id, at(0), params)
        self.found: list[Finding] = []
        self.next = 0

    def bucket(self, amount: float, volume: int) -> Feed:
        seen = Observation(self.signal, self.scope_id, at(self.next), amount, volume)
        self.state, found = observe(self.state, seen, at(self.next), self.params)
        self.found += found
        self.next += 1
        return self

    def buckets(self, values: list[tuple[float, int]]) -> Feed:
        for amount, volume in values:
            self.bucket(amount, volume)
        return self

    def tick(self, now: datetime) -> list[Finding]:
        self.state, found = tick(self.state, now, self.params)
        self.found += found
        return found

    def close(self) -> list[Finding]:
        """The tick after the last bucket ended (and its grace)."""
        return self.tick(at(self.next, 31))

    @property
    def detected(self) -> list[AnomalyRow]:
        return [f for f in self.found if isinstance(f, AnomalyRow)]

    @property
    def resolved(self) -> list[Resolved]:
        return [f for f in self.found if isinstance(f, Resolved)]


def test_buckets_are_fixed_windows_of_epoch_time() -> None:
    assert bucket_start(datetime(2026, 3, 2, 9, 4, 59, 999, tzinfo=UTC), 300) == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert bucket_start(datetime(2026, 3, 2, 9, 5, tzinfo=UTC), 300) == datetime(2026, 3, 2, 9, 5, tzinfo=UTC)


def test_the_ewma_mean_and_variance() -> None:
    assert learn(0.0, 0.0, 10.0, 0.5, first=True) == (10.0, 0.0)
    assert learn(10.0, 0.0, 20.0, 0.5, first=False) == (15.0, 25.0)  # (1-a)(var + diff * a * diff)


def test_a_spike_of_failures_fires_once_with_what_was_seen_and_the_baseline() -> None:
    feed = Feed("webhook_failures", "t1").buckets([(2, 40), (3, 40), (2, 40), (1, 40), (2, 40)])
    feed.bucket(30, 40).close()

    [row] = feed.detected
    assert (row.signal, row.scope, row.scope_id, row.direction, row.unit) == (
        "webhook_failures", "tenant", "t1", "above", "ratio")
    assert (row.observed, row.volume, row.window_start, row.window_end) == (0.75, 40, T0 + timedelta(minutes=25),
                                                                             T0 + timedelta(minutes=30))
    assert 0.04 < row.baseline_mean < 0.06 and row.deviation > 6 and row.severity == "critical"
    assert row.detected_at == at(6, 31) and feed.state.open_anomaly_id == row.id


def test_nothing_fires_before_the_baseline_has_warmed_up() -> None:
    early = Feed("webhook_failures", "t1").buckets([(2, 40), (2, 40), (2, 40)]).bucket(30, 40)
    early.close()
    assert early.detected == []
    warm = Feed("webhook_failures", "t1").buckets([(2, 40), (2, 40), (2, 40), (2, 40)]).bucket(30, 40)
    warm.close()
    assert len(warm.detected) == 1


def test_a_bucket_below_the_minimum_volume_is_neither_judged_nor_learned() -> None:
    feed = Feed("booking_failures").buckets([(2, 40)] * 5).bucket(10, 10)  # all failed, but 10 (minimum 20)
    learned = feed.state.buckets
    feed.close()
    assert feed.detected == [] and feed.state.buckets == learned == 5


def test_noise_within_the_band_never_fires() -> None:
    latency = Feed("reply_latency")
    rates = Feed("webhook_failures", "t1")
    for i in range(60):
        latency.bucket((800 + (i * 37) % 121 - 60) * 12, 12)  # 740..860 ms a reply
        rates.bucket(2 + (i * 7) % 5, 40)  # 5% .. 15% failed
    latency.close()
    rates.close()
    assert latency.detected == [] and rates.detected == []
    assert latency.state.buckets == 60 and 780 < latency.state.mean < 820


def test_a_latency_spike_fires_and_resolves_when_it_recovers() -> None:
    feed = Feed("reply_latency").buckets([(800 * 12, 12)] * 6)
    feed.bucket(2400 * 12, 12).bucket(2600 * 12, 12)  # two slow buckets: one anomaly
    assert len(feed.detected) == 1 and feed.resolved == []
    [row] = feed.detected
    assert (row.direction, row.unit, row.observed, row.baseline_mean, row.baseline_sigma) == (
        "above", "ms", 2400.0, 800.0, 80.0)  # a flat baseline: the floor, 10% of the mean
    feed.bucket(820 * 12, 12).close()

    [resolved] = feed.resolved
    assert (resolved.anomaly_id, resolved.resolution, resolved.observed) == (row.id, "recovered", 820.0)
    assert feed.state.open_anomaly_id is None and feed.state.mean == pytest.approx(802.0)  # slow buckets unlearned
    feed.bucket(3000 * 12, 12).close()
    assert len(feed.detected) == 2 and feed.detected[1].id != row.id


def test_a_drop_of_bookings_to_zero_is_seen_by_the_tick() -> None:
    feed = Feed("booking_rate").buckets([(9, 30), (10, 30), (8, 30), (9, 30), (11, 30)])
    feed.bucket(0, 30)  # conversations still start; no meeting is booked; then nothing arrives at all
    assert feed.detected == []
    assert feed.tick(at(6, 20)) == []  # the bucket ended 20 s ago: within the grace

    [row] = feed.tick(at(6, 31))
    assert isinstance(row, AnomalyRow)
    assert (row.signal, row.direction, row.observed, row.volume) == ("booking_rate", "below", 0.0, 30)
    assert row.deviation < -3


def test_one_open_anomaly_until_quiet_or_relearned() -> None:
    quiet = Feed("webhook_failures", "t1").buckets([(2, 40)] * 5).bucket(30, 40)
    quiet.tick(at(12))  # no attempts at all for a while: nothing to judge, resolved after three quiet buckets
    assert len(quiet.detected) == 1 and [r.resolution for r in quiet.resolved] == ["quiet"]

    lasting = Feed("webhook_failures", "t1").buckets([(2, 40)] * 5).buckets([(30, 40)] * 5)
    assert len(lasting.detected) == 1 and lasting.resolved == []
    lasting.close()  # the fifth anomalous bucket: the new normal
    assert [r.resolution for r in lasting.resolved] == ["relearned"]
    assert (lasting.state.mean, lasting.state.buckets, lasting.state.open_anomaly_id) == (0.75, 1, None)
    lasting.buckets([(30, 40)] * 4).close()
    assert len(lasting.detected) == 1


def test_a_burst_of_messages_from_one_key_is_that_keys_anomaly() -> None:
    burst = Feed("key_messages", "key_1")
    calm = Feed("key_messages", "key_2")
    for i in range(8):
        burst.bucket(i % 3, i % 3)  # 0..2 messages
        calm.bucket(i % 3, i % 3)
    burst.bucket(60, 60).close()
    calm.bucket(2, 2).close()

    [row] = burst.detected
    assert (row.scope, row.scope_id, row.unit, row.observed, row.volume) == ("key", "key_1", "messages", 60.0, 60)
    assert row.baseline_sigma == pytest.approx(1.0, abs=0.3) and row.severity == "critical"
    assert calm.detected == []
    # 15 messages is far above 0..2 too, but under the minimum of 20: not an anomaly.
    small = Feed("key_messages", "key_3").buckets([(1, 1)] * 8).bucket(15, 15)
    small.close()
    assert small.detected == []


def test_empty_buckets_between_a_keys_messages_are_zeros() -> None:
    state = new_state("t1", "key_messages", "key_1", at(0), PARAMS)
    state, _ = observe(state, Observation("key_messages", "key_1", at(0), 1, 1), at(0), PARAMS)
    state, found = advance(state, bucket_start(at(10), 300), at(10), PARAMS)
    assert found == [] and state.buckets == 10 and state.bucket_start == T0 + timedelta(minutes=50)
    assert state.mean == pytest.approx(0.9 ** 9)  # 1, then nine buckets of 0


def test_an_event_older_than_the_open_bucket_is_counted_in_it() -> None:
    state = new_state("t1", "key_messages", "key_1", at(3), PARAMS)
    state, _ = observe(state, Observation("key_messages", "key_1", at(1), 1, 1), at(3), PARAMS)
    assert (state.bucket_start, state.volume) == (T0 + timedelta(minutes=15), 1)


def observed(payload: object, at: datetime = T0) -> list[tuple[str, str, float, int]]:
    return [(o.signal, o.scope_id, o.amount, o.volume) for o in observations(payload, "t1", at)]  # type: ignore[arg-type]


def test_which_event_feeds_which_signal() -> None:
    window = T0 + timedelta(minutes=1)
    tallied = TurnsTallied(agent_id="agt_1", key_id=None, window_start=window, window_s=60, messages=4, replies=4,
                           reply_ms_total=2400.0, fallbacks=1)
    assert observed(tallied) == [("reply_latency", "agt_1", 2400.0, 4), ("reply_errors", "agt_1", 1.0, 4)]
    assert {o.at for o in observations(tallied, "t1", T0)} == {window}  # counted at its window, not its sending
    assert observed(tallied.model_copy(update={"key_id": "key_1"}))[2] == ("key_messages", "key_1", 4.0, 4)
    assert observed(tallied.model_copy(update={"messages": 0, "replies": 0})) == []
    # The message path's own events feed nothing: their tallies do.
    replied = MessageReplied(conversation_id="c", message_id="m2", in_reply_to="m1", text="hi", engine="openai",
                             intent="question", first_delta_ms=90.0, completed_ms=640.0, agent_id="agt_1")
    received = MessageReceived(conversation_id="c", message_id="m1", channel="api", text="hi", sent_at=T0,
                               key_id="key_1")
    assert observed(replied) == [] and observed(received) == []
    started = ConversationStarted(conversation_id="c", agent_id="agt_1", agent_version=1, channel="web",
                                  contact=Contact())
    assert observed(started) == [("qualification_rate", "agt_1", 0.0, 1), ("booking_rate", "agt_1", 0.0, 1)]
    assert observed(LeadQualified(lead_id="l", conversation_id="c", agent_id="agt_1", fields={})) == [
        ("qualification_rate", "agt_1", 1.0, 0)]
    booked = MeetingBooked(meeting_id="mtg", request_id="r", conversation_id="c", agent_id="agt_1", lead_id=None,
                           calendar_id="cal", provider="builtin", start=T0, end=T0, timezone="UTC")
    assert observed(booked) == [("booking_rate", "agt_1", 1.0, 0), ("booking_failures", "agt_1", 0.0, 1)]
    assert observed(booked.model_copy(update={"rescheduled_from": "mtg_0"})) == [("booking_failures", "agt_1", 0.0, 1)]
    failed = MeetingFailed(request_id="r", conversation_id="c", agent_id="agt_1", lead_id=None, reason="slot_taken",
                           detail="taken")
    assert observed(failed) == [("booking_failures", "agt_1", 1.0, 1)]
    assert observed(failed.model_copy(update={"reason": "no_calendar"})) == []  # Calendly's link: not a failure
    webhook = WebhookFailed(subscription_id="whk", delivery_id="d", event_id="e", event_type="lead.created",
                            attempt=1, status_code=500, error="500", next_attempt_at=None, final=False)
    assert observed(webhook) == [("webhook_failures", "t1", 1.0, 1)]
