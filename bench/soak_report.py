"""The soak's tables, as printed at the end of a run."""

from __future__ import annotations

from collections.abc import Sequence

from bench.soak_audit import Count
from bench.soak_gauges import per_hour, percentile
from bench.soak_sampler import HANDLED, Sample


def measured(samples: Sequence[Sample], warmup_s: float) -> list[Sample]:
    """The samples from the end of the warm-up on (the last one before it included: the start's baseline)."""
    before = [s for s in samples if s.at < warmup_s]
    return ([before[-1]] if before else []) + [s for s in samples if s.at >= warmup_s]


def process_table(samples: Sequence[Sample], operations: int) -> list[str]:
    start, middle, end = samples[0], samples[len(samples) // 2], samples[-1]
    lines = [f"{'process':20} {'RSS MiB start':>13} {'middle':>7} {'end':>7} {'slope MiB/h':>11} "
             f"{'fds start':>9} {'end':>5} {'CPU ms/op':>9}"]
    for name in end.rss_mib:
        series = [(s.at, s.rss_mib[name]) for s in samples if name in s.rss_mib]
        fitted = per_hour([at for at, _ in series], [rss for _, rss in series])
        cpu_ms = (end.cpu_s[name] - start.cpu_s.get(name, 0.0)) * 1000 / max(operations, 1)
        lines.append(f"{name:20} {start.rss_mib.get(name, 0.0):13.1f} {middle.rss_mib.get(name, 0.0):7.1f} "
                     f"{end.rss_mib[name]:7.1f} {fitted:11.1f} {start.fds.get(name, 0):9d} {end.fds[name]:5d} "
                     f"{cpu_ms:9.2f}")
    return lines


def lag_lines(samples: Sequence[Sample]) -> list[str]:
    lags = [s.lag for s in samples]
    worst = max(samples, key=lambda s: s.lag)
    lines = [f"consumer lag (num_pending + num_ack_pending, the largest of any durable consumer) over "
             f"{len(samples)} samples: max {worst.lag} ({worst.lag_consumer} at {worst.at:.0f} s), "
             f"p95 {percentile(lags, 95):.0f}, p50 {percentile(lags, 50):.0f}"]
    ages = {name: [s.outbox_age_s[name] for s in samples if name in s.outbox_age_s]
            for name in samples[-1].outbox_age_s}
    lines.append("outbox oldest event age, s (afo_outbox_oldest_age_seconds), max / p95: " + ", ".join(
        f"{name} {max(values):.2f} / {percentile(values, 95):.2f}" for name, values in ages.items() if values))
    return lines


def throughput_table(samples: Sequence[Sample]) -> list[str]:
    start, end = samples[0], samples[-1]
    seconds = max(end.at - start.at, 1e-9)
    lines = [f"{'service':20} {'events/s':>9} {'RPCs/s':>8} {'HTTP req/s':>10} {'total/s':>8}"]
    for name, handled in end.handled.items():
        before = start.handled.get(name, dict.fromkeys(HANDLED, 0.0))
        rates = {key: (handled[key] - before[key]) / seconds for key in HANDLED}
        lines.append(f"{name:20} {rates['events']:9.1f} {rates['rpcs']:8.1f} {rates['http']:10.1f} "
                     f"{sum(rates.values()):8.1f}")
    return lines


def counts_table(counts: Sequence[Count]) -> list[str]:
    lines = [f"{'what':62} {'expected':>8} {'done':>6} {'lost':>5} {'dup':>4}  note"]
    lines += [f"{c.what:62} {c.expected:8d} {c.done:6d} {c.lost:5d} {c.duplicated:4d}  {c.note}" for c in counts]
    lost, duplicated = sum(c.lost for c in counts), sum(c.duplicated for c in counts)
    detail = ", ".join(f"{c.what.split(' (')[0]} {c.lost}" for c in counts)
    lines.append(f"lost: {lost} ({detail}); duplicated: {duplicated}")
    return lines


def spread(values: Sequence[float]) -> str:
    if not values:
        return f"{'-':>6} {'-':>6} {'-':>6}"
    return f"{percentile(values, 50):6.2f} {percentile(values, 95):6.2f} {max(values):6.2f}"


def recovery_table(rows: Sequence[tuple[str, int, list[float], list[float], list[float], str]]) -> list[str]:
    """Per service: kills, then p50 / p95 / max seconds of kill → ready again, kill → first answered message sent
    after the kill, and kill → the service's own work done again (what that is, last)."""
    lines = [f"{'killed':18} {'kills':>5}  {'ready again p50/p95/max s':>26}  {'first answer p50/p95/max s':>27}  "
             f"{'own work p50/p95/max s':>23}  own work"]
    for name, kills, ready, answered, own, what in rows:
        lines.append(f"{name:18} {kills:5d}  {spread(ready):>26}  {spread(answered):>27}  {spread(own):>23}  {what}")
    return lines
