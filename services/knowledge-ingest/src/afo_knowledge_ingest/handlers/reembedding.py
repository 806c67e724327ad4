"""The end of a re-embedding: a knowledge base whose documents all have their vectors in the pending space
switches to it (search uses it from the commit on), then the old space's vectors of that knowledge base go.
Run by the ingest worker whenever it finds no document to work on, so a switch missed by one replica (two
finishing the last documents at once) is made by the next idle pass."""

from __future__ import annotations

import logging
from dataclasses import replace

from afo_common.clock import Clock
from afo_common.events.knowledge import KnowledgeBaseUpdated
from afo_knowledge_ingest.domain.vectors import VectorIndex
from afo_knowledge_ingest.handlers.unit_of_work import Store

log = logging.getLogger(__name__)


class Reembedding:
    def __init__(self, store: Store, clock: Clock, index: VectorIndex) -> None:
        self._store = store
        self._clock = clock
        self._index = index

    async def finish(self) -> list[str]:
        """Switch every complete re-embedding; returns the knowledge bases switched."""
        now = self._clock.now()
        dropped: list[tuple[str, str, str]] = []
        async with self._store() as uow:
            for kb in await uow.queue.switchable():
                assert kb.pending_space is not None
                switched = replace(kb, embedding_space=kb.pending_space, pending_space=None, status="ready",
                                   updated_at=now)
                await uow.knowledge_bases.save(switched)
                await uow.emit(KnowledgeBaseUpdated(knowledge_base_id=kb.id, name=kb.name,
                                                    embedding_space=switched.embedding_space, reembedding=False),
                               tenant_id=kb.tenant_id)
                dropped.append((kb.embedding_space, kb.tenant_id, kb.id))
        for space, tenant_id, kb_id in dropped:
            try:
                await self._index.delete_knowledge_base(space, tenant_id, kb_id)
            except Exception:
                # Never searched again for this knowledge base; left for an operator's clean-up, not retried.
                log.exception("could not delete the vectors of %s in its old space %s", kb_id, space)
        return [kb_id for _, _, kb_id in dropped]
