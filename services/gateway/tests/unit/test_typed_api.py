"""The public API documents real schemas (the agent configuration, typed pages and replies) and checks an
agent configuration at the edge: these requests are answered without agent-runtime, which is not running."""

from typing import Any

import pytest

KINDS = ["email", "phone", "company", "need", "budget", "timeline", "name", "text"]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def body_schema(openapi: dict[str, Any], method: str, path: str) -> Any:
    return openapi["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]


def response_schema(openapi: dict[str, Any], method: str, path: str, status: str) -> Any:
    return openapi["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


async def test_openapi_has_the_agent_configuration_typed_pages_and_replies(gateways: Any) -> None:
    client = await gateways.client(await gateways.start())

    openapi = (await client.get("/openapi.json")).json()

    schemas = openapi["components"]["schemas"]
    assert body_schema(openapi, "post", "/v1/agents") == ref("AgentSpec")
    assert body_schema(openapi, "patch", "/v1/agents/{agent_id}") == ref("AgentPatch")
    fields = schemas["AgentSpec"]["properties"]["qualification_fields"]
    assert fields["items"] == {"anyOf": [ref("QualificationField"), {"type": "string", "enum": KINDS}]}
    assert fields["maxItems"] == 20
    assert set(schemas["QualificationField"]["required"]) == {"name", "kind"}
    assert schemas["QualificationField"]["properties"]["kind"]["enum"] == KINDS
    assert {"llm", "voice", "timezone", "goals"} <= schemas["AgentSpec"]["properties"].keys()
    assert schemas["AgentSpec"]["additionalProperties"] is False

    assert response_schema(openapi, "post", "/v1/agents", "201") == ref("AgentOut")
    assert response_schema(openapi, "get", "/v1/agents/{agent_id}", "200") == ref("AgentOut")
    agent_out = schemas["AgentOut"]["properties"]
    assert {"id", "published_version", "created_at", "updated_at", "name", "qualification_fields"} <= agent_out.keys()
    assert agent_out["qualification_fields"]["items"] == ref("QualificationField")  # answers: the long form

    for path, item in [("/v1/agents", "AgentOut"), ("/v1/agents/{agent_id}/versions", "AgentVersionOut"),
                       ("/v1/conversations", "ConversationView"), ("/v1/leads", "LeadView"),
                       ("/v1/api-keys", "KeyOut"), ("/v1/users", "UserOut"),
                       ("/v1/event-credentials", "EventCredentialOut")]:
        page = response_schema(openapi, "get", path, "200")
        assert page == ref(f"Page_{item}_"), path
        assert schemas[f"Page_{item}_"]["properties"]["data"]["items"] == ref(item), path
    assert schemas["AgentVersionOut"]["properties"]["spec"] == ref("AgentSpecOut")

    accepted = schemas["MessageAccepted"]["properties"]
    assert ref("ReplyOut") in accepted["reply"]["anyOf"] and ref("LeadView") in accepted["lead"]["anyOf"]
    assert {"message_id", "in_reply_to", "text", "citations"} <= schemas["ReplyOut"]["properties"].keys()
    assert not [name for name in schemas if name == "PageOut" or name.endswith(("-Input", "-Output"))]


@pytest.mark.parametrize(
    ("body", "location", "message"),
    [
        ({"name": "Ava", "qualification_fields": ["email", "fax"]}, ["body", "qualification_fields", 1],
         "'fax' is not a field kind"),
        ({"name": "Ava", "qualification_fields": ["email", {"name": "email", "kind": "email"}]},
         ["body", "qualification_fields"], "repeated: email"),
        ({"name": "Ava", "qualification_fields": [{"name": "size", "kind": "fax"}]},
         ["body", "qualification_fields", 0, "kind"], "'email'"),
        ({"name": "Ava", "qualification_fields": "email"}, ["body", "qualification_fields"], "valid list"),
        ({"name": "", "timezone": "Mars/Olympus"}, ["body", "name"], "at least 1 character"),
        ({"name": "Ava", "colour": "red"}, ["body", "colour"], "Extra inputs"),
        ({"name": 5}, ["body", "name"], "valid string"),
        ([], ["body"], "valid dictionary"),
    ],
)
async def test_a_bad_agent_configuration_is_a_422_problem_naming_the_field(
    gateways: Any, body: Any, location: list[Any], message: str
) -> None:
    client = await gateways.client(await gateways.start())
    owner = await gateways.sign_up(client)

    response = await client.post("/v1/agents", headers=owner.auth, json=body)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "https://afo.dev/problems/validation-error"
    errors = [e for e in problem["errors"] if e["loc"] == location]
    assert errors and message in errors[0]["msg"], problem["errors"]


@pytest.mark.parametrize(
    ("raw", "location"),
    [
        ('{"qualification_fields": ["nickname"]}', ["body", "qualification_fields", 0]),
        ('{"llm": {"provider": "openai"}}', ["body", "llm"]),
        ('{"name": ', ["body", 9]),
        ("not json", ["body", 0]),
    ],
)
async def test_a_bad_patch_is_a_422_problem(gateways: Any, raw: str, location: list[Any]) -> None:
    client = await gateways.client(await gateways.start())
    owner = await gateways.sign_up(client)

    response = await client.patch("/v1/agents/agt_x", content=raw,
                                  headers={**owner.auth, "Content-Type": "application/json"})

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["loc"] for e in response.json()["errors"]] == [location]
