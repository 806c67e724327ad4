"""``afo.rpc.<service>.health``: every service answers it."""

from __future__ import annotations

from pydantic import BaseModel

from afo_common.messaging.rpc import RpcOperation

SERVICES = ("gateway", "agent-runtime", "voice-media", "knowledge-ingest", "workflow-executor", "notifier")


class HealthRequest(BaseModel):
    pass


class HealthReply(BaseModel):
    service: str
    version: str
    ready: bool


def health_operation(service: str) -> RpcOperation[HealthRequest, HealthReply]:
    return RpcOperation(service, "health", HealthRequest, HealthReply)


HEALTH = {service: health_operation(service) for service in SERVICES}
