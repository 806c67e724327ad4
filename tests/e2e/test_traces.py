"""One chat turn with a knowledge search is one trace across the services it touches: the gateway's HTTP request,
agent-runtime's handling of the message (the event's ``traceparent``) and knowledge-ingest's search (the RPC's),
exported over OTLP by real processes to a local collector endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from afo_testkit.local_server import serving
from afo_testkit.otlp_receiver import OtlpReceiver, ReceivedSpan
from afo_testkit.platform import Platform, running_platform
from tests.e2e.journey import conversation, published_agent, say, sign_up
from tests.e2e.test_knowledge import knowledge_base, settled, upload

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

PAGE = b"# Plans\n\nThe Growth plan costs $199 per month, billed monthly.\n"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def receiver() -> AsyncIterator[tuple[OtlpReceiver, int]]:
    collector = OtlpReceiver()
    async with serving(collector.app()) as port:
        yield collector, port


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory,
                   receiver: tuple[OtlpReceiver, int]) -> AsyncIterator[Platform]:
    async with running_platform(tmp_path_factory.mktemp("platform"),
                                services=("gateway", "agent-runtime", "knowledge-ingest"),
                                OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{receiver[1]}",
                                OTEL_BSP_SCHEDULE_DELAY="100") as running:
        yield running


async def test_a_chat_turn_with_a_knowledge_search_is_one_trace_across_three_services(
        api: httpx.AsyncClient, receiver: tuple[OtlpReceiver, int]) -> None:
    collector = receiver[0]
    tenant = await sign_up(api)
    kb_id = await knowledge_base(api, tenant)
    document = await upload(api, tenant, kb_id, "plans.md", PAGE, "text/markdown")
    assert (await settled(api, tenant, kb_id, document["id"]))["status"] == "ready"
    conversation_id = await conversation(api, tenant, await published_agent(api, tenant, knowledge_base_ids=[kb_id]))

    reply = await say(api, tenant, conversation_id, "How much does the Growth plan cost?")
    assert reply["reply"]["citations"], reply

    def turn() -> list[ReceivedSpan]:
        for span in collector.spans:
            handled = span.name.startswith("consume ") and "message_received" in span.name
            if span.service == "afo-agent-runtime" and handled:
                return collector.trace_of(span)
        return []

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15.0
    while not {"afo-gateway", "afo-agent-runtime", "afo-knowledge-ingest"} <= {s.service for s in turn()}:
        assert loop.time() < deadline, f"spans: {sorted({(s.service, s.name) for s in collector.spans})}"
        await asyncio.sleep(0.2)
    spans = turn()
    [root] = [s for s in spans if not s.parent_span_id]
    assert root.service == "afo-gateway" and "/messages" in root.name
    ids = {s.span_id for s in spans}
    assert all(s.parent_span_id in ids for s in spans if s is not root)  # one tree, no orphan
    assert any(s.service == "afo-knowledge-ingest" and s.name.startswith("rpc ") for s in spans)
