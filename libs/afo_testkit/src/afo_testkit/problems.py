"""What every test of an HTTP error checks: an RFC 9457 problem with the status, and its type when given."""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM_TYPES = "https://afo.dev/problems/"


def assert_problem(response: httpx.Response, status: int, slug: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= problem.keys()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    if slug is not None:
        assert problem["type"] == PROBLEM_TYPES + slug
    return problem
