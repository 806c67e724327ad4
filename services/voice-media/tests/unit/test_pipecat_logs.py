"""pipecat's loguru lines reach the standard logging (so the service's JSON format), at the service's level."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest
from loguru import logger

from afo_voice_media.pipecat_logs import through_standard_logging


@pytest.fixture
def forwarded() -> Iterator[None]:
    through_standard_logging("DEBUG")
    yield
    logger.remove()
    logger.add(sys.stderr)


def test_pipecat_lines_go_through_the_standard_logging_at_its_level(
        forwarded: None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    logger.info("VAD ready on {} calls", 3)
    logger.debug("a frame")  # below the standard logging's level: not written
    try:
        raise ZeroDivisionError
    except ZeroDivisionError:
        logger.exception("inference failed")

    lines = [(r.name, r.levelname, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert lines == [(__name__, "INFO", "VAD ready on 3 calls", False), (__name__, "ERROR", "inference failed", True)]
