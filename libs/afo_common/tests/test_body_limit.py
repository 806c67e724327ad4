"""The body limit answers 413 problem+json before a handler sees an oversized body, declared or chunked."""

from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from afo_common.body_limit import BodyLimit

LIMIT = 1000


async def echo_size(request: Request) -> JSONResponse:
    return JSONResponse({"size": len(await request.body())})


def client() -> httpx.AsyncClient:
    app = BodyLimit(Starlette(routes=[Route("/", echo_size, methods=["POST"])]), max_bytes=LIMIT)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def chunks(total: int) -> AsyncIterator[bytes]:
    for _ in range(total // 100):
        yield b"x" * 100


async def test_a_body_within_the_limit_reaches_the_handler() -> None:
    async with client() as api:
        response = await api.post("/", content=b"x" * LIMIT)
    assert response.status_code == 200 and response.json() == {"size": LIMIT}


async def test_a_declared_oversized_body_is_refused_as_a_problem() -> None:
    async with client() as api:
        response = await api.post("/", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 413 and str(LIMIT) in response.json()["detail"]


async def test_a_chunked_oversized_body_is_refused_while_it_arrives() -> None:
    async with client() as api:
        response = await api.post("/", content=chunks(LIMIT * 3))
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["title"] == "Payload too large"


async def test_an_exempt_route_reads_its_own_body_past_the_limit() -> None:
    def uploads(scope: dict[str, object]) -> bool:
        return scope["method"] == "POST" and scope["path"] == "/"

    app = BodyLimit(Starlette(routes=[Route("/", echo_size, methods=["POST"])]), max_bytes=LIMIT, exempt=uploads)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as api:
        declared = await api.post("/", content=b"x" * (LIMIT * 3))
        chunked = await api.post("/", content=chunks(LIMIT * 3))
    assert declared.status_code == chunked.status_code == 200
    assert declared.json() == chunked.json() == {"size": LIMIT * 3}
