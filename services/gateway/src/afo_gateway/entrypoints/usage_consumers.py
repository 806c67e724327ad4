"""Usage metering's entrypoints: the durable consumer of calls' ends, counted in batches (``handlers/metering.py``;
messages are counted as they are accepted), and the job that announces the plans of tenants the migration put on
one."""

from __future__ import annotations

from afo_common.events.call import CallEnded
from afo_common.events.streams import CALL
from afo_common.messaging.consumer import ConsumerSpec
from afo_common.service import Service
from afo_gateway.handlers.metering import Metering
from afo_gateway.handlers.plans import Plans

CALLS = "gateway-usage-call-ended"


def usage_consumers() -> list[ConsumerSpec]:
    # A delivery waits only for its batch to commit; the more that wait together, the fewer transactions.
    return [ConsumerSpec(durable=CALLS, stream=CALL, event=CallEnded)]


def register_usage(service: Service, metering: Metering, plans: Plans, announce_every_s: float) -> None:
    service.consume_batched(usage_consumers(), metering.count)
    service.every(announce_every_s, plans.announce_pending, "announce-plans")
