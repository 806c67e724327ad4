"""RPC entrypoints: each operation of voice-media's contract to its handler, lookups that fail to typed replies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from afo_common.messaging.rpc import RpcError, RpcRoute
from afo_common.rpcs import analytics as analytics_ops
from afo_common.rpcs import voice_media as ops
from afo_common.rpcs import voice_media_speech as speech_ops
from afo_common.service import Service
from afo_voice_media.handlers.analytics import CallAnalytics
from afo_voice_media.handlers.browser_calls import BrowserCalls
from afo_voice_media.handlers.calls import CallNotFound, Calls
from afo_voice_media.handlers.dialing import Dialer
from afo_voice_media.handlers.hearing import Hearing


def _mapped(handler: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
    async def call(request: Any) -> Any:
        try:
            return await handler(request)
        except CallNotFound as exc:
            raise RpcError("not_found", str(exc)) from exc

    return call


def register_rpc(service: Service, calls: Calls, dialer: Dialer, browser: BrowserCalls,
                 analytics: CallAnalytics, hearing: Hearing) -> None:
    routes: list[RpcRoute] = [
        (ops.ADMIT_CALL, calls.admit),
        (ops.DIAL_CALL, dialer.dial),
        (ops.LEAVE_VOICEMAIL, calls.voicemail),
        (ops.BROWSER_OFFER, browser.offer),
        (ops.RECORD_CALL_STATUS, calls.status),
        (ops.GET_CALL, calls.get),
        (ops.LIST_CALLS, calls.list),
    ]
    service.serve_rpcs(ops.OPERATIONS, routes, wrap=_mapped)
    service.serve_rpcs(analytics_ops.VOICE_MEDIA_OPERATIONS, [(analytics_ops.VOICE_SUMMARY, analytics.summary)])
    service.serve_rpcs(speech_ops.OPERATIONS, [(speech_ops.HEAR_LINES, hearing.hear)])
