"""The documents bucket on a real nats-server with the generated permissions: the gateway stores an upload,
knowledge-ingest reads and deletes it, and a service without a grant can do neither."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest

from afo_common.messaging.blobs import BlobNotFound, BlobStore, document_blob_name, ensure_buckets, sha256_hex
from afo_common.messaging.connection import NatsConnection
from afo_common.nats_security.credentials import NatsCredentials
from afo_testkit.nats import NatsServer, nats_server


@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[NatsServer]:
    async with nats_server(tmp_path, credentials=NatsCredentials.generate()) as server:
        admin = await nats.connect(server.url, **server.connect_options("admin"))
        try:
            assert await ensure_buckets(admin.jetstream()) == ["OBJ_AFO_DOCUMENTS", "OBJ_AFO_RECORDINGS"]
            assert await ensure_buckets(admin.jetstream()) == ["OBJ_AFO_DOCUMENTS", "OBJ_AFO_RECORDINGS"]  # idempotent
        finally:
            await admin.close()
        yield server


async def connected(server: NatsServer, user: str) -> NatsConnection:
    connection = NatsConnection(server.url, user, server.auth(user))
    await connection.connect()
    return connection


async def test_an_upload_is_stored_by_the_gateway_and_read_and_deleted_by_knowledge_ingest(
    secured: NatsServer, caplog: pytest.LogCaptureFixture,
) -> None:
    data = b"%PDF-1.4 " + bytes(range(256)) * 2000  # 512 KB: several chunks
    name = document_blob_name("ten_a", "kb_1", sha256_hex(data))
    gateway, ingest = await connected(secured, "gateway"), await connected(secured, "knowledge-ingest")
    try:
        await BlobStore(gateway).put(name, data)
        await BlobStore(gateway).put(name, data)  # the same bytes again replace the object in place
        assert await BlobStore(ingest).get(name) == data
        await BlobStore(ingest).delete(name)
        await BlobStore(ingest).delete(name)  # already gone: no error
        with pytest.raises(BlobNotFound):
            await BlobStore(ingest).get(name)
    finally:
        await gateway.close()
        await ingest.close()
    assert "permissions violation" not in caplog.text


async def test_a_service_without_a_grant_cannot_read_documents(secured: NatsServer) -> None:
    gateway, runtime = await connected(secured, "gateway"), await connected(secured, "agent-runtime")
    name = document_blob_name("ten_a", "kb_1", sha256_hex(b"secret plan"))
    try:
        await BlobStore(gateway).put(name, b"secret plan")
        with pytest.raises(nats.errors.Error):
            await BlobStore(runtime).get(name)
    finally:
        await gateway.close()
        await runtime.close()
