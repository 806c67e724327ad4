"""The gateway's NATS user may do what adding a document takes, on a real nats-server running the platform's
generated permissions: measure the tenant's knowledge against its plan, look up and store the blob, call
knowledge-ingest, and delete the blob when the registration fails; the server logs no permissions violation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import nats.errors
from nats.aio.msg import Msg

from afo_common.clock import SystemClock
from afo_common.messaging.blobs import BlobStore, document_blob_name, ensure_buckets, sha256_hex
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient, encode_error, encode_result
from afo_common.nats_security.credentials import NatsCredentials
from afo_common.rpcs import knowledge_ingest as ki
from afo_gateway.adapters.memory import memory_store
from afo_gateway.domain.access import SECRET_KEY_PERMISSIONS, Principal
from afo_gateway.domain.documents import Upload
from afo_gateway.domain.errors import Invalid
from afo_gateway.domain.fetch_policy import FetchedPage
from afo_gateway.handlers.audit import AuditTrail
from afo_gateway.handlers.documents import Documents
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.quotas import PlanBook, Quotas
from afo_testkit.nats import nats_server

PRINCIPAL = Principal("ten_a", "secret_key", "key_1", SECRET_KEY_PERMISSIONS)
KB = ki.KnowledgeBaseView.model_validate({
    "id": "kb_1", "name": "FAQ", "description": "", "embedding": {}, "status": "ready", "document_count": 0,
    "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z"})


async def until_answered(connection: NatsConnection, subject: str) -> None:
    """On a server with accounts, a new subscription can take a moment to be seen from another connection
    even after a flush (measured: about 1 run in 20 got "no responders"); ask until it answers."""
    for _ in range(50):
        try:
            await connection.client.request(subject, b"{}", timeout=1.0)
            return
        except nats.errors.NoRespondersError:
            await asyncio.sleep(0.05)
    raise AssertionError(f"nobody answers {subject}")


class NoFetcher:
    async def fetch(self, url: str) -> FetchedPage:
        raise AssertionError("not used")


class NoMessages:
    async def messages(self, tenant_id: str, period: str) -> int:
        raise AssertionError("not used")


async def test_the_gateway_user_may_store_register_and_delete_a_document(tmp_path: Path) -> None:
    async with nats_server(tmp_path, credentials=NatsCredentials.generate()) as server:
        admin = await nats.connect(server.url, **server.connect_options("admin"))
        await ensure_buckets(admin.jetstream())
        await admin.close()
        gateway = NatsConnection(server.url, "gateway", server.auth("gateway"))
        ingest = NatsConnection(server.url, "knowledge-ingest", server.auth("knowledge-ingest"))
        await gateway.connect()
        await ingest.connect()
        try:
            async def get(msg: Msg) -> None:
                await msg.respond(encode_result(KB))

            async def add(msg: Msg) -> None:
                await msg.respond(encode_error("invalid", "refused on purpose"))

            await ingest.client.subscribe(ki.GET_KNOWLEDGE_BASE.subject, cb=get)
            async def measure(msg: Msg) -> None:
                await msg.respond(encode_result(ki.KnowledgeSize(documents=0, size_bytes=0)))

            await ingest.client.subscribe(ki.ADD_DOCUMENT.subject, cb=add)
            await ingest.client.subscribe(ki.MEASURE_KNOWLEDGE.subject, cb=measure)
            await until_answered(gateway, ki.GET_KNOWLEDGE_BASE.subject)
            await until_answered(gateway, ki.MEASURE_KNOWLEDGE.subject)
            owners = Owners(RpcClient(gateway, 2.0))
            # The free plan limits the knowledge's size: the upload is measured first.
            store = memory_store()
            quotas = Quotas(PlanBook(store, "free"), owners, NoMessages(), SystemClock())
            documents = Documents(owners, BlobStore(gateway), NoFetcher(), quotas, AuditTrail(store, SystemClock()))
            data = b"%PDF-1.4\n%%EOF\n"
            name = document_blob_name("ten_a", "kb_1", sha256_hex(data))

            try:
                await documents.upload(PRINCIPAL, "kb_1", Upload("a.pdf", "application/pdf", data))
                raise AssertionError("the registration was refused")
            except Invalid:
                pass

            assert not await BlobStore(gateway).exists(name)  # stored, then deleted after the refusal
        finally:
            await gateway.close()
            await ingest.close()
        # nats-server logs "Publish Violation" or "Subscription Violation" for anything not granted.
        assert "Violation" not in server.log_path.read_text()
