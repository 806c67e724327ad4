"""Blobs (uploaded documents, calls' recordings) in the JetStream object store: events carry the name.

One bucket per kind of blob, created with the streams (``ensure_buckets``). A document's object is named by
its tenant, knowledge base and content hash, so the same bytes uploaded twice are one object; a recording by its
tenant and call. nats-py's object store splits a blob into 128 KiB chunks and checks its SHA-256 digest when it
reads it back."""

from __future__ import annotations

import hashlib

from nats.js import JetStreamContext
from nats.js.api import ObjectStoreConfig, StorageType
from nats.js.errors import BadRequestError, NotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from afo_common.events.streams import BUCKETS, DOCUMENTS_BUCKET, object_stream
from afo_common.messaging.connection import NatsConnection


class BlobNotFound(LookupError):
    pass


def document_blob_name(tenant_id: str, knowledge_base_id: str, sha256: str) -> str:
    return f"documents/{tenant_id}/{knowledge_base_id}/{sha256}"


def recording_blob_name(tenant_id: str, call_id: str) -> str:
    return f"recordings/{tenant_id}/{call_id}.wav"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def ensure_buckets(js: JetStreamContext, replicas: int = 1) -> list[str]:
    """Create every bucket that does not exist yet. Idempotent."""
    names = []
    for bucket in BUCKETS:
        try:
            await js.stream_info(object_stream(bucket))
        except NotFoundError:
            try:
                await js.create_object_store(bucket, ObjectStoreConfig(storage=StorageType.FILE, replicas=replicas))
            except BadRequestError as exc:
                if exc.err_code != 10058:  # created meanwhile by another caller
                    raise
        names.append(object_stream(bucket))
    return names


class BlobStore:
    def __init__(self, nats: NatsConnection, bucket: str = DOCUMENTS_BUCKET) -> None:
        self._nats = nats
        self._bucket = bucket
        self._store: ObjectStore | None = None

    async def _objects(self) -> ObjectStore:
        if self._store is None:
            self._store = await self._nats.js.object_store(self._bucket)
        return self._store

    async def put(self, name: str, data: bytes) -> None:
        await (await self._objects()).put(name, data)

    async def get(self, name: str) -> bytes:
        try:
            result = await (await self._objects()).get(name)
        except ObjectNotFoundError as exc:
            raise BlobNotFound(name) from exc
        return bytes(result.data or b"")

    async def exists(self, name: str) -> bool:
        try:
            await (await self._objects()).get_info(name)
        except ObjectNotFoundError:
            return False
        return True

    async def delete(self, name: str) -> None:
        """Remove the object and its chunks; a missing object is already deleted."""
        try:
            await (await self._objects()).delete(name)
        except ObjectNotFoundError:
            return
