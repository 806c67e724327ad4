"""`Retry-After` in both of its forms (RFC 9110 §10.2.3): delay seconds, or an HTTP date."""

from __future__ import annotations

from datetime import UTC, datetime

from afo_common.provider_http import retry_after_seconds

NOW = datetime(2026, 6, 1, 9, 0, 0, tzinfo=UTC)


def test_seconds_and_dates() -> None:
    assert retry_after_seconds("7", NOW) == 7.0
    assert retry_after_seconds("Mon, 01 Jun 2026 09:00:30 GMT", NOW) == 30.0
    assert retry_after_seconds("Mon, 01 Jun 2026 08:59:00 GMT", NOW) == 0.0  # already past: no wait
    assert retry_after_seconds(None, NOW) is None and retry_after_seconds("soon", NOW) is None
