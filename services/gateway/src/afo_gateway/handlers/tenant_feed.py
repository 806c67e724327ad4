"""A tenant's live feed in this gateway process: each live event (``afo_common.events.live``) arrives once, through
the process's own subscriptions (``entrypoints/live_events.py``), and is fanned out in memory to the listeners of
its tenant. An event no one of its tenant listens to costs a split of its subject; one that is listened to is
read and turned into its feed item once (``domain/live_feed.py``), and that one text goes to every listener.

Two ways to listen (the WebSocket route uses the first; the console may use either):

    with feed.open(principal) as subscription:       # Forbidden unless the principal may read (never a
        frames = await subscription.next_frames()     # publishable key); list[Frame], at least one;
        ...                                           # FeedClosed(ending) once it has ended
        ending = await subscription.ended             # asyncio.Future[Ending]: why it must close, at once

    with feed.listen(tenant_id, sink):                # sink(Frame) for each event of the tenant, called on
        ...                                           # the event loop: it must neither block nor raise

A subscription holds at most ``backlog`` frames for its reader. One more and it ends with ``OVERFLOWED``: its
queue is dropped and the fan-out goes on for everyone else, never waiting for a slow reader. It also ends when
its principal loses access or the gateway drains (it is tracked by ``LiveStreams``, which keeps it alive with a
``keep_alive`` frame every 15 s when idle). Its owner closes the connection when ``ended`` is done, even while
a write to a client that does not read is still pending. A principal that may see the platform
(``Permission.VIEW_PLATFORM``: operators) may listen without reading any tenant's data, and gets ``health`` frames
(``handlers/platform_health.py``) and every tenant's anomalies (``anomaly.*``: numbers only, as the operators' own
``GET /v1/admin/anomalies`` lists them)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import Counter

from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.domain.live_feed import KEEP_ALIVE, Frame, MalformedEvent, feed_frame, live_subject
from afo_gateway.handlers.live_streams import Ending, LiveStreams

log = logging.getLogger(__name__)
# Frames waiting for one reader: at 200 events/s for one tenant, five seconds of a reader that does not read.
BACKLOG = 1024
OVERFLOWED = Ending("overflowed", "the client did not keep up", reconnect=True)
DROPPED = Counter("afo_live_feed_dropped", "Live feed items not delivered, by reason", ["reason"])

Sink = Callable[[Frame], None]
# Live events operators get from every tenant.
PLATFORM_WIDE = "anomaly."


class FeedClosed(Exception):
    def __init__(self, ending: Ending) -> None:
        super().__init__(ending.reason)
        self.ending = ending


class FeedSubscription:
    """One listener's bounded queue of frames, and why it ended."""

    def __init__(self, principal: Principal, backlog: int) -> None:
        self.principal = principal
        self._backlog = backlog
        self._frames: deque[Frame] = deque()
        self._waiting = asyncio.Event()
        self.ended: asyncio.Future[Ending] = asyncio.get_running_loop().create_future()

    def deliver(self, frame: Frame) -> None:
        if self.ended.done():
            return
        if len(self._frames) >= self._backlog:
            DROPPED.labels("slow_listener").inc()
            log.warning("a live feed listener of %s did not keep up: closed", self.principal.tenant_id)
            self.end(OVERFLOWED)
            return
        self._frames.append(frame)
        self._waiting.set()

    def keep_alive(self) -> None:
        if not self._frames:
            self.deliver(KEEP_ALIVE)

    def end(self, ending: Ending) -> None:
        if not self.ended.done():
            self.ended.set_result(ending)
            self._frames.clear()
            self._waiting.set()

    async def next_frames(self) -> list[Frame]:
        """Every frame waiting, at least one (it waits for it); FeedClosed once the subscription ended."""
        while not self._frames:
            if self.ended.done():
                raise FeedClosed(self.ended.result())
            self._waiting.clear()
            await self._waiting.wait()
        frames = list(self._frames)
        self._frames.clear()
        return frames


class TenantFeed:
    def __init__(self, streams: LiveStreams, backlog: int = BACKLOG) -> None:
        self._streams = streams
        self._backlog = backlog
        self._sinks: dict[str, list[Sink]] = {}
        self._operators: set[FeedSubscription] = set()
        self._last_health: Frame | None = None
        # Set when an operator comes and there is no health to give them yet: PlatformHealth asks at once.
        self.health_wanted = asyncio.Event()
        self.malformed = 0

    @contextmanager
    def listen(self, tenant_id: str, sink: Sink) -> Iterator[None]:
        sinks = self._sinks.setdefault(tenant_id, [])
        sinks.append(sink)
        try:
            yield
        finally:
            sinks.remove(sink)
            if not sinks:
                del self._sinks[tenant_id]

    @contextmanager
    def open(self, principal: Principal) -> Iterator[FeedSubscription]:
        if not principal.can(Permission.VIEW_PLATFORM):
            require(principal, Permission.READ)
        subscription = FeedSubscription(principal, self._backlog)
        with self._streams.track(subscription), self.listen(principal.tenant_id, subscription.deliver):
            if principal.can(Permission.VIEW_PLATFORM):
                self._operators.add(subscription)
                if self._last_health is not None:
                    subscription.deliver(self._last_health)
                else:
                    self.health_wanted.set()
            try:
                yield subscription
            finally:
                self._operators.discard(subscription)
                if not self._operators:
                    self._last_health = None  # stale by the time the next operator comes

    def fan_out(self, subject: str, raw: bytes) -> None:
        """One message from the live subjects, to the listeners of its tenant."""
        live = live_subject(subject)
        if live is None:
            self._malformed(subject, "not a live event's subject")
            return
        sinks = self._sinks.get(live.tenant_id, [])
        operators = [s for s in self._operators if s.principal.tenant_id != live.tenant_id] \
            if live.name.startswith(PLATFORM_WIDE) else []
        if not sinks and not operators:
            return
        try:
            frame = feed_frame(subject, live, raw)
        except MalformedEvent as exc:
            self._malformed(subject, str(exc))
            return
        for sink in sinks:
            sink(frame)
        for subscription in operators:
            subscription.deliver(frame)

    def wants_health(self) -> bool:
        return bool(self._operators)

    def to_operators(self, frame: Frame) -> None:
        self._last_health = frame
        for subscription in list(self._operators):
            subscription.deliver(frame)

    def _malformed(self, subject: str, why: str) -> None:
        self.malformed += 1
        DROPPED.labels("malformed").inc()
        log.warning("ignored a message on %s: %s", subject[:200], why)
