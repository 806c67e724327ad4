"""knowledge-ingest as it runs today: it migrates its own store, becomes ready, answers its health RPC and consumes
nothing (its capability, and with it its consumers, arrive with a later issue)."""

from afo_knowledge_ingest.app import build
from afo_testkit.bare_service import BareServiceChecks


class TestKnowledgeIngest(BareServiceChecks):
    service_name = "knowledge-ingest"
    build = staticmethod(build)
