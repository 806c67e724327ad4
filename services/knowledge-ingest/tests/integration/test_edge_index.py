"""What only the embedded index has: its files, its single-process lock, its write-ahead log."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from afo_knowledge_ingest.adapters.embeddings.bm25 import Bm25Encoder
from afo_knowledge_ingest.adapters.vectors.edge_index import EdgeVectorIndex, VectorStoreLocked
from afo_knowledge_ingest.domain.vectors import ChunkPoint

POINT = ChunkPoint(
    chunk_id="c1",
    tenant_id="t",
    knowledge_base_id="kb",
    document_id="d",
    dense=[0.0, 1.0, 0.0],
    sparse=Bm25Encoder().encode_document("kept"),
    text="kept",
    title="T",
    heading=None,
    page=None,
)

# A child process that opens the store at argv[1], writes POINT, then either holds the store until its
# stdin closes, or dies without flushing or closing (os._exit), as a crash would.
CHILD = textwrap.dedent(
    """
    import asyncio, os, sys
    from pathlib import Path
    from afo_knowledge_ingest.adapters.embeddings.bm25 import Bm25Encoder
    from afo_knowledge_ingest.adapters.vectors.edge_index import EdgeVectorIndex
    from afo_knowledge_ingest.domain.vectors import ChunkPoint

    async def main() -> None:
        index = EdgeVectorIndex(Path(sys.argv[1]), flush_every=10**9)
        point = ChunkPoint("c1", "t", "kb", "d", [0.0, 1.0, 0.0], Bm25Encoder().encode_document("kept"),
                           "kept", "T", None, None)
        await index.upsert("s-3", 3, [point])
        print("ready", flush=True)
        if sys.argv[2] == "crash":
            os._exit(0)
        sys.stdin.read()
        await index.close()

    asyncio.run(main())
    """
)


async def found(index: EdgeVectorIndex) -> list[str]:
    hits = await index.search("s-3", "t", ["kb"], dense=[0.0, 1.0, 0.0], sparse=None, limit=5, mode="dense")
    return [h.chunk_id for h in hits]


async def test_data_survives_close_and_reopen(tmp_path: Path) -> None:
    index = EdgeVectorIndex(tmp_path)
    await index.upsert("s-3", 3, [POINT])
    await index.close()
    reopened = EdgeVectorIndex(tmp_path)
    assert await found(reopened) == ["c1"]
    await reopened.close()


def test_an_unflushed_write_survives_a_crash(tmp_path: Path) -> None:
    child = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), "crash"], capture_output=True, text=True)
    assert child.stdout.strip() == "ready", child.stderr

    async def reopen() -> list[str]:
        index = EdgeVectorIndex(tmp_path)
        try:
            return await found(index)
        finally:
            await index.close()

    assert asyncio.run(reopen()) == ["c1"]


def test_a_store_open_in_another_process_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), "hold"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"

        async def second_opener() -> None:
            index = EdgeVectorIndex(tmp_path)
            try:
                await found(index)
            finally:
                await index.close()

        with pytest.raises(VectorStoreLocked, match=r"open in another process.*set AFO_QDRANT_URL"):
            asyncio.run(second_opener())
    finally:
        holder.communicate(input="", timeout=30)
    assert holder.returncode == 0
