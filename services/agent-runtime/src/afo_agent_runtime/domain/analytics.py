"""The Monday numbers of agent-runtime's own facts: the funnel, containment, reply latency and the questions
the documents did not answer. Pure: what the repository counted in, the answer of ``analytics.summary`` out.

The rules:

- The funnel is a cohort: a conversation counts in the period (day or week, in the query's time zone: the
  tenant's unless asked otherwise) it started in, and so do
  its outcomes — it qualified (its lead had every required field, on whichever later day), booked (a meeting
  was confirmed by the calendar; a later move or cancellation does not undo it) and was handed off (the lead
  asked for a person or took the offer of one). Contained = conversations - handed off.
- The repository counts per (local day, channel, agent), a query per piece of the period with one offset from
  UTC (``afo_common.time_zones.offset_spans``: a day of a daylight-saving change can come in two pieces, whose
  cells add up); weeks, channels, agents and totals are sums of those cells, so every breakdown adds up to the
  totals. Every period of the range appears, empty ones as zeros.
- Reply latency is per reply, in the period the reply was made: from the lead's message accepted (its
  ``sent_at``) to the reply committed, in whole milliseconds; p50 and p95 nearest-rank over them.
- An unanswered question is recorded with the reply that did not answer it, normalised (``normalise_question``)
  so "Do you integrate with Salesforce?" and "do you integrate with salesforce" are one; most asked first."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from afo_common.percentiles import count, percentile
from afo_common.rpcs.analytics import (
    UNANSWERED_LIMIT,
    AnalyticsQuery,
    ConversationAnalytics,
    FunnelCounts,
    FunnelPeriod,
    FunnelSlice,
    Granularity,
    LatencyStats,
    UnansweredQuestion,
)

QUESTION_CHARS = 200
_NOT_WORD = re.compile(r"[^\w\s']+|(?<!\w)'|'(?!\w)")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class FunnelCell:
    """Conversations started on one UTC day on one channel with one agent, and their outcomes."""

    day: date
    channel: str
    agent_id: str
    conversations: int
    qualified: int
    booked: int
    handed_off: int


@dataclass(frozen=True)
class AskedQuestion:
    question: str
    count: int
    last_asked_at: datetime


def normalise_question(text: str | None) -> str | None:
    """The question as it is counted: Unicode-normalised, lower case, punctuation dropped (an apostrophe
    inside a word kept), whitespace collapsed, at most ``QUESTION_CHARS``; None when nothing is left."""
    if not text:
        return None
    folded = unicodedata.normalize("NFKC", text).casefold()
    words = _SPACES.sub(" ", _NOT_WORD.sub(" ", folded).replace("_", " ")).strip()
    return words[:QUESTION_CHARS].rstrip() or None


def reply_ms(received_at: datetime, replied_at: datetime) -> int:
    """Whole milliseconds from the lead's message accepted to the reply committed (never negative: the two
    times come from different processes' clocks)."""
    return max(0, round((replied_at - received_at).total_seconds() * 1000))


def period_start(day: date, granularity: Granularity) -> date:
    return day - timedelta(days=day.weekday()) if granularity == "week" else day


def periods(start: datetime, end: datetime, granularity: Granularity, zone: tzinfo = UTC) -> list[date]:
    """The first day (in ``zone``) of every period that ``[start, end)`` touches, oldest first."""
    first = start.astimezone(zone).date()
    last = (end.astimezone(zone) - timedelta(microseconds=1)).date()
    step = timedelta(days=7 if granularity == "week" else 1)
    found, current = [], period_start(first, granularity)
    while current <= last:
        found.append(current)
        current += step
    return found


def _sum(cells: Iterable[FunnelCell]) -> FunnelCounts:
    conversations = qualified = booked = handed_off = 0
    for c in cells:  # plain ints: a pydantic model's attribute set costs ~1 µs, and a year has ~10^5 cells
        conversations += c.conversations
        qualified += c.qualified
        booked += c.booked
        handed_off += c.handed_off
    return FunnelCounts(conversations=conversations, qualified=qualified, booked=booked, handed_off=handed_off)


def series(cells: Sequence[FunnelCell], query: AnalyticsQuery) -> list[FunnelPeriod]:
    by_period: dict[date, list[FunnelCell]] = {}
    for cell in cells:
        by_period.setdefault(period_start(cell.day, query.granularity), []).append(cell)
    return [FunnelPeriod(start=p, **_sum(by_period.get(p, ())).model_dump())
            for p in periods(query.start, query.end, query.granularity, query.zone)]


def slices(cells: Sequence[FunnelCell], key: Callable[[FunnelCell], str],
           label: Callable[[str], str]) -> list[FunnelSlice]:
    groups: dict[str, list[FunnelCell]] = {}
    for cell in cells:
        groups.setdefault(key(cell), []).append(cell)
    found = [FunnelSlice(key=k, label=label(k), **_sum(group).model_dump()) for k, group in groups.items()]
    return sorted(found, key=lambda s: (-s.conversations, s.key))


def latency(histogram: Sequence[tuple[float, int]]) -> LatencyStats:
    return LatencyStats(count=count(histogram), p50_ms=percentile(histogram, 0.5), p95_ms=percentile(histogram, 0.95))


def top_unanswered(asked: Iterable[AskedQuestion], limit: int = UNANSWERED_LIMIT) -> list[UnansweredQuestion]:
    """Most asked first; a tie goes to the one asked last, then to the text, so the answer is stable."""
    ranked = sorted(asked, key=lambda a: (-a.count, -a.last_asked_at.timestamp(), a.question))
    return [UnansweredQuestion(question=a.question, count=a.count, last_asked_at=a.last_asked_at)
            for a in ranked[:limit]]


def summarise(query: AnalyticsQuery, cells: Sequence[FunnelCell], reply_latencies: Sequence[tuple[float, int]],
              asked: Iterable[AskedQuestion], agent_names: Mapping[str, str]) -> ConversationAnalytics:
    return ConversationAnalytics(
        totals=_sum(cells),
        series=series(cells, query),
        by_channel=slices(cells, lambda c: c.channel, lambda k: k),
        by_agent=slices(cells, lambda c: c.agent_id, lambda k: agent_names.get(k) or k),
        reply_latency=latency(reply_latencies),
        unanswered=top_unanswered(asked),
    )
