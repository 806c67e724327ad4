"""The ingest worker as a background task of the service: started with it, stopped at its drain.

It works while there is work, then waits: woken at once when an upload or a model change commits in this
process (``wake``), and every ``poll_s`` otherwise, for work another replica committed or a lease or
backoff that ran out. A failure outside a document (the database unreachable) is logged and the loop
waits a poll before trying again."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from afo_knowledge_ingest.handlers.ingest import IngestWorker

log = logging.getLogger(__name__)


class IngestLoop:
    def __init__(self, workers: list[IngestWorker], poll_s: float = 3.0) -> None:
        self._workers = workers
        self._poll_s = poll_s
        self._woken = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def wake(self) -> None:
        self._woken.set()

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(w), name=f"ingest-{i}") for i, w in enumerate(self._workers)]

    async def stop(self) -> None:
        # A document being worked on keeps its lease and is resumed after it expires (here or elsewhere).
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _run(self, worker: IngestWorker) -> None:
        while True:
            self._woken.clear()
            try:
                worked = await worker.run_once()
            except Exception:
                log.exception("the ingest worker failed outside a document; trying again in %.0f s", self._poll_s)
                worked = False
            if not worked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._woken.wait(), self._poll_s)
