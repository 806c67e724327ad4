"""Search latency through the search RPC of a running knowledge-ingest (``bench/knowledge.py`` prints it).

A real nats-server and knowledge-ingest process (``afo_testkit.platform``): ``tenants`` knowledge bases are
created over RPC, the service is stopped, the chunks are written straight into its embedded vector store
(same adapter, same path: loading 100k chunks through uploads would measure ingestion, not search), the service
is started again and each query is one ``afo.rpc.knowledge-ingest.search`` call from this process: the
request over NATS, the knowledge bases checked in SQLite, the query embedded by MiniLM and BM25-encoded, the
hybrid search with the tenant filter, the reply."""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient
from afo_common.rpcs.knowledge_ingest import CREATE_KNOWLEDGE_BASE, SEARCH, CreateKnowledgeBase, Search
from afo_knowledge_ingest.adapters.embeddings.minilm import DIMENSION, SPACE
from afo_knowledge_ingest.adapters.vectors.edge_index import EdgeVectorIndex
from afo_knowledge_ingest.domain.vectors import ChunkPoint
from afo_testkit.platform import running_platform

WARMUP = 20
SERVICE = "knowledge-ingest"


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def rpc_latency(points_for: Callable[[list[str]], list[ChunkPoint]], tenants: int, queries: Sequence[str],
                      rng: random.Random) -> tuple[float, float, float]:
    """(p50, p95, upsert seconds): ``points_for(knowledge_base_ids)`` makes the chunks, the i-th tenant's
    in the i-th knowledge base."""
    with tempfile.TemporaryDirectory(prefix="afo-bench-kb-rpc-") as work:
        async with running_platform(Path(work), services=(SERVICE,), supervise=False, log_level="WARNING") as platform:
            nats = NatsConnection(platform.nats_url, "bench", platform.nats_auth("admin"))
            await nats.connect()
            rpc = RpcClient(nats, timeout_s=10.0)
            try:
                kb_ids = [(await rpc.call(CREATE_KNOWLEDGE_BASE, CreateKnowledgeBase(
                    tenant_id=tenant(i), name=f"Bench {i}"))).id for i in range(tenants)]
                await platform.stop_service(SERVICE)
                index = EdgeVectorIndex(platform.home / "qdrant")
                started = time.perf_counter()
                await index.upsert(SPACE, DIMENSION, points_for(kb_ids))
                upsert_s = time.perf_counter() - started
                await index.close()
                await platform.start_service(SERVICE)
                timings = []
                for n, text in enumerate(queries):
                    i = rng.randrange(tenants)
                    request = Search(tenant_id=tenant(i), knowledge_base_ids=[kb_ids[i]], query=f"{text} ({n})",
                                     top_k=5)
                    began = time.perf_counter()
                    result = await rpc.call(SEARCH, request)
                    if n >= WARMUP:
                        timings.append((time.perf_counter() - began) * 1000)
                    assert all(hit.knowledge_base_id == kb_ids[i] for hit in result.hits)
            finally:
                await nats.close()
    return statistics.median(timings), percentile(timings, 0.95), upsert_s


def tenant(i: int) -> str:
    return f"ten_{i:03d}"
