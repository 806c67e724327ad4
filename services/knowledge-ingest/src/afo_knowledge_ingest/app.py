"""Composition root of knowledge-ingest: knowledge bases, documents ingested in the background, search."""

from __future__ import annotations

import os
import secrets
import socket

from afo_common.clock import Clock, SystemClock
from afo_common.messaging.blobs import BlobStore
from afo_common.service import Service
from afo_common.settings import ServiceSettings
from afo_knowledge_ingest.adapters.components import IngestComponents, build_components
from afo_knowledge_ingest.adapters.store import sql_store
from afo_knowledge_ingest.adapters.tables import messaging
from afo_knowledge_ingest.entrypoints.rpc import register_rpc, routes
from afo_knowledge_ingest.entrypoints.worker import IngestLoop
from afo_knowledge_ingest.handlers.documents import DocumentHandlers
from afo_knowledge_ingest.handlers.ingest import IngestConfig, IngestWorker
from afo_knowledge_ingest.handlers.knowledge_bases import KnowledgeBaseHandlers
from afo_knowledge_ingest.handlers.ports import Blobs
from afo_knowledge_ingest.handlers.search import SearchHandler
from afo_knowledge_ingest.settings import KnowledgeIngestSettings

SERVICE = "knowledge-ingest"


def lease_owner() -> str:
    """This process among the replicas: what its leases on documents are held under."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(4)}"


def build(settings: ServiceSettings | None = None, components: IngestComponents | None = None,
          blobs: Blobs | None = None, clock: Clock | None = None) -> Service:
    """``components`` and ``blobs`` default to the real ones (the embedded engines, the JetStream object
    store); tests pass fakes through the same function."""
    config = KnowledgeIngestSettings.of(settings, SERVICE)
    service = Service(config, messaging, "afo_knowledge_ingest.migrations")
    components = components or build_components(config)
    blobs = blobs or BlobStore(service.nats)
    clock = clock or SystemClock()
    store = sql_store(service.unit_of_work)
    ingest = IngestConfig(batch_size=config.ingest_batch_size, lease_s=config.ingest_lease_s,
                          max_attempts=config.ingest_max_attempts)
    owner = lease_owner()
    workers = [IngestWorker(store, clock, blobs, components.reader, components.embedders, components.index,
                            f"{owner}-{i}", ingest) for i in range(max(1, config.ingest_workers))]
    loop = IngestLoop(workers, config.ingest_poll_s)
    knowledge_bases = KnowledgeBaseHandlers(store, clock, components.embedders, components.index, blobs, loop.wake)
    documents = DocumentHandlers(store, clock, blobs, components.index, loop.wake)
    register_rpc(service, routes(knowledge_bases, documents, SearchHandler(store, components.embedders,
                                                                           components.index)))
    # Before the service reports ready: its first search must not wait for the model.
    service.on_start(components.embedders.warm)
    if config.qdrant_url is None:
        # The embedded vector store opens in one process only: no other worker can be alive.
        service.on_start(workers[0].take_over_leases)
    service.on_start(loop.start)
    service.on_stop(loop.stop)
    service.on_stop(components.index.close)
    return service
