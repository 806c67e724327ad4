"""An owner's refusal for a tenant's plan (``afo_common.rpcs.plan_limits``) crosses the wire as a ``conflict`` error
reply with one typed detail: encoded as a service answers, decoded as ``RpcClient`` raises it, it is the same
refusal; a plain conflict or a detail that does not parse is no refusal (the caller sees a conflict)."""

from datetime import UTC, datetime

from afo_common.messaging.rpc import Reply, RpcError, encode_error
from afo_common.rpcs.plan_limits import PlanLimitReached, reached_in, refused

REACHED = PlanLimitReached(limit="voice_minutes_per_month", allowed=60, used=61, plan="free",
                           resets_at=datetime(2026, 4, 1, tzinfo=UTC), retry_after_s=3600)


def over_the_wire(error: RpcError) -> RpcError:
    reply = Reply.model_validate_json(encode_error(error.code, error.message, error.details))
    assert reply.error is not None
    return RpcError(reply.error.code, reply.error.message, reply.error.details)


def test_a_refusal_arrives_as_it_was_sent() -> None:
    received = over_the_wire(refused(REACHED, "no more minutes this month"))

    assert received.code == "conflict" and received.message == "no more minutes this month"
    assert reached_in(received) == REACHED
    assert received.details == [{"type": "plan_limit_reached", "limit": "voice_minutes_per_month", "allowed": 60,
                                 "used": 61, "plan": "free", "resets_at": "2026-04-01T00:00:00Z",
                                 "retry_after_s": 3600}]


def test_other_conflicts_are_no_refusal() -> None:
    assert reached_in(over_the_wire(RpcError("conflict", "already ended"))) is None
    assert reached_in(over_the_wire(RpcError("invalid", "bad", [REACHED.model_dump(mode="json")]))) is None
    malformed = {**REACHED.model_dump(mode="json"), "retry_after_s": 0}
    assert reached_in(over_the_wire(RpcError("conflict", "odd", [malformed]))) is None
