"""The analytics page's numbers as the public API gives them: the period asked for, read; the owners' answers
(agent-runtime's funnel, containment, reply latency and unanswered questions; voice-media's calls and voice
latency) merged into one summary; its funnel series as CSV. The gateway computes no number of its own beyond
the rates of the counts it was given.

The period: ``from`` and ``to`` are dates (``2026-03-02``; ``to`` is then included whole) or datetimes with an
offset or ``Z`` (``to`` is then the exclusive end), read in the period's time zone (``tz``, the tenant's unless
asked otherwise): a date is that zone's day, a datetime without an offset that zone's time. Left out, ``to`` is
today there and ``from`` 29 days before ``to`` (30 days in all). ``from`` must come before ``to`` and the period
last at most 366 days; the days and weeks of the series are the zone's too."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from pydantic import BaseModel

from afo_common.events.conversation import Channel
from afo_common.rpcs.analytics import (
    MAX_RANGE_DAYS,
    AnalyticsQuery,
    ComponentLatency,
    ConversationAnalytics,
    FunnelCounts,
    FunnelPeriod,
    FunnelSlice,
    Granularity,
    LatencyStats,
    UnansweredQuestion,
    VoiceAnalytics,
)
from afo_gateway.domain.errors import Invalid

DEFAULT_DAYS = 30
CSV_COLUMNS = ("period_start", "conversations", "qualified", "booked", "handed_off", "contained", "qualified_rate",
               "booked_rate", "containment_rate")


def _moment(name: str, value: str, zone: tzinfo, *, end: bool) -> datetime:
    """A bound of the period; a date ``to`` means the end of that day (the next midnight)."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return _midnight(day + timedelta(days=1 if end else 0), zone)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid(name, f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 datetime") from None
    return (moment.replace(tzinfo=zone) if moment.tzinfo is None else moment).astimezone(UTC)


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


def _invalid(name: str, message: str) -> Invalid:
    return Invalid(message, [{"loc": ["query", name], "msg": message, "type": "value_error"}])


def period(start: str | None, end: str | None, now: datetime, zone: tzinfo = UTC) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC from the ``from`` and ``to`` asked for, read in ``zone``; Invalid (a 422 naming the
    parameter) when one is unreadable, the period is empty or backwards, or longer than 366 days."""
    today = now.astimezone(zone).date()
    until = _moment("to", end, zone, end=True) if end else _midnight(today + timedelta(days=1), zone)
    since = (_moment("from", start, zone, end=False) if start
             else _midnight(until.astimezone(zone).date() - timedelta(days=DEFAULT_DAYS), zone))
    if since >= until:
        raise _invalid("from", "from must come before to")
    if until - since > timedelta(days=MAX_RANGE_DAYS):
        raise _invalid("to", f"the period is at most {MAX_RANGE_DAYS} days")
    return since, until


class Period(BaseModel):
    start: datetime  # inclusive
    end: datetime  # exclusive
    granularity: Granularity
    time_zone: str  # whose days and weeks the series counts


class Filters(BaseModel):
    agent_id: str | None = None
    channel: Channel | None = None


class Rates(BaseModel):
    """Shares of the conversations (None without any)."""

    qualified: float | None = None
    booked: float | None = None


class Funnel(BaseModel):
    totals: FunnelCounts
    rates: Rates
    series: list[FunnelPeriod]
    by_channel: list[FunnelSlice]
    by_agent: list[FunnelSlice]


class Containment(BaseModel):
    """Conversations the agent carried to the end without handing off to a person."""

    conversations: int
    handed_off: int
    contained: int
    rate: float | None = None


class Latency(BaseModel):
    reply: LatencyStats  # the lead's message accepted → the agent's reply committed (agent-runtime)
    voice: list[ComponentLatency]  # each turn's steps from the end of the caller's speech (voice-media)


class CallCounts(BaseModel):
    calls: int
    turns: int


class AnalyticsSummary(BaseModel):
    period: Period
    filters: Filters
    funnel: Funnel
    containment: Containment
    latency: Latency
    calls: CallCounts | None  # None when voice-media did not answer (see ``unavailable``)
    unanswered_questions: list[UnansweredQuestion]
    # Services that did not answer in time: their numbers are missing, the rest stand.
    unavailable: list[str] = []


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def merge(query: AnalyticsQuery, conversations: ConversationAnalytics, voice: VoiceAnalytics | None
          ) -> AnalyticsSummary:
    totals = conversations.totals
    contained = totals.conversations - totals.handed_off
    return AnalyticsSummary(
        period=Period(start=query.start.astimezone(query.zone), end=query.end.astimezone(query.zone),
                      granularity=query.granularity, time_zone=query.time_zone),
        filters=Filters(agent_id=query.agent_id, channel=query.channel),
        funnel=Funnel(totals=totals, rates=Rates(qualified=_share(totals.qualified, totals.conversations),
                                                 booked=_share(totals.booked, totals.conversations)),
                      series=conversations.series, by_channel=conversations.by_channel,
                      by_agent=conversations.by_agent),
        containment=Containment(conversations=totals.conversations, handed_off=totals.handed_off,
                                contained=contained, rate=_share(contained, totals.conversations)),
        latency=Latency(reply=conversations.reply_latency, voice=voice.latency if voice else []),
        calls=CallCounts(calls=voice.calls, turns=voice.turns) if voice else None,
        unanswered_questions=conversations.unanswered,
        unavailable=[] if voice else ["voice-media"],
    )


def funnel_csv(summary: AnalyticsSummary) -> str:
    """One row per period (oldest first): the counts, then the rates as fractions (empty without conversations)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for p in summary.funnel.series:
        contained = p.conversations - p.handed_off
        rates = (_share(p.qualified, p.conversations), _share(p.booked, p.conversations),
                 _share(contained, p.conversations))
        writer.writerow([p.start.isoformat(), p.conversations, p.qualified, p.booked, p.handed_off, contained,
                         *("" if r is None else r for r in rates)])
    return out.getvalue()


def csv_filename(summary: AnalyticsSummary) -> str:
    last = (summary.period.end - timedelta(microseconds=1)).date()
    return f"afo-funnel-{summary.period.start.date().isoformat()}-{last.isoformat()}.csv"
