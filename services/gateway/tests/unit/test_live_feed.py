"""A live event becomes its feed item from its subject and bytes alone: the fields a live view is given and no
others, and what is not that tenant's event of that kind is refused."""

import json
from datetime import UTC, datetime

import pytest

from afo_common.events import envelope_for
from afo_common.events.conversation import MessageReplied, ReplyRoute
from afo_common.events.knowledge import DocumentUploaded
from afo_gateway.domain.live_feed import (
    LiveSubject,
    MalformedEvent,
    ServiceHealth,
    feed_frame,
    health_frame,
    live_subject,
)

REPLY = MessageReplied(conversation_id="conv_1", message_id="msg_2", in_reply_to="msg_1", text="Hello Dana",
                       engine="embedded", intent="greeting", first_delta_ms=12.0, completed_ms=40.0,
                       reply_route=ReplyRoute(channel="sms", to="+15550100", sender="+15550199"))


def test_a_reply_keeps_what_the_live_view_shows_and_not_where_it_was_sent() -> None:
    envelope = envelope_for(REPLY, tenant_id="ten_a", source="agent-runtime")
    subject = envelope.nats_subject

    frame = feed_frame(subject, LiveSubject("ten_a", "conversation.message_replied"), envelope.to_bytes())

    item = json.loads(frame.text)
    assert frame.type == item["type"] == "conversation.message_replied"
    assert item["id"] == envelope.id
    assert item["subject"] == subject == "afo.ten_a.conversation.message_replied"
    assert datetime.fromisoformat(item["time"]) == envelope.time
    assert item["data"]["text"] == "Hello Dana"
    assert "reply_route" not in item["data"] and "+15550100" not in frame.text


def test_a_document_upload_does_not_say_where_its_bytes_are() -> None:
    upload = DocumentUploaded(knowledge_base_id="kb_1", document_id="doc_1", name="pricing.pdf",
                              media_type="application/pdf", size_bytes=10, sha256="ab" * 32, blob="ten_a/doc_1")
    envelope = envelope_for(upload, tenant_id="ten_a", source="gateway")

    item = json.loads(feed_frame(envelope.nats_subject, LiveSubject("ten_a", "knowledge.document_uploaded"),
                                 envelope.to_bytes()).text)

    assert item["data"] == {"knowledge_base_id": "kb_1", "document_id": "doc_1", "name": "pricing.pdf",
                            "media_type": "application/pdf", "size_bytes": 10}


def test_only_live_event_subjects_are_live() -> None:
    assert live_subject("afo.ten_a.lead.qualified") == LiveSubject("ten_a", "lead.qualified")
    assert live_subject("afo.ten_a.workflow.notification_requested") is None
    assert live_subject("afo.ten_a.apikey.revoked") is None
    assert live_subject("afo.rt.ten_a.conv_1.reply_delta") is None
    assert live_subject("afo.ten_a.lead") is None


@pytest.mark.parametrize("raw", [
    b"not json",
    b"[1, 2]",
    b'{"id": "e1", "time": "2026-01-01T00:00:00Z", "type": "afo.conversation.message_replied.v1"}',
    # another tenant's event published on this tenant's subject
    envelope_for(REPLY, tenant_id="ten_b", source="agent-runtime").to_bytes(),
    # another kind of event on this kind's subject
    envelope_for(DocumentUploaded(knowledge_base_id="kb_1", document_id="doc_1", name="a", media_type="text/plain",
                                  size_bytes=1, sha256="00", blob="b"), tenant_id="ten_a", source="gateway").to_bytes(),
])
def test_what_is_not_that_tenants_event_of_that_kind_is_refused(raw: bytes) -> None:
    with pytest.raises(MalformedEvent):
        feed_frame("afo.ten_a.conversation.message_replied", LiveSubject("ten_a", "conversation.message_replied"),
                   raw)


def test_health_says_whether_every_service_is_ready() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    frame = health_frame([ServiceHealth("gateway", True, "0.1.0"), ServiceHealth("notifier", False, error="timeout")],
                         at)

    assert json.loads(frame.text) == {"type": "health", "time": at.isoformat(), "ready": False, "services": [
        {"service": "gateway", "ready": True, "version": "0.1.0"},
        {"service": "notifier", "ready": False, "error": "timeout"}]}
