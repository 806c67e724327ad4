"""The two VectorIndex adapters behind one fixture, so their behaviour is tested once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from qdrant_client import AsyncQdrantClient

from afo_knowledge_ingest.adapters.vectors.edge_index import EdgeVectorIndex
from afo_knowledge_ingest.adapters.vectors.qdrant_server_index import QdrantServerIndex
from afo_knowledge_ingest.domain.vectors import VectorIndex


@pytest.fixture(params=["edge", "qdrant-client-local"])
async def index(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[VectorIndex]:
    adapter: VectorIndex
    if request.param == "edge":
        adapter = EdgeVectorIndex(tmp_path / "vectors", upsert_batch=3)  # small batches: several per upsert
    else:
        adapter = QdrantServerIndex(AsyncQdrantClient(location=":memory:"), upsert_batch=3)
    yield adapter
    await adapter.close()
