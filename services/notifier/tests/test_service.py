"""notifier as it runs today: it migrates its own store, becomes ready, answers its health RPC and consumes
nothing (its capability, and with it its consumers, arrive with a later issue)."""

from afo_notifier.app import build
from afo_testkit.bare_service import BareServiceChecks


class TestNotifier(BareServiceChecks):
    service_name = "notifier"
    build = staticmethod(build)
