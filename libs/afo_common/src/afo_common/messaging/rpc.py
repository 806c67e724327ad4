"""Request/reply between services on ``afo.rpc.<service>.<operation>``: typed requests and responses,
a timeout, and typed error replies that the caller raises as ``RpcError``.

The caller's deadline travels with the request (``DEADLINE_HEADER``): an owner does not start a request whose
caller has given up, nor send an answer nobody waits for. An owner that fell behind (overloaded, or restarted
under a queue of requests) would otherwise work through requests whose callers have long answered 504, delaying
the ones still awaited."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import nats.errors
from nats.aio.msg import Msg
from pydantic import BaseModel, ConfigDict, ValidationError

from afo_common.logs import tenant_scope
from afo_common.messaging.connection import NatsConnection, NotConnected
from afo_common.subjects import rpc_subject
from afo_common.telemetry import RPC_REQUESTS, RPC_SECONDS, current_traceparent, span_from

log = logging.getLogger(__name__)

ErrorCode = Literal["invalid", "not_found", "conflict", "forbidden", "unavailable", "timeout", "internal"]


class RpcError(Exception):
    def __init__(self, code: ErrorCode, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code: ErrorCode = code
        self.message = message
        self.details = details or []


class ErrorBody(BaseModel):
    code: ErrorCode
    message: str
    details: list[dict[str, Any]] = []


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ok: bool
    result: dict[str, Any] | None = None
    error: ErrorBody | None = None


class TenantRequest(BaseModel):
    """Base of every RPC request: the owner scopes everything it does to this tenant."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: str


# The moment the caller stops waiting, as Unix time in seconds ("1733330000.250"): wall-clock time, since the
# caller and the owner can be on different machines.
DEADLINE_HEADER = "afo-deadline"
# How far past its deadline an owner still takes a request: the clocks of two machines differ by a little (NTP keeps
# them within milliseconds), and a request dropped early is a timeout the caller would not otherwise have had.
CLOCK_SKEW_S = 0.5

# How long a request waits, in turn, before asking again when nats-server reports no responders (``_request``).
NO_RESPONDERS_PAUSES_S = (0.005, 0.01, 0.02, 0.04)

Req = TypeVar("Req", bound=BaseModel)
Res = TypeVar("Res", bound=BaseModel)


@dataclass(frozen=True)
class RpcOperation(Generic[Req, Res]):
    service: str
    name: str
    request: type[Req]
    response: type[Res]

    @property
    def subject(self) -> str:
        return rpc_subject(self.service, self.name)


