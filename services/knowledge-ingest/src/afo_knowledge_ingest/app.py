"""Composition root of knowledge-ingest. Document ingestion and hybrid search arrive with issue 3.
Today it owns and migrates its store and answers its health RPC; it consumes nothing yet."""

from afo_common.service import Service
from afo_common.settings import ServiceSettings
from afo_knowledge_ingest.adapters.tables import messaging


def build(settings: ServiceSettings | None = None) -> Service:
    settings = settings or ServiceSettings.for_service("knowledge-ingest")
    return Service(settings, messaging, "afo_knowledge_ingest.migrations")
