"""bench/soak.py for a few seconds on the real platform (every service, its own nats-server): one tenant set up,
mixed traffic, samples taken, and every count read back complete — nothing lost, nothing twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.soak import parser, run

pytestmark = [pytest.mark.e2e]


async def test_a_short_soak_samples_every_process_and_loses_nothing(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(["--minutes", "0.1", "--rate", "4", "--tenants", "1", "--visitors", "6",
                                "--sample", "1", "--warmup", "0", "--settle", "60", "--home", str(tmp_path)])
    result = await run(args)

    printed = capsys.readouterr().out
    assert len(result.samples) >= 3
    assert set(result.samples[-1].rss_mib) == {"gateway", "agent-runtime", "voice-media", "knowledge-ingest",
                                               "workflow-executor", "notifier", "nats-server"}
    assert all(rss > 10 for rss in result.samples[-1].rss_mib.values())
    assert result.samples[-1].handled["gateway"]["http"] > 0
    replies = result.counts[0]
    assert replies.what.startswith("replies") and replies.expected >= 6
    assert [(c.what, c.lost, c.duplicated) for c in result.counts if c.lost or c.duplicated] == []
    assert "\nlost: 0 (" in printed and "; duplicated: 0" in printed
