"""An ASGI app served on a free local port for the length of a block: what every local stand-in for a
provider (OpenAI-compatible, CRMs, Twilio, web pages) runs on."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
