"""The local SMTP sink ``afo up`` starts: an aiosmtpd server on 127.0.0.1 that accepts every message and keeps
it, as received, in ``$AFO_HOME/mail/<n>.eml`` (and in ``received`` while it runs). notifier sends its email
there when a tenant has no SMTP credentials of its own (``AFO_SMTP_RELAY_PORT``); the notification's record
(``GET /v1/notifications/{id}``) shows what was sent, the file shows what arrived."""

from __future__ import annotations

import asyncio
import email
import itertools
from email.message import Message
from pathlib import Path
from types import TracebackType

from aiosmtpd.smtp import SMTP, Envelope, Session

LOCALHOST = "127.0.0.1"


class _Keep:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self._sink.keep(envelope.mail_from or "", list(envelope.rcpt_tos), content)
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, directory: Path | None = None, host: str = LOCALHOST, port: int = 0) -> None:
        self.directory, self.host, self.port = directory, host, port
        self.received: list[tuple[str, list[str], Message]] = []
        self._numbers = itertools.count(1)
        self._server: asyncio.Server | None = None

    def keep(self, sender: str, recipients: list[str], content: bytes) -> None:
        self.received.append((sender, recipients, email.message_from_bytes(content)))
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            number = next(self._numbers)
            while (path := self.directory / f"{number}.eml").exists():
                number = next(self._numbers)
            path.write_bytes(content)

    async def start(self) -> int:
        handler = _Keep(self)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(handler, hostname="afo-smtp-sink", loop=loop), self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> SmtpSink:
        await self.start()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    def __repr__(self) -> str:
        return f"SmtpSink({self.host}:{self.port}, {len(self.received)} received)"

