"""pipecat logs through loguru, whose default sink writes a format of its own to stderr, DEBUG and up, from the
moment pipecat is imported. ``__main__`` keeps that sink from being made; here pipecat's lines are sent through the
standard logging, as the service's own are: one JSON object per line when the service logs JSON, and nothing below
the service's level (pipecat's DEBUG lines describe a browser call's connection in detail)."""

from __future__ import annotations

import logging

from loguru import logger


class _Forward(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        target = logging.getLogger(record.name)
        if target.isEnabledFor(record.levelno):
            target.handle(record)


def through_standard_logging(level: str) -> None:
    logger.remove()
    # A format function: with a format string loguru would append the traceback to the message too.
    logger.add(_Forward(), level=level.upper(), format=lambda _record: "{message}")
