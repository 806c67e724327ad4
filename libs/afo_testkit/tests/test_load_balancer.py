"""The load balancer in front of the gateways in chaos tests: a gone upstream is skipped, an unavailable one is
tried again elsewhere only when sending again is safe, and every write carries an Idempotency-Key."""

from __future__ import annotations

import socket

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from afo_testkit.load_balancer import LoadBalancer, balanced_client
from afo_testkit.local_server import serving

pytestmark = pytest.mark.asyncio


def upstream(name: str, statuses: list[int] | None = None) -> tuple[Starlette, list[dict[str, str]]]:
    """An app answering ``statuses`` in turn (then 200), naming itself; what it received, by headers."""
    seen: list[dict[str, str]] = []
    planned = list(statuses or [])

    async def handle(request: Request) -> Response:
        seen.append(dict(request.headers))
        status = planned.pop(0) if planned else 200
        return JSONResponse({"upstream": name}, status_code=status)

    return Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST"])]), seen


def holding_the_key(times: int) -> tuple[Starlette, list[str]]:
    """An app answering a keyed write 409 "in progress, retry in 0 s" ``times`` times, then 201; the keys it saw."""
    seen: list[str] = []

    async def handle(request: Request) -> Response:
        seen.append(request.headers.get("idempotency-key", ""))
        if len(seen) <= times:
            return JSONResponse({"type": "https://afo.dev/problems/idempotency-in-progress"}, status_code=409,
                                headers={"Retry-After": "0"})
        return JSONResponse({"id": "whk_1"}, status_code=201)

    return Starlette(routes=[Route("/{path:path}", handle, methods=["POST"])]), seen


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_requests_take_turns_and_skip_an_upstream_that_is_gone() -> None:
    first, _ = upstream("first")
    second, _ = upstream("second")
    async with serving(first) as one, serving(second) as two:
        async with balanced_client([f"http://127.0.0.1:{one}", f"http://127.0.0.1:{two}"]) as api:
            names = [(await api.get("/x")).json()["upstream"] for _ in range(4)]
        assert names == ["first", "second", "first", "second"]

        async with balanced_client([closed_port(), f"http://127.0.0.1:{two}"]) as api:
            names = [(await api.post("/x", json={})).json()["upstream"] for _ in range(3)]
            assert isinstance(api._transport, LoadBalancer)
            assert api._transport.failovers == 3  # each request's turn fell on the closed port first
        assert names == ["second"] * 3


async def test_every_write_gets_one_key_that_a_retry_elsewhere_keeps() -> None:
    busy, busy_seen = upstream("busy", [503])
    fine, fine_seen = upstream("fine")
    async with serving(busy) as one, serving(fine) as two, \
            balanced_client([f"http://127.0.0.1:{one}", f"http://127.0.0.1:{two}"]) as api:
        response = await api.post("/x", json={"a": 1})
        given = await api.post("/x", json={"a": 1}, headers={"Idempotency-Key": "mine"})
    assert response.json() == {"upstream": "fine"}
    assert busy_seen[0]["idempotency-key"] == fine_seen[0]["idempotency-key"]  # the same write, sent again
    assert given.status_code == 200
    assert busy_seen[-1]["idempotency-key"] == "mine" or fine_seen[-1]["idempotency-key"] == "mine"


async def test_an_unkeyed_post_answered_unavailable_is_not_sent_again() -> None:
    busy, busy_seen = upstream("busy", [503])
    fine, fine_seen = upstream("fine")
    async with serving(busy) as one, serving(fine) as two:
        balancer = LoadBalancer([f"http://127.0.0.1:{one}", f"http://127.0.0.1:{two}"])
        async with httpx.AsyncClient(transport=balancer, base_url="http://gateway") as api:
            response = await api.post("/x", json={})
    assert response.status_code == 503
    assert (len(busy_seen), len(fine_seen)) == (1, 0)


async def test_it_gives_up_when_no_upstream_answers() -> None:
    balancer = LoadBalancer([closed_port(), closed_port()], give_up_after_s=0.3)
    async with httpx.AsyncClient(transport=balancer, base_url="http://gateway") as api:
        with pytest.raises(httpx.ConnectError):
            await api.get("/x")
    assert balancer.failovers >= 2
    with pytest.raises(ValueError, match="at least one upstream"):
        LoadBalancer([])


async def test_a_keyed_write_whose_key_is_still_held_is_sent_again_after_the_wait_it_was_given() -> None:
    app, seen = holding_the_key(2)
    async with serving(app) as port, balanced_client([f"http://127.0.0.1:{port}"]) as api:
        response = await api.post("/v1/webhook-subscriptions", json={})
    assert response.status_code == 201
    assert len(seen) == 3 and len(set(seen)) == 1  # the same write, sent again with its key


async def test_a_write_without_a_key_answered_in_progress_is_not_sent_again() -> None:
    app, seen = holding_the_key(1)
    async with serving(app) as port:
        balancer = LoadBalancer([f"http://127.0.0.1:{port}"])
        async with httpx.AsyncClient(transport=balancer, base_url="http://gateway") as api:
            response = await api.post("/x", json={})
    assert response.status_code == 409 and len(seen) == 1
