"""Knowledge bases, their documents and search over HTTP, forwarded to knowledge-ingest's RPCs; agents that
name knowledge bases are checked against them first."""

from datetime import UTC, datetime
from typing import Any

from nats.aio.msg import Msg

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import encode_result
from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs import knowledge_ingest as ki
from afo_testkit.problems import assert_problem

PDF = b"%PDF-1.4\n%%EOF\n"



async def test_knowledge_bases_are_created_listed_changed_and_deleted(kb: Any) -> None:
    await kb.start()
    tenant = await kb.tenant()
    client, auth = tenant.client, tenant.auth

    made = await client.post("/v1/knowledge-bases", headers=auth, json={
        "name": "Docs", "description": "product docs", "embedding": {"provider": "embedded"}})
    listed = await client.get("/v1/knowledge-bases", headers=auth)
    renamed = await client.patch(f"/v1/knowledge-bases/{made.json()['id']}", headers=auth, json={"name": "Manual"})
    gone = await client.delete(f"/v1/knowledge-bases/{made.json()['id']}", headers=auth)
    after = await client.get(f"/v1/knowledge-bases/{made.json()['id']}", headers=auth)

    assert made.status_code == 201, made.text
    assert made.json()["embedding"] == {"provider": "embedded", "model": ki.EMBEDDED_MODEL}
    assert listed.status_code == 200 and {kb["name"] for kb in listed.json()["data"]} == {"FAQ", "Docs"}
    assert listed.json()["next_cursor"] is None
    assert renamed.status_code == 200 and renamed.json()["name"] == "Manual"
    assert gone.status_code == 204 and not gone.content
    assert_problem(after, 404, "not-found")
    create = kb.ki.called(ki.CREATE_KNOWLEDGE_BASE)[-1]
    assert create.tenant_id == tenant.tenant_id and create.request_id.startswith("req_")


async def test_a_knowledge_base_body_is_checked_at_the_edge(kb: Any) -> None:
    await kb.start()
    tenant = await kb.tenant()

    response = await tenant.client.post("/v1/knowledge-bases", headers=tenant.auth,
                                        json={"name": "", "embedding": {"provider": "cohere"}})

    problem = assert_problem(response, 422, "validation-error")
    assert {tuple(e["loc"][:2]) for e in problem["errors"]} == {("body", "name"), ("body", "embedding")}


async def test_another_tenants_knowledge_base_is_not_found_anywhere(kb: Any) -> None:
    await kb.start()
    ours, theirs = await kb.tenant(), await kb.tenant()
    base = f"/v1/knowledge-bases/{theirs.kb_id}"

    for response in [await ours.client.get(base, headers=ours.auth),
                     await ours.client.patch(base, headers=ours.auth, json={"name": "mine"}),
                     await ours.client.delete(base, headers=ours.auth),
                     await ours.client.get(f"{base}/documents", headers=ours.auth),
                     await ours.client.post(f"{base}/search", headers=ours.auth, json={"query": "price"})]:
        assert_problem(response, 404, "not-found")
    assert theirs.kb_id in kb.ki.bases and kb.ki.bases[theirs.kb_id][1].name == "FAQ"
    assert [b["id"] for b in (await ours.client.get("/v1/knowledge-bases", headers=ours.auth)).json()["data"]] \
        == [ours.kb_id]


async def test_documents_are_listed_by_status_read_and_deleted(kb: Any) -> None:
    await kb.start()
    tenant = await kb.tenant()
    base = f"/v1/knowledge-bases/{tenant.kb_id}/documents"
    doc = (await tenant.client.post(base, headers=tenant.auth,
                                    files={"file": ("a.pdf", PDF, "application/pdf")})).json()

    queued = await tenant.client.get(base, headers=tenant.auth, params={"status": "queued"})
    ready = await tenant.client.get(base, headers=tenant.auth, params={"status": "ready"})
    bad = await tenant.client.get(base, headers=tenant.auth, params={"status": "done"})
    one = await tenant.client.get(f"{base}/{doc['id']}", headers=tenant.auth)
    deleted = await tenant.client.delete(f"{base}/{doc['id']}", headers=tenant.auth)
    after = await tenant.client.get(f"{base}/{doc['id']}", headers=tenant.auth)

    assert [d["id"] for d in queued.json()["data"]] == [doc["id"]] and ready.json()["data"] == []
    assert_problem(bad, 422, "validation-error")
    assert one.status_code == 200
    assert {"status", "progress", "chunks_done", "chunks_total", "error"} <= one.json().keys()
    assert deleted.status_code == 204
    assert_problem(after, 404, "not-found")


