"""The HTTP side of Idempotency-Key for write routes."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from fastapi import Request, Response

from afo_gateway.adapters.idempotency_repository import StoredResponse
from afo_gateway.entrypoints.http.dependencies import gateway

HEADER = "idempotency-key"


async def idempotent(request: Request, scope: str, produce: Callable[[], Awaitable[Response]]) -> Response:
    key = request.headers.get(HEADER)
    if key is None:
        return await produce()
    body = await request.body()
    request_hash = hashlib.sha256(request.method.encode() + request.url.path.encode() + b"\n" + body).hexdigest()
    replays = gateway(request).replays
    stored = await replays.find(scope, key, request_hash)
    if stored is not None:
        return Response(stored.body, status_code=stored.status_code, media_type="application/json",
                        headers={"Idempotent-Replayed": "true"})
    response = await produce()
    if response.status_code < 500:
        await replays.remember(scope, key, StoredResponse(request_hash, response.status_code, bytes(response.body)))
    return response
