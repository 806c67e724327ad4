"""A tenant's plan limits the bytes of its stored documents: an upload that would go past it is 402 naming the
limit, what is stored and the plan, before anything is stored or registered; one that fits is taken."""

from typing import Any

from afo_common.messaging.blobs import document_blob_name, sha256_hex
from afo_common.rpcs import knowledge_ingest as ki
from afo_testkit.problems import assert_problem

UNLIMITED = dict.fromkeys(("agents", "knowledge_bytes", "messages_per_month", "voice_minutes_per_month",
                           "concurrent_calls", "requests_per_minute"))


async def test_an_upload_past_the_plans_knowledge_size_is_402_and_stores_nothing(kb: Any) -> None:
    await kb.start()
    tenant = await kb.tenant()
    operator = await kb.gateways.operator(kb.service)
    assert (await operator.put("/v1/admin/plans/pro", json={**UNLIMITED, "knowledge_bytes": 30})).status_code == 200
    assert (await operator.put(f"/v1/admin/tenants/{tenant.tenant_id}/plan",
                               json={"plan": "pro"})).status_code == 200
    path = f"/v1/knowledge-bases/{tenant.kb_id}/documents"
    first, second = b"Opening hours: 9 to 5.\n", b"Prices: from $20.\n"

    taken = await tenant.client.post(path, headers=tenant.auth, files={"file": ("hours.txt", first, "text/plain")})
    refused = await tenant.client.post(path, headers=tenant.auth,
                                       files={"file": ("prices.txt", second, "text/plain")})

    assert taken.status_code == 202, taken.text
    problem = assert_problem(refused, 402, "plan-limit-reached")
    assert (problem["limit"], problem["allowed"], problem["used"], problem["plan"]) == (
        "knowledge_bytes", 30, len(first), "pro")
    assert await kb.blob(document_blob_name(tenant.tenant_id, tenant.kb_id, sha256_hex(second))) is None
    assert len(kb.ki.called(ki.ADD_DOCUMENT)) == 1
