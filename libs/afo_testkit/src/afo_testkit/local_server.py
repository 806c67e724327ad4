"""An ASGI app served on a free local port for the length of a block: what every local stand-in for a
provider (OpenAI-compatible, CRMs, Twilio, web pages) runs on."""

from __future__ import annotations

import asyncio
import socket
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp

HOST = "127.0.0.1"


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[int]:
    """Serve ``app`` on ``127.0.0.1`` until the block ends; yields the port. A test server need not drain:
    a request still running when the block ends is dropped."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))
    port: int = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError(f"the local server on port {port} stopped before it started")
            await asyncio.sleep(0.01)
        yield port
    finally:
        server.should_exit = server.force_exit = True
        await task


class LocalStandIn(ABC):
    """A provider's stand-in served for the length of ``async with``: its ``app()`` on a free port, known as
    ``port`` inside the block. Subclasses (dataclasses) declare ``port: int = 0`` and ``_serving = None``."""

    port: int
    _serving: AbstractAsyncContextManager[int] | None

    @abstractmethod
    def app(self) -> ASGIApp: ...

    async def __aenter__(self) -> Self:
        self._serving = serving(self.app())
        self.port = await self._serving.__aenter__()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._serving is not None:
            await self._serving.__aexit__(kind, exc, tb)