async def test_search_is_forwarded_and_answers_hits(kb: Any) -> None:
    await kb.start()
    tenant = await kb.tenant()
    kb.ki.hits = [ki.SearchHit(chunk_id="chk_1", document_id="doc_1", knowledge_base_id=tenant.kb_id,
                               text="Plans start at $20 a seat.", score=0.033, relevance=0.71,
                               source=ki.HitSource(title="Pricing", page=2, heading="Plans"))]

    response = await tenant.client.post(f"/v1/knowledge-bases/{tenant.kb_id}/search", headers=tenant.auth,
                                        json={"query": "how much is it?", "top_k": 3, "mode": "dense"})

    assert response.status_code == 200, response.text
    [hit] = response.json()["hits"]
    assert hit["chunk_id"] == "chk_1" and hit["relevance"] == 0.71 and hit["score"] == 0.033
    assert hit["source"] == {"title": "Pricing", "page": 2, "heading": "Plans"}
    [search] = kb.ki.called(ki.SEARCH)
    assert (search.knowledge_base_ids, search.query, search.top_k, search.mode) == (
        [tenant.kb_id], "how much is it?", 3, "dense")
    too_many = await tenant.client.post(f"/v1/knowledge-bases/{tenant.kb_id}/search", headers=tenant.auth,
                                        json={"query": "x", "top_k": 500})
    assert_problem(too_many, 422, "validation-error")


async def agent_runtime(connection: NatsConnection) -> list[dict[str, Any]]:
    """agent-runtime's create and update, answering with what it was sent."""
    specs: list[dict[str, Any]] = []
    now = datetime.now(UTC)

    async def create(msg: Msg) -> None:
        request = ar.CreateAgent.model_validate_json(msg.data)
        specs.append(request.spec)
        await msg.respond(encode_result(ar.AgentView(id="agt_1", spec=request.spec, published_version=None,
                                                     created_at=now, updated_at=now)))

    async def update(msg: Msg) -> None:
        request = ar.UpdateAgent.model_validate_json(msg.data)
        spec = {"name": "Ava", **request.patch.model_dump(mode="json")}
        specs.append(spec)
        await msg.respond(encode_result(ar.AgentView(id="agt_1", spec=spec, published_version=None,
                                                     created_at=now, updated_at=now)))

    await connection.client.subscribe(ar.CREATE_AGENT.subject, cb=create)
    await connection.client.subscribe(ar.UPDATE_AGENT.subject, cb=update)
    await connection.client.flush()
    return specs


async def test_an_agent_may_name_only_its_tenants_knowledge_bases(kb: Any, connection: NatsConnection) -> None:
    specs = await agent_runtime(connection)
    await kb.start()
    ours, theirs = await kb.tenant(), await kb.tenant()

    foreign = await ours.client.post("/v1/agents", headers=ours.auth, json={
        "name": "Ava", "knowledge_base_ids": [ours.kb_id, theirs.kb_id, "kb_nope"]})
    patched = await ours.client.patch("/v1/agents/agt_1", headers=ours.auth,
                                      json={"knowledge_base_ids": ["kb_nope"]})
    made = await ours.client.post("/v1/agents", headers=ours.auth,
                                  json={"name": "Ava", "knowledge_base_ids": [ours.kb_id]})
    changed = await ours.client.patch("/v1/agents/agt_1", headers=ours.auth,
                                      json={"knowledge_base_ids": [ours.kb_id]})

    problem = assert_problem(foreign, 422, "validation-error")
    assert [e["loc"] for e in problem["errors"]] == [["body", "knowledge_base_ids", 1],
                                                     ["body", "knowledge_base_ids", 2]]
    assert theirs.kb_id in problem["errors"][0]["msg"]
    assert [e["loc"] for e in assert_problem(patched, 422, "validation-error")["errors"]] == [
        ["body", "knowledge_base_ids", 0]]
    assert made.status_code == 201 and made.json()["knowledge_base_ids"] == [ours.kb_id]
    assert changed.status_code == 200, changed.text
    assert [s["knowledge_base_ids"] for s in specs] == [[ours.kb_id], [ours.kb_id]]


async def test_an_agent_with_knowledge_bases_is_a_503_while_knowledge_ingest_is_down(gateways: Any) -> None:
    client = await gateways.client(await gateways.start())
    owner = await gateways.sign_up(client)

    response = await client.post("/v1/agents", headers=owner.auth,
                                 json={"name": "Ava", "knowledge_base_ids": ["kb_1"]})

    assert_problem(response, 503, "unavailable")
    assert "knowledge-ingest" in response.json()["detail"]


async def test_openapi_documents_the_knowledge_api_with_real_schemas(kb: Any) -> None:
    await kb.start()
    tenant = await kb.tenant()
    openapi = (await tenant.client.get("/openapi.json")).json()
    paths, schemas = openapi["paths"], openapi["components"]["schemas"]

    upload = paths["/v1/knowledge-bases/{knowledge_base_id}/documents"]["post"]
    assert set(upload["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
    assert upload["requestBody"]["content"]["multipart/form-data"]["schema"]["required"] == ["file"]
    assert {"200", "202", "413", "415", "422"} <= upload["responses"].keys()
    for status in ("200", "202"):
        assert upload["responses"][status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/DocumentView"}
    page = paths["/v1/knowledge-bases"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert page == {"$ref": "#/components/schemas/Page_KnowledgeBaseView_"}
    search = paths["/v1/knowledge-bases/{knowledge_base_id}/search"]["post"]
    assert search["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/SearchBody"}
    assert {"hits"} <= schemas["SearchResult"]["properties"].keys()
    assert {"KnowledgeBaseBody", "KnowledgeBasePatch", "DocumentView", "SearchHit", "HitSource"} <= schemas.keys()