class RpcClient:
    def __init__(self, nats: NatsConnection, timeout_s: float = 5.0) -> None:
        self._nats = nats
        self._timeout_s = timeout_s

    async def call(self, op: RpcOperation[Req, Res], request: Req, timeout_s: float | None = None) -> Res:
        """The owner's answer, or RpcError with a typed code: every way the transport can fail is
        ``unavailable`` or ``timeout`` (retryable, a 503/504 at the edge), never an untyped exception."""
        timeout_s = timeout_s or self._timeout_s
        headers = {DEADLINE_HEADER: f"{time.time() + timeout_s:.3f}"}
        if tp := current_traceparent():
            headers["traceparent"] = tp
        payload = request.model_dump_json().encode()
        try:
            msg = await self._request(op, payload, timeout_s, headers)
        except nats.errors.NoRespondersError as exc:
            raise RpcError("unavailable", f"no {op.service} instance is answering") from exc
        except nats.errors.TimeoutError as exc:
            raise RpcError("timeout", f"{op.service} did not answer {op.name} in time") from exc
        except (nats.errors.Error, NotConnected, OSError) as exc:
            raise RpcError("unavailable", f"NATS could not carry {op.name}: {type(exc).__name__}") from exc
        try:
            reply = Reply.model_validate_json(msg.data)
            if reply.ok:
                return op.response.model_validate(reply.result or {})
        except ValidationError as exc:
            log.error("malformed %s reply from %s: %s", op.name, op.service, exc.errors(include_input=False)[:3])
            raise RpcError("unavailable", f"{op.service} sent a malformed reply to {op.name}") from exc
        error = reply.error or ErrorBody(code="internal", message="error reply without a body")
        raise RpcError(error.code, error.message, error.details)


    async def _request(self, op: RpcOperation[Req, Res], payload: bytes, timeout_s: float,
                       headers: dict[str, str]) -> Msg:
        """Asked again, briefly, when nobody answers: nats-server can report no responders for a couple of
        milliseconds after a subscription it has acknowledged (measured: 3 to 4 requests in 100 sent right after
        a new subscriber's flush, each answered within 4 ms), which is when an owner has just started or
        restarted. A service that is really down is still ``unavailable`` within ``NO_RESPONDERS_PAUSES_S``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        pauses = iter(NO_RESPONDERS_PAUSES_S)
        while True:
            try:
                return await self._nats.client.request(op.subject, payload, timeout=max(0.001, deadline - loop.time()),
                                                       headers=headers)
            except nats.errors.NoRespondersError:
                pause = next(pauses, None)
                if pause is None or loop.time() + pause >= deadline:
                    raise
                await asyncio.sleep(pause)


def encode_result(result: BaseModel) -> bytes:
    return Reply(ok=True, result=result.model_dump(mode="json")).model_dump_json().encode()


def encode_error(code: ErrorCode, message: str, details: list[dict[str, Any]] | None = None) -> bytes:
    body = ErrorBody(code=code, message=message, details=details or [])
    return Reply(ok=False, error=body).model_dump_json().encode()


def _given_up_s(headers: dict[str, str]) -> float | None:
    """How long ago the caller gave up, when it has (beyond ``CLOCK_SKEW_S``); None while it still waits, or when
    the request says nothing readable about its deadline (a caller of an older version, a hand-made request)."""
    try:
        late_s = time.time() - float(headers[DEADLINE_HEADER])
    except (KeyError, ValueError):
        return None
    return late_s if late_s > CLOCK_SKEW_S else None


async def serve_request(
    op: RpcOperation[Req, Res],
    handler: Callable[[Req], Awaitable[Res]],
    data: bytes,
    headers: dict[str, str],
    service: str,
) -> bytes | None:
    """Validate, call the owner's handler, and encode its result or its typed error; None, for no answer, when the
    caller gave up before the handler started or before it finished."""
    if (late_s := _given_up_s(headers)) is not None:
        RPC_REQUESTS.labels(service, op.name, "expired").inc()
        log.warning("rpc %s not handled: its caller gave up %.1f s ago", op.name, late_s)
        return None
    started = time.perf_counter()
    outcome = "ok"
    reply: bytes | None
    with span_from(headers.get("traceparent"), f"rpc {op.name}"):
        try:
            request = op.request.model_validate_json(data)
            with tenant_scope(getattr(request, "tenant_id", None)):
                reply = encode_result(await handler(request))
        except ValidationError as exc:
            outcome = "invalid"
            details = [
                {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()[:20]
            ]
            reply = encode_error("invalid", "request does not match the schema", details)
        except RpcError as exc:
            outcome = exc.code
            reply = encode_error(exc.code, exc.message, exc.details)
        except Exception:
            outcome = "internal"
            log.exception("rpc %s failed", op.subject)
            reply = encode_error("internal", "the service failed to handle the request")
    if (late_s := _given_up_s(headers)) is not None:
        log.warning("rpc %s handled (%s) but not answered: its caller gave up %.1f s ago", op.name, outcome, late_s)
        outcome, reply = "expired", None
    RPC_REQUESTS.labels(service, op.name, outcome).inc()
    RPC_SECONDS.labels(service, op.name).observe(time.perf_counter() - started)
    return reply


RpcHandler = Callable[[Any], Awaitable[Any]]
RpcRoute = tuple[RpcOperation[Any, Any], RpcHandler]


def check_routes(service: str, operations: Sequence[RpcOperation[Any, Any]], routes: Sequence[RpcRoute]) -> None:
    """Refuse to start a service whose contract has an operation it has no handler for."""
    missing = {op.name for op in operations} - {op.name for op, _ in routes}
    if missing:
        raise RuntimeError(f"{service} serves no handler for {sorted(missing)}")
