"""What the embedded engine says differently on a call: an email or phone number just heard is read back,
spelled so a voice says it plainly, and a caller who asks for a person is told they are being put through when
the agent has a number to transfer to. In writing, neither."""

from datetime import datetime
from zoneinfo import ZoneInfo

from afo_agent_runtime.domain.agent import AgentSpec, QualificationField
from afo_agent_runtime.domain.engine import ConversationMemory, EmbeddedEngine
from afo_agent_runtime.domain.engine.read_back import spoken_email, spoken_phone

NOW = datetime(2025, 11, 26, 10, 0, tzinfo=ZoneInfo("America/New_York"))
AGENT = AgentSpec(name="Ava", timezone="America/New_York",
                  qualification_fields=[QualificationField(name="email", kind="email"),
                                        QualificationField(name="phone", kind="phone"),
                                        QualificationField(name="company", kind="company")])


def test_an_email_is_spelled_and_its_domain_said_as_words() -> None:
    assert spoken_email("dana.s@north-wind.example") == "d, a, n, a, dot, s, at north-wind dot example"


def test_a_phone_number_is_said_digit_by_digit_in_its_national_groups() -> None:
    assert spoken_phone("+14155550199") == "4 1 5, 5 5 5, 0 1 9 9"
    assert spoken_phone("+442071838750") == "0 2 0, 7 1 8 3, 8 7 5 0"


def test_on_a_call_the_heard_email_and_phone_are_read_back_for_confirmation() -> None:
    decision = EmbeddedEngine().respond(AGENT, ConversationMemory(), "my email is dana@northwind.example and my "
                                        "number is 415 555 0199", NOW, spoken=True)
    assert "Let me read that back: your email is d, a, n, a, at northwind dot example; your number is 4 1 5, 5 5 5, " \
           "0 1 9 9. Is that right?" in decision.reply


def test_in_writing_nothing_is_read_back() -> None:
    decision = EmbeddedEngine().respond(AGENT, ConversationMemory(), "my email is dana@northwind.example", NOW)
    assert "read that back" not in decision.reply


def test_a_field_that_is_neither_is_not_read_back() -> None:
    decision = EmbeddedEngine().respond(AGENT, ConversationMemory(), "I work at Northwind Traders", NOW, spoken=True)
    assert "read that back" not in decision.reply


def test_on_a_call_to_an_agent_with_a_transfer_number_the_caller_is_put_through() -> None:
    transferring = AGENT.model_copy(update={"voice": AGENT.voice.model_copy(update={"transfer_to": "+14155550777"})})
    spoken = EmbeddedEngine().respond(transferring, ConversationMemory(), "can I talk to a real person", NOW,
                                      spoken=True)
    assert "putting you through" in spoken.reply and spoken.handoff_reason is not None
    written = EmbeddedEngine().respond(transferring, ConversationMemory(), "can I talk to a real person", NOW)
    assert "reply here shortly" in written.reply
    no_number = EmbeddedEngine().respond(AGENT, ConversationMemory(), "can I talk to a real person", NOW, spoken=True)
    assert "reply here shortly" in no_number.reply
