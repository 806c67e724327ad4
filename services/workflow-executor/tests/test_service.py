"""workflow-executor as it runs today: it migrates its own store, becomes ready, answers its health RPC and consumes
nothing (its capability, and with it its consumers, arrive with a later issue)."""

from afo_testkit.bare_service import BareServiceChecks
from afo_workflow_executor.app import build


class TestWorkflowExecutor(BareServiceChecks):
    service_name = "workflow-executor"
    build = staticmethod(build)
