"""The OpenAPI document states what the gateway really answers: how each operation authenticates, and every error
it can answer as the problem+json it is; a 405 names every method of the resource. Each of these was found by
schemathesis (tests/e2e/test_openapi_fuzz.py) answering otherwise than documented."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Body, FastAPI, Path
from pydantic import BaseModel

from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal
from afo_gateway.entrypoints.http.openapi import install_openapi, problem_responses
from afo_gateway.entrypoints.http.problems import PROBLEM_JSON, install_problem_handlers
from afo_testkit.problems import assert_problem

PROBLEM = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


class Thing(BaseModel):
    name: str


def tiny_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_openapi(app)
    router = APIRouter(prefix="/v1/things")

    @router.get("")
    async def list_things() -> list[Thing]:
        return []

    @router.post("", status_code=201)
    async def create_thing(body: Annotated[Thing, Body()], principal: CurrentPrincipal) -> Thing:
        return body

    @router.get("/{thing_id}")
    async def get_thing(thing_id: Annotated[str, Path(max_length=64)], principal: CurrentPrincipal) -> Thing:
        return Thing(name=thing_id)

    @router.delete("/{thing_id}", status_code=204, responses=problem_responses(409))
    async def delete_thing(thing_id: str, principal: CurrentPrincipal) -> None:
        return None

    @router.post("/sorted")
    async def sort_things(principal: CurrentPrincipal) -> list[Thing]:
        return []

    app.include_router(router)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=tiny_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        yield http


def responses(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return document["paths"][path][method]["responses"]  # type: ignore[no-any-return]


async def test_errors_are_documented_as_problems_by_what_each_operation_takes(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()

    listed = responses(document, "get", "/v1/things")
    created = responses(document, "post", "/v1/things")
    deleted = responses(document, "delete", "/v1/things/{thing_id}")

    assert set(listed) == {"200"}  # no parameter, no key: nothing to refuse
    assert set(created) == {"201", "400", "401", "403", "404", "409", "413", "422", "429", "502", "503", "504"}
    assert all(created[status]["content"] == PROBLEM for status in created if status != "201")
    assert deleted["409"]["content"] == PROBLEM and deleted["409"]["description"]
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail"}
    assert schemas["Problem"]["additionalProperties"] is True


async def test_operations_that_take_a_key_or_session_say_so(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()

    schemes = document["components"]["securitySchemes"]
    assert schemes["key"] == {"type": "http", "scheme": "bearer", "description": schemes["key"]["description"]}
    assert (schemes["session"]["in"], schemes["session"]["name"]) == ("cookie", "afo_session")
    assert document["paths"]["/v1/things"]["post"]["security"] == [{"key": []}, {"session": []}]
    assert "security" not in document["paths"]["/v1/things"]["get"]


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PUT", "/v1/things", "GET, POST"),
    ("PATCH", "/v1/things/t1", "DELETE, GET"),
    # Also a thing with the id "sorted" by the template with a parameter: the path names the action.
    ("PATCH", "/v1/things/sorted", "POST"),
])
async def test_a_method_not_allowed_names_every_method_of_the_resource(
        client: httpx.AsyncClient, method: str, path: str, allowed: str) -> None:
    response = await client.request(method, path)

    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == allowed


async def test_the_gateways_document_states_every_problem_it_answers(gateways: Any) -> None:
    document = (await (await gateways.client(await gateways.start())).get("/openapi.json")).json()

    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert response.get("content") == PROBLEM, (method, path, status)
            if "security" in operation:
                assert {"401", "403", "429"} <= operation["responses"].keys(), (method, path)
    declared = {("post", "/v1/signup"): {"409", "429"}, ("post", "/v1/login"): {"401", "429"},
                ("post", "/twilio/sms"): {"403", "404", "422"}, ("post", "/twilio/status"): {"403", "404"},
                ("post", "/v1/inbound/{source_id}"): {"401", "404", "415"},
                ("get", "/v1/integrations/google/callback"): {"400", "502"},
                ("post", "/v1/integrations/{provider}/test"): {"501"}, ("post", "/v1/agents"): {"402"},
                ("post", "/v1/knowledge-bases/{knowledge_base_id}/documents"): {"402", "413", "415"}}
    for (method, path), statuses in declared.items():
        assert statuses <= document["paths"][path][method]["responses"].keys(), (method, path)
    assert "401" not in document["paths"]["/v1/signup"]["post"]["responses"]
    # ?wait=true answers 200 with the reply; without it (or too late) 202.
    posted = document["paths"]["/v1/conversations/{conversation_id}/messages"]["post"]["responses"]
    assert posted["200"]["content"] == posted["202"]["content"]


async def test_a_time_that_is_not_iso_8601_is_refused_not_read_as_seconds_since_1970(gateways: Any) -> None:
    client = await gateways.client(await gateways.start())
    owner = await gateways.sign_up(client)

    for path in ("/v1/audit", "/v1/audit/export"):
        refused = assert_problem(await client.get(path, params={"until": "0.5"}, headers=owner.auth), 422)
        assert refused["errors"][0]["loc"] == ["query", "until"], refused
        assert_problem(await client.get(path, params={"since": "1700000000"}, headers=owner.auth), 422)
        assert (await client.get(path, params={"since": "2026-01-01T00:00:00Z"}, headers=owner.auth)).status_code == 200


@pytest.mark.parametrize("body", [{"query": "price", "top_k": True}, {"query": "price", "top_k": "5"}])
async def test_a_search_with_a_count_that_is_not_a_number_is_refused_at_the_edge(gateways: Any, body: Any) -> None:
    client = await gateways.client(await gateways.start())
    owner = await gateways.sign_up(client)

    refused = assert_problem(await client.post("/v1/knowledge-bases/kb_1/search", json=body, headers=owner.auth), 422)

    assert refused["errors"][0]["loc"] == ["body", "top_k"], refused
