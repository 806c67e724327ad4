"""Log lines as a log pipeline reads them (AFO_LOG_FORMAT=json): one JSON object each, with the trace it was
written in and the tenant it was written for."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from opentelemetry.sdk.trace import TracerProvider

from afo_common.logs import JsonFormatter, WorkContext, log_tenant, setup_logging, tenant_scope

TRACER = TracerProvider().get_tracer("test")


def record(message: str, *args: object, exc_info: bool = False) -> logging.LogRecord:
    logger = logging.getLogger("afo.test")
    made = logger.makeRecord(logger.name, logging.WARNING, __file__, 1, message, args, None)
    if exc_info:
        try:
            raise KeyError("agt_1")
        except KeyError:
            import sys

            made.exc_info = sys.exc_info()
    return made


def test_a_line_names_its_trace_span_and_tenant() -> None:
    with TRACER.start_as_current_span("consume") as span, tenant_scope("ten_a"):
        written = record("retrying %s", "evt_1")
        WorkContext().filter(written)
    line = json.loads(JsonFormatter("agent-runtime").format(written))
    context = span.get_span_context()
    assert line["message"] == "retrying evt_1" and line["level"] == "WARNING" and line["service"] == "agent-runtime"
    assert line["logger"] == "afo.test" and line["ts"].endswith("+00:00")
    assert line["trace_id"] == format(context.trace_id, "032x") and line["span_id"] == format(context.span_id, "016x")
    assert line["tenant_id"] == "ten_a"


def test_outside_any_work_a_line_has_no_trace_nor_tenant_and_an_exception_is_kept() -> None:
    with tenant_scope("ten_a"):
        pass
    written = record("failed", exc_info=True)
    WorkContext().filter(written)
    line = json.loads(JsonFormatter("gateway").format(written))
    assert "trace_id" not in line and "tenant_id" not in line
    assert "KeyError: 'agt_1'" in line["exception"]


async def test_a_requests_tenant_stays_in_its_own_task() -> None:
    async def request(tenant_id: str | None) -> str | None:
        if tenant_id is not None:
            log_tenant(tenant_id)
        await asyncio.sleep(0)
        written = record("handled")
        WorkContext().filter(written)
        return getattr(written, "tenant_id", None)

    first, second, anonymous = await asyncio.gather(request("ten_a"), request("ten_b"), request(None))
    assert (first, second, anonymous) == ("ten_a", "ten_b", None)


def test_httpx_request_lines_with_their_urls_are_not_written_at_info(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    monkeypatch.setattr(logging.getLogger("httpx"), "level", logging.NOTSET)
    setup_logging("info", "notifier", "json")

    assert root.isEnabledFor(logging.INFO)
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert logging.getLogger("httpx").isEnabledFor(logging.WARNING)
