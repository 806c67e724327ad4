"""A service run in several worker processes: ``python workers_service.py <workers>``, configured like every
service from ``AFO_*`` variables (``AFO_TEST_SVC_DATABASE_URL``, ``AFO_TEST_SVC_HTTP_PORT``, ``AFO_NATS_URL``).
``GET /pid`` answers with the process that took the connection and the module of its event loop, and counts
it in a metric; with
``AFO_TEST_SVC_FAIL_ON_BUILD`` set, every worker fails as it starts."""

import asyncio
import os
import sys

from prometheus_client import Counter

from afo_common.service import Service
from afo_common.settings import ServiceSettings
from afo_common.workers import serve
from afo_testkit.migrations import messaging

SERVICE = "test-svc"
MIGRATIONS = "afo_testkit.migrations"
ANSWERED = Counter("afo_test_pid_answered", "GET /pid requests answered")


def build() -> Service:
    if os.environ.get("AFO_TEST_SVC_FAIL_ON_BUILD"):
        raise RuntimeError("this worker fails as it starts")
    service = Service(ServiceSettings.for_service(SERVICE, drain_timeout_s=2.0), messaging, MIGRATIONS)

    @service.http.get("/pid")
    async def pid() -> dict[str, int | str]:
        ANSWERED.inc()
        return {"pid": os.getpid(), "loop": type(asyncio.get_running_loop()).__module__}

    return service


if __name__ == "__main__":
    serve(build, ServiceSettings.for_service(SERVICE), MIGRATIONS, int(sys.argv[1]))
