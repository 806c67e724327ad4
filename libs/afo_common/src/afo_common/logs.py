"""Every service's log lines: readable text by default (``afo up`` in a terminal), one JSON object per line with
``AFO_LOG_FORMAT=json`` (what a log pipeline ingests; the Kubernetes manifests set it).

A JSON line carries the time, level, service, logger and message, the trace and span ids of the work it was
written in (so a line leads to its trace, and from an event's ``traceparent`` to the lines of every service that
handled it), the tenant whose event or request it was written for (``tenant_scope``), and the exception's
traceback when there is one. What goes in the message is the caller's choice: services log ids, never message
text or secrets, at INFO and above."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal

from opentelemetry import trace

LogFormat = Literal["text", "json"]

_tenant: ContextVar[str | None] = ContextVar("afo_log_tenant", default=None)


@contextmanager
def tenant_scope(tenant_id: str | None) -> Iterator[None]:
    """Lines logged inside name ``tenant_id`` (an event's tenant, an authenticated request's)."""
    token = _tenant.set(tenant_id)
    try:
        yield
    finally:
        _tenant.reset(token)


def log_tenant(tenant_id: str) -> None:
    """Lines logged from here to the end of the current task name ``tenant_id``: an authenticated HTTP request
    (each runs in a task of its own, so it goes no further)."""
    _tenant.set(tenant_id)


class WorkContext(logging.Filter):
    """Stamps a record, as it is emitted (in the task that logs it), with its trace, span and tenant: a handler
    that formats later, elsewhere, still writes them."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        if (tenant_id := _tenant.get()) is not None:
            record.tenant_id = tenant_id
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("trace_id", "span_id", "tenant_id"):
            if (value := getattr(record, name, None)) is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def setup_logging(level: str, service: str, log_format: LogFormat = "text") -> None:
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.addFilter(WorkContext())
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    # httpx writes every request's whole URL at INFO: a webhook endpoint's token or a provider's key can be in its
    # query, a lead's email in a calendar's path. Requests to providers are spans instead (telemetry.provider_span).
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().getEffectiveLevel()))
