"""knowledge-ingest as it runs, built by its composition root with the fake ingestion adapters: it migrates
its own store, becomes ready, answers its health RPC and consumes no JetStream events (uploads arrive over
RPC; the ingest worker reads its own table), and serves every RPC of its contract over a real nats-server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import Reply, RpcClient, RpcError, check_routes
from afo_common.rpcs import knowledge_ingest as ops
from afo_common.service import Service
from afo_common.settings import ServiceSettings
from afo_knowledge_ingest.adapters.components import IngestComponents
from afo_knowledge_ingest.adapters.fakes import FakeBlobs, FakeEmbedder, FakeSparseEncoder, FakeVectorIndex, read_text
from afo_knowledge_ingest.adapters.memory import memory_store
from afo_knowledge_ingest.app import build
from afo_knowledge_ingest.domain.spaces import EMBEDDED_SPACE
from afo_knowledge_ingest.entrypoints.rpc import routes
from afo_knowledge_ingest.handlers.embedders import EmbedderRegistry
from afo_knowledge_ingest.testing import Kit
from afo_testkit.bare_service import BareServiceChecks
from afo_testkit.clock import FixedClock


def fake_components() -> IngestComponents:
    return IngestComponents(read_text, EmbedderRegistry(FakeEmbedder, None, FakeSparseEncoder()), FakeVectorIndex())


BUILT: list[IngestComponents] = []  # what each service of these tests was built with, last one last


def build_with_fakes(settings: ServiceSettings) -> Service:
    BUILT.append(fake_components())
    return build(settings, components=BUILT[-1], blobs=FakeBlobs())


class TestKnowledgeIngest(BareServiceChecks):
    service_name = "knowledge-ingest"
    build = staticmethod(build_with_fakes)

    @pytest.fixture
    async def rpc(self, running: Service, client: NatsConnection) -> AsyncIterator[RpcClient]:
        yield RpcClient(client, timeout_s=5.0)

    async def test_the_embedded_model_is_loaded_before_it_reports_ready(self, running: Service) -> None:
        embedder = BUILT[-1].embedders.dense(EMBEDDED_SPACE)
        assert running.ready and isinstance(embedder, FakeEmbedder) and embedder.started

    async def test_it_creates_and_reads_a_knowledge_base_over_nats(self, rpc: RpcClient) -> None:
        made = await rpc.call(ops.CREATE_KNOWLEDGE_BASE, ops.CreateKnowledgeBase(tenant_id="ten_a", name="Docs"))

        read = await rpc.call(ops.GET_KNOWLEDGE_BASE, ops.KnowledgeBaseRef(tenant_id="ten_a",
                                                                           knowledge_base_id=made.id))
        assert read == made

    async def test_another_tenant_gets_a_typed_not_found(self, rpc: RpcClient) -> None:
        made = await rpc.call(ops.CREATE_KNOWLEDGE_BASE, ops.CreateKnowledgeBase(tenant_id="ten_a", name="Docs"))

        with pytest.raises(RpcError) as raised:
            await rpc.call(ops.SEARCH, ops.Search(tenant_id="ten_b", knowledge_base_ids=[made.id], query="q"))

        assert raised.value.code == "not_found" and made.id in raised.value.message

    async def test_the_openai_provider_without_an_endpoint_is_invalid(self, rpc: RpcClient) -> None:
        with pytest.raises(RpcError) as raised:
            await rpc.call(ops.CREATE_KNOWLEDGE_BASE, ops.CreateKnowledgeBase(
                tenant_id="ten_a", name="x", embedding=ops.Embedding(provider="openai", model="m")))

        assert raised.value.code == "invalid" and "AFO_EMBEDDINGS_BASE_URL" in raised.value.message

    @pytest.mark.parametrize("payload", [
        b"not json",
        b'{"tenant_id": "ten_a"}',
        b'{"tenant_id": "ten_a", "knowledge_base_ids": ["kb_1"], "query": "' + b"q" * 2001 + b'"}',
        b'{"tenant_id": "ten_a", "knowledge_base_ids": ["kb_1"], "query": "q", "top_k": 500}',
    ])
    async def test_a_malformed_or_oversized_request_is_invalid(self, running: Service, client: NatsConnection,
                                                               payload: bytes) -> None:
        msg = await client.client.request(ops.SEARCH.subject, payload, timeout=5)

        reply = Reply.model_validate_json(msg.data)
        assert not reply.ok and reply.error is not None and reply.error.code == "invalid"


def test_start_up_fails_when_an_operation_has_no_handler() -> None:
    kit = Kit(memory_store(), lambda: None, FixedClock())  # type: ignore[arg-type]  # events are not read
    complete = routes(kit.knowledge_bases, kit.documents, kit.search)
    assert len(complete) == len(ops.OPERATIONS)

    with pytest.raises(RuntimeError, match=r"documents\.add"):
        check_routes("knowledge-ingest", ops.OPERATIONS, [r for r in complete if r[0] is not ops.ADD_DOCUMENT])
