import pytest

from afo_common.realtime import ReplyDelta, notice_subject, parse_subject
from afo_common.subjects import (
    InvalidSubjectToken,
    dead_letter_subject,
    event_subject,
    events_of_kind,
    realtime_subject,
    rpc_subject,
    tenant_events,
    tenant_of,
)

BAD_TOKENS = ["ten.a", "ten>", ">", "*", "ten*", "", "ten a", "tén"]


def test_subjects_have_their_documented_shape() -> None:
    assert event_subject("ten_a", "lead.qualified") == "afo.ten_a.lead.qualified"
    assert tenant_events("ten_a") == "afo.ten_a.>"
    assert events_of_kind("lead.qualified") == "afo.*.lead.qualified"
    assert rpc_subject("agent-runtime", "agents.create") == "afo.rpc.agent-runtime.agents.create"
    assert rpc_subject("gateway", "health") == "afo.rpc.gateway.health"
    assert realtime_subject("ten_a", "conv_1", "delta") == "afo.rt.ten_a.conv_1.delta"
    assert dead_letter_subject("notifier", "WORKFLOW") == "dlq.afo.notifier.WORKFLOW"


def test_dead_letters_live_outside_the_event_namespace() -> None:
    # A stream on afo.> subjects would overlap the context streams' afo.*.<context>.> subjects.
    assert not dead_letter_subject("notifier", "WORKFLOW").startswith("afo.")


@pytest.mark.parametrize("tenant", BAD_TOKENS)
def test_a_tenant_id_that_is_not_one_plain_token_is_refused_everywhere(tenant: str) -> None:
    with pytest.raises(InvalidSubjectToken):
        event_subject(tenant, "lead.qualified")
    with pytest.raises(InvalidSubjectToken):
        tenant_events(tenant)
    with pytest.raises(InvalidSubjectToken):
        realtime_subject(tenant, "conv_1", "delta")


@pytest.mark.parametrize("name", ["lead", "lead.", ".qualified", "lead.qualified.extra", "lead.>", "lead.*"])
def test_an_event_name_must_be_exactly_context_dot_event(name: str) -> None:
    with pytest.raises(InvalidSubjectToken):
        event_subject("ten_a", name)
    with pytest.raises(InvalidSubjectToken):
        events_of_kind(name)


@pytest.mark.parametrize(("service", "operation"), [("agent.runtime", "x"), ("gw", "agents..create"),
                                                    ("gw", "agents.>"), ("gw", ""), ("*", "health")])
def test_rpc_subjects_refuse_wildcards_and_empty_tokens(service: str, operation: str) -> None:
    with pytest.raises(InvalidSubjectToken):
        rpc_subject(service, operation)


def test_realtime_and_dead_letter_tokens_are_checked() -> None:
    with pytest.raises(InvalidSubjectToken):
        realtime_subject("ten_a", "conv.1", "delta")
    with pytest.raises(InvalidSubjectToken):
        realtime_subject("ten_a", "conv_1", "reply.delta")
    with pytest.raises(InvalidSubjectToken):
        dead_letter_subject("notifier", "WORK.FLOW")


def test_the_tenant_is_read_back_from_event_subjects_only() -> None:
    assert tenant_of(event_subject("ten_a", "lead.qualified")) == "ten_a"
    assert tenant_of(rpc_subject("agent-runtime", "agents.create")) is None
    assert tenant_of(realtime_subject("ten_a", "conv_1", "delta")) is None
    assert tenant_of(dead_letter_subject("notifier", "WORKFLOW")) is None
    assert tenant_of("afo.ten_a") is None


def test_a_real_time_subject_says_its_tenant_conversation_and_kind() -> None:
    delta = ReplyDelta(message_id="msg_2", in_reply_to="msg_1", index=0, text="Hi")

    assert notice_subject("ten_a", "conv_1", delta) == "afo.rt.ten_a.conv_1.reply_delta"
    assert parse_subject("afo.rt.ten_a.conv_1.reply_delta") == ("ten_a", "conv_1", "reply.delta")
    assert parse_subject("afo.rt.ten_a.conv_1.lead_updated") == ("ten_a", "conv_1", "lead.updated")
    assert parse_subject("afo.rt.ten_a.conv_1.handoff") == ("ten_a", "conv_1", "handoff")
    for odd in ("afo.rt.ten_a.conv_1.unknown", "afo.rt.ten_a.reply_delta", "afo.ten_a.lead.updated",
                "xafo.rt.ten_a.conv_1.handoff"):
        assert parse_subject(odd) is None
