"""Browser calls (the widget's voice button): the offer answered at once over RPC, then the call carried by its
peer connection on the same engine as phone calls until the browser goes away."""

from __future__ import annotations

import asyncio

from afo_common.events.call import CallEnd
from afo_common.messaging.rpc import RpcError
from afo_common.rpcs.voice_media import BrowserAnswer, BrowserOffer
from afo_voice_media.adapters.call_repository import CallRow
from afo_voice_media.adapters.webrtc import BrowserCall, WebRtcSink
from afo_voice_media.handlers.call_runner import CallRunner
from afo_voice_media.handlers.call_session import CallSession
from afo_voice_media.handlers.calls import Calls


class BrowserCalls:
    def __init__(self, calls: Calls, runner: CallRunner, ice_servers: list[str]) -> None:
        self._calls = calls
        self._runner = runner
        self._ice_servers = ice_servers
        self._running: set[asyncio.Task[None]] = set()

    async def offer(self, request: BrowserOffer) -> BrowserAnswer:
        """The offer is answered before anything is recorded: an offer that cannot be used leaves no call. A
        tenant whose plan allows no new call now is refused before the offer is looked at."""
        await self._calls.allow(request.tenant_id)
        call = BrowserCall(self._ice_servers)
        try:
            sdp = await call.answer(request.sdp)
        except Exception as exc:  # aiortc raises plain ValueErrors and more for an SDP it cannot use
            await call.close()
            raise RpcError("invalid", "the SDP offer could not be answered",
                           [{"loc": ["body", "sdp"], "msg": str(exc)[:200], "type": "sdp_refused"}]) from exc
        try:
            row = await self._calls.admit_browser(request)
        except BaseException:
            await call.close()
            raise
        task = asyncio.create_task(self._carry(row, call), name=f"browser-call-{row.id}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return BrowserAnswer(call_id=row.id, conversation_id=row.conversation_id, sdp=sdp)

    async def _carry(self, row: CallRow, call: BrowserCall) -> None:
        async def transport(session: CallSession) -> CallEnd:
            return "caller_hung_up" if await call.carry(session.inbound) else "failed"

        try:
            await self._runner.run(row, WebRtcSink(call.track, call.hang_up), transport)
        finally:
            await call.close()

    async def stop(self) -> None:
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

