"""Closing a media WebSocket whose caller already dropped (Twilio hung up first): nothing to close, nothing raised."""

from typing import cast

from fastapi import WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from afo_voice_media.entrypoints.media_ws import _close


class DroppedSocket:
    """What Starlette's WebSocket does when our side closes after the peer's TCP connection is gone."""

    application_state = WebSocketState.CONNECTED
    close_attempts = 0

    async def close(self) -> None:
        self.close_attempts += 1
        raise WebSocketDisconnect(code=1006)


async def test_closing_a_socket_the_caller_already_dropped_raises_nothing() -> None:
    socket = DroppedSocket()
    await _close(cast(WebSocket, socket))
    assert socket.close_attempts == 1
