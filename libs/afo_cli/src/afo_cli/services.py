"""The six services the platform runs: their names, how to start them, which port variable each reads."""

from __future__ import annotations

import sys

SERVICES: tuple[str, ...] = (
    "gateway",
    "agent-runtime",
    "voice-media",
    "knowledge-ingest",
    "workflow-executor",
    "notifier",
)
GATEWAY = "gateway"


def module_of(service: str) -> str:
    """``agent-runtime`` → ``afo_agent_runtime``: every service package is named after its service."""
    return "afo_" + service.replace("-", "_")


def command_of(service: str) -> list[str]:
    # The interpreter running us, so services use the same virtualenv whatever PATH says.
    return [sys.executable, "-m", module_of(service)]


def port_variable(service: str) -> str:
    """The variable ``ServiceSettings.for_service`` reads the HTTP port from."""
    if service == GATEWAY:
        return "AFO_HTTP_PORT"
    return f"AFO_{service.upper().replace('-', '_')}_HTTP_PORT"


def check_known(services: tuple[str, ...]) -> None:
    unknown = [s for s in services if s not in SERVICES]
    if unknown:
        raise ValueError(f"unknown service(s): {', '.join(unknown)}; known: {', '.join(SERVICES)}")
