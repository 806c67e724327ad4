"""Every error the public API returns is RFC 9457 problem+json, mapped in one place."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field

from afo_gateway.domain.errors import (
    ApiProblem,
    Conflict,
    Forbidden,
    IdempotencyInProgress,
    Invalid,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    UpstreamFailure,
    UpstreamTimeout,
)
from afo_gateway.entrypoints.http.problems import PROBLEM_JSON, install_problem_handlers

SECRET_DETAIL = "password=hunter2 at postgresql://db.internal"


class Body(BaseModel):
    text: str = Field(min_length=1)
    count: int


def tiny_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    problems: dict[str, type[ApiProblem]] = {
        "unauthorized": Unauthorized, "forbidden": Forbidden, "not-found": NotFound, "conflict": Conflict,
        "invalid": Invalid, "unavailable": Unavailable, "timeout": UpstreamTimeout,
        "upstream": UpstreamFailure, "plain": ApiProblem,
    }

    @app.get("/raise/{name}")
    async def raise_problem(name: str) -> None:
        errors = [{"loc": ["body", "x"], "msg": "bad x"}] if name == "invalid" else None
        raise problems[name](f"{name} happened", errors)

    @app.post("/things")
    async def create(body: Body) -> dict[str, str]:
        return {"text": body.text}

    @app.get("/busy/{name}")
    async def busy(name: str) -> None:
        raise (TooManyRequests if name == "rate-limited" else IdempotencyInProgress)(f"{name} now", 7)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError(SECRET_DETAIL)

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    # The catch-all handler answers 500 and Starlette then re-raises for the server to log; the transport
    # must not turn that into an exception in the test, as a real server does not.
    transport = httpx.ASGITransport(app=tiny_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        yield http


@pytest.mark.parametrize(
    ("name", "status", "slug", "title"),
    [
        ("unauthorized", 401, "unauthorized", "Authentication required"),
        ("forbidden", 403, "forbidden", "Not allowed"),
        ("not-found", 404, "not-found", "Not found"),
        ("conflict", 409, "conflict", "Conflict"),
        ("invalid", 422, "validation-error", "Invalid request"),
        ("upstream", 502, "upstream-failure", "A platform service failed"),
        ("unavailable", 503, "unavailable", "Service unavailable"),
        ("timeout", 504, "timeout", "Timed out"),
        ("plain", 400, "bad-request", "Bad request"),
    ],
)
async def test_an_api_problem_answers_its_own_status(client: httpx.AsyncClient, name: str, status: int, slug: str,
                                                     title: str) -> None:
    response = await client.get(f"/raise/{name}")

    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"] == f"https://afo.dev/problems/{slug}"
    assert body["title"] == title
    assert body["status"] == status
    assert body["detail"] == f"{name} happened"
    assert body["instance"] == f"/raise/{name}"
    if name == "invalid":
        assert body["errors"] == [{"loc": ["body", "x"], "msg": "bad x"}]
    else:
        assert "errors" not in body


async def test_a_body_that_does_not_match_the_schema_is_422_with_every_error(client: httpx.AsyncClient) -> None:
    response = await client.post("/things", json={"text": "", "count": "many"})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"] == "https://afo.dev/problems/validation-error"
    assert body["status"] == 422
    assert body["instance"] == "/things"
    by_field = {tuple(error["loc"]): error for error in body["errors"]}
    assert set(by_field) == {("body", "text"), ("body", "count")}
    assert all(set(error) == {"loc", "msg", "type"} for error in body["errors"])
    assert by_field[("body", "text")]["type"] == "string_too_short"
    assert by_field[("body", "count")]["type"] == "int_parsing"


async def test_malformed_json_is_a_422_problem(client: httpx.AsyncClient) -> None:
    response = await client.post("/things", content=b"{not json", headers={"content-type": "application/json"})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["errors"][0]["type"] == "json_invalid"


async def test_an_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["title"] == "Not found"
    assert response.json()["type"] == "https://afo.dev/problems/not-found"


async def test_a_wrong_method_is_a_405_problem(client: httpx.AsyncClient) -> None:
    response = await client.delete("/things")

    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["title"] == "Method not allowed"


async def test_an_unexpected_exception_is_a_500_problem_that_leaks_nothing(client: httpx.AsyncClient,
                                                                           caplog: pytest.LogCaptureFixture) -> None:
    response = await client.get("/boom")

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body == {
        "type": "https://afo.dev/problems/internal-error",
        "title": "Internal error",
        "status": 500,
        "detail": "the gateway failed to handle the request",
        "instance": "/boom",
    }
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    # The operator still learns what happened, from the log.
    logged = [r for r in caplog.records if r.getMessage() == "unhandled error on GET /boom"]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert str(logged[0].exc_info[1]) == SECRET_DETAIL


@pytest.mark.parametrize(("name", "status"), [("rate-limited", 429), ("idempotency-in-progress", 409)])
async def test_a_problem_that_says_when_to_retry_carries_retry_after(client: httpx.AsyncClient, name: str,
                                                                     status: int) -> None:
    response = await client.get(f"/busy/{name}")

    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["retry-after"] == "7"
    assert response.json()["type"] == f"https://afo.dev/problems/{name}"
    assert response.json()["detail"] == f"{name} now"
