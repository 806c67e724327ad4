"""RPC contracts: request and response models of every ``afo.rpc.<service>.<operation>``."""

from __future__ import annotations

from typing import Any

from afo_common.messaging.rpc import RpcOperation


def all_operations() -> list[RpcOperation[Any, Any]]:
    from afo_common.rpcs import (
        agent_runtime,
        agent_runtime_channels,
        agent_tests,
        analytics,
        gateway,
        gateway_operators,
        health,
        knowledge_ingest,
        notifier_delivery,
        notifier_notifications,
        notifier_webhooks,
        voice_media,
        voice_media_speech,
        workflow_executor,
        workflow_executor_anomalies,
        workflow_executor_crm,
        workflow_executor_workflows,
    )

    return [*health.HEALTH.values(), *agent_runtime.OPERATIONS, *agent_runtime_channels.OPERATIONS,
            *knowledge_ingest.OPERATIONS,
            *gateway.OPERATIONS, *gateway_operators.OPERATIONS, *workflow_executor.OPERATIONS,
            *workflow_executor_crm.OPERATIONS,
            *workflow_executor_workflows.OPERATIONS, *workflow_executor_anomalies.OPERATIONS,
            *notifier_notifications.OPERATIONS, *notifier_webhooks.OPERATIONS,
            *notifier_delivery.OPERATIONS, *voice_media.OPERATIONS, *analytics.OPERATIONS,
            *agent_tests.OPERATIONS, *voice_media_speech.OPERATIONS]
