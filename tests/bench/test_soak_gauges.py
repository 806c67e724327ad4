"""The soak's pure parts: the /proc readers (on a fake /proc, and on this process), the fitted slope, percentiles,
the Prometheus text reduced to sums, the ledger's bookkeeping, the pacer and the counts' ``lost:`` line."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bench.soak_audit import Count
from bench.soak_gauges import (
    cpu_s,
    group_members,
    group_usage,
    highest,
    open_fds,
    per_hour,
    percentile,
    rss_kib,
    samples,
    slope,
    total,
)
from bench.soak_ledger import BOOKING, KNOWLEDGE, Conversation, Ledger, Message
from bench.soak_report import counts_table
from bench.soak_setup import SoakTenant
from bench.soak_traffic import Pacer, script

TICKS = os.sysconf("SC_CLK_TCK")


def fake_process(proc: Path, pid: int, pgid: int, rss_kib: int, fds: int, ticks: tuple[int, int, int, int]) -> None:
    folder = proc / str(pid)
    (folder / "fd").mkdir(parents=True)
    for n in range(fds):
        (folder / "fd" / str(n)).touch()
    (folder / "status").write_text(f"Name:\tpython (x)\nVmPeak:\t 999999 kB\nVmRSS:\t {rss_kib} kB\nThreads:\t4\n")
    utime, stime, cutime, cstime = ticks
    # The command name holds a space and a ")" on purpose: fields are counted after the last ")".
    (folder / "stat").write_text(f"{pid} (python (x) y) S 1 {pgid} {pgid} 0 -1 4194560 1 0 0 0 "
                                 f"{utime} {stime} {cutime} {cstime} 20 0 4 0\n")


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    fake_process(tmp_path, 100, 100, rss_kib=2048, fds=5, ticks=(TICKS, TICKS, 0, 0))
    fake_process(tmp_path, 101, 100, rss_kib=1024, fds=3, ticks=(TICKS * 2, 0, 0, TICKS))
    fake_process(tmp_path, 200, 200, rss_kib=512, fds=1, ticks=(0, 0, 0, 0))
    return tmp_path


def test_proc_readers_read_rss_descriptors_cpu_and_the_process_group(proc: Path) -> None:
    assert rss_kib(100, proc) == 2048
    assert open_fds(100, proc) == 5
    assert cpu_s(101, proc) == pytest.approx(3.0)
    assert sorted(group_members(100, proc)) == [100, 101]
    assert group_usage([100, 101], proc) == pytest.approx((3.0, 8, 5.0))


def test_a_process_gone_meanwhile_counts_nothing(proc: Path) -> None:
    assert group_usage([100, 4242], proc) == pytest.approx((2.0, 5, 2.0))


def test_the_readers_read_this_very_process() -> None:
    me = os.getpid()
    assert rss_kib(me) > 1024  # a Python interpreter holds more than a MiB
    assert open_fds(me) >= 3
    assert me in group_members(os.getpgid(me))


def test_the_slope_is_the_least_squares_fit() -> None:
    assert slope([0, 1, 2, 3], [1, 3, 5, 7]) == pytest.approx(2.0)
    assert slope([0, 1, 2, 3], [1, 2, 1, 2]) == pytest.approx(0.2)
    assert slope([5], [1]) == 0.0
    assert slope([2, 2], [1, 9]) == 0.0
    with pytest.raises(ValueError, match="as many"):
        slope([1, 2], [1])


def test_per_hour_turns_a_slope_over_seconds_into_one_over_hours() -> None:
    # 1 MiB more every 60 s, with noise either side of the line.
    times = [60.0 * n for n in range(11)]
    values = [100 + n + (0.3 if n % 2 else -0.3) for n in range(11)]
    assert per_hour(times, values) == pytest.approx(60.0, rel=0.02)


def test_percentile_by_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 95) == 95
    assert percentile(values, 50) == 50
    assert percentile([3.0, 1.0, 2.0], 100) == 3.0
    assert percentile([7.0], 95) == 7.0


EXPOSITION = """# HELP afo_http_requests_total HTTP requests
# TYPE afo_http_requests_total counter
afo_http_requests_total{method="POST",route="/v1/conversations/{conversation_id}/messages",status="202"} 40.0
afo_http_requests_total{method="GET",route="/metrics",service="gateway",status="200"} 7.0
afo_http_requests_total{method="GET",route="/readyz",service="gateway",status="200"} 3.0
afo_outbox_oldest_age_seconds{service="gateway"} 0.25
afo_outbox_oldest_age_seconds{service="gateway-worker"} 1.5
afo_events_consumed_created{event_type="x",outcome="ack",service="gateway"} 1.79e+09
"""


def test_the_exposition_is_reduced_to_sums_leaving_out_operational_routes() -> None:
    found = samples(EXPOSITION)
    assert len(found) == 6
    assert total(found, "afo_http_requests_total") == 50.0
    assert total(found, "afo_http_requests_total", {"route": ("/metrics", "/readyz")}) == 40.0
    assert total(found, "afo_events_consumed_total") == 0.0
    assert highest(found, "afo_outbox_oldest_age_seconds") == 1.5
    assert highest(found, "afo_outbox_pending") == 0.0


def tenant() -> SoakTenant:
    return SoakTenant(0, "t_1", {}, "agt_1", ["What does it cost?"], "builtin", datetime(2027, 1, 1, tzinfo=UTC))


def test_a_reply_seen_before_its_message_was_recorded_is_kept_for_it() -> None:
    ledger = Ledger()
    ledger.started(Conversation("conv_1", tenant(), KNOWLEDGE))
    ledger.replied("msg_1", 12.0, cited=True, lead_id="lead_1", live=True)
    ledger.sent(Message("msg_1", "conv_1", KNOWLEDGE, sent_at=11.5))
    message = ledger.messages["msg_1"]
    assert (message.answered_at, message.cited, message.replies_seen) == (12.0, True, 1)
    assert ledger.conversations["conv_1"].lead_id == "lead_1"


def test_first_answer_and_booking_after_a_time() -> None:
    ledger = Ledger()
    ledger.started(Conversation("conv_1", tenant(), BOOKING))
    for n, (sent, answered) in enumerate([(1.0, 2.0), (5.0, 9.0), (6.0, 7.0)]):
        ledger.sent(Message(f"msg_{n}", "conv_1", BOOKING if n == 2 else KNOWLEDGE, sent_at=sent))
        ledger.replied(f"msg_{n}", answered, cited=n == 1, lead_id=None, live=True)
    ledger.booked("conv_1", "mtg_1", 8.0)
    ledger.booked("conv_1", "mtg_2", 9.0)  # the first booking seen is kept
    assert ledger.first_answer(4.0) == 7.0
    assert ledger.first_answer(4.0, lambda m: m.cited) == 9.0
    assert ledger.first_answer(6.5) is None
    assert ledger.first_booking(6.0) == 8.0
    assert ledger.first_booking(6.5) is None
    assert ledger.conversations["conv_1"].meeting_id == "mtg_1"


async def test_a_reply_waited_for_comes_or_the_wait_ends() -> None:
    ledger = Ledger()
    ledger.started(Conversation("conv_1", tenant(), KNOWLEDGE))
    ledger.sent(Message("msg_1", "conv_1", KNOWLEDGE, sent_at=1.0))
    asyncio.get_running_loop().call_later(0.02, lambda: ledger.replied("msg_1", 2.0, cited=False, lead_id=None,
                                                                       live=True))
    assert await ledger.reply("msg_1", timeout_s=5.0)
    ledger.sent(Message("msg_2", "conv_1", KNOWLEDGE, sent_at=3.0))
    assert not await ledger.reply("msg_2", timeout_s=0.05)


async def test_the_pacer_spaces_sends_and_does_not_make_up_missed_slots() -> None:
    pacer = Pacer(rate=50.0)
    began = time.monotonic()
    for _ in range(6):
        await pacer.wait()
    assert time.monotonic() - began >= 5 / 50 * 0.95
    await asyncio.sleep(0.2)  # ten slots pass unused
    began = time.monotonic()
    await pacer.wait()
    await pacer.wait()
    assert time.monotonic() - began >= 1 / 50 * 0.95


def test_each_conversation_has_its_own_email_and_slot() -> None:
    lead_email, lead_turns = script("lead", tenant(), 7, "soak")
    booking_email, booking_turns = script("booking", tenant(), 8, "soak")
    assert len(lead_turns) == 5 and lead_email is not None and lead_email in lead_turns[1][1]
    assert booking_email != lead_email and booking_turns[-1] == (BOOKING, "Can we meet on 2027-01-01 at 00:00?")
    assert script("booking", tenant(), 9, "chaos")[0] != booking_email


def test_the_counts_end_with_the_lost_line() -> None:
    lines = counts_table([Count("replies (x)", 10, 10), Count("bookings (y)", 3, 2, 1, "late")])
    assert lines[-1] == "lost: 1 (replies 0, bookings 1); duplicated: 1"
    assert "late" in lines[2]
