"""Phone numbers, the conversation an SMS goes into, and inbound leads, on every backend (``conftest.py``)."""

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from afo_agent_runtime.domain.errors import Conflict, NotFound
from afo_agent_runtime.handlers.agents import AgentHandlers
from afo_agent_runtime.handlers.channels import ChannelHandlers
from afo_agent_runtime.handlers.conversations import ConversationHandlers
from afo_agent_runtime.handlers.endings import ConversationEndings
from afo_agent_runtime.handlers.llm_engines import LlmEngines
from afo_agent_runtime.handlers.unit_of_work import Store
from afo_common.events import Envelope
from afo_common.events.conversation import Contact
from afo_common.rpcs.agent_runtime import AgentRef, ConversationRef, CreateAgent
from afo_common.rpcs.agent_runtime_channels import (
    InboundLead,
    PhoneNumbersRef,
    PutPhoneNumbers,
    ResolveNumber,
    SmsConversation,
)
from afo_testkit.clock import SteppingClock
from afo_testkit.openai_server import FakeOpenAI, Text

Committed = Callable[[], Awaitable[list[Envelope]]]
TENANT = "ten_channels"
OTHER = "ten_other"
NUMBER = "+14155550100"
LEAD_PHONE = "+14155550199"


async def published_agent(store: Store, clock: SteppingClock, tenant_id: str = TENANT) -> str:
    agents = AgentHandlers(store, clock)
    agent = await agents.create(CreateAgent(tenant_id=tenant_id, spec={
        "name": "Ava", "greeting": "Hi! I'm Ava from Acme.", "qualification_fields": ["name", "email", "company"]}))
    await agents.publish(AgentRef(tenant_id=tenant_id, agent_id=agent.id))
    return agent.id


async def test_numbers_belong_to_one_agent_platform_wide(store: Store, clock: SteppingClock) -> None:
    channels = ChannelHandlers(store, clock)
    ava = await published_agent(store, clock)
    bob = await published_agent(store, clock)
    other = await published_agent(store, clock, OTHER)

    view = await channels.put_numbers(PutPhoneNumbers(tenant_id=TENANT, agent_id=ava, numbers=[NUMBER, NUMBER]))
    assert view.numbers == [NUMBER]
    for tenant, agent in ((TENANT, bob), (OTHER, other)):
        with pytest.raises(Conflict):
            await channels.put_numbers(PutPhoneNumbers(tenant_id=tenant, agent_id=agent, numbers=[NUMBER]))
    owner = await channels.resolve(ResolveNumber(number=NUMBER))
    assert (owner.tenant_id, owner.agent_id) == (TENANT, ava)

    await channels.put_numbers(PutPhoneNumbers(tenant_id=TENANT, agent_id=ava, numbers=["+14155550101"]))
    assert (await channels.get_numbers(PhoneNumbersRef(tenant_id=TENANT, agent_id=ava))).numbers == ["+14155550101"]
    await channels.put_numbers(PutPhoneNumbers(tenant_id=TENANT, agent_id=bob, numbers=[NUMBER]))  # freed
    with pytest.raises(NotFound):
        await channels.get_numbers(PhoneNumbersRef(tenant_id=OTHER, agent_id=ava))
    with pytest.raises(NotFound):
        await channels.put_numbers(PutPhoneNumbers(tenant_id=OTHER, agent_id=ava, numbers=[]))
    with pytest.raises(NotFound):
        await channels.resolve(ResolveNumber(number="+14155550999"))
    # A deleted agent's numbers are free again.
    await AgentHandlers(store, clock).delete(AgentRef(tenant_id=TENANT, agent_id=bob))
    await channels.put_numbers(PutPhoneNumbers(tenant_id=OTHER, agent_id=other, numbers=[NUMBER]))


async def test_an_sms_goes_into_the_phones_conversation_until_it_ends_for_good(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    channels = ChannelHandlers(store, clock)
    agent = await published_agent(store, clock)

    first = await channels.for_sms(SmsConversation(tenant_id=TENANT, agent_id=agent, phone=LEAD_PHONE,
                                                   request_id="sms_SM0001"))
    again = await channels.for_sms(SmsConversation(tenant_id=TENANT, agent_id=agent, phone=LEAD_PHONE,
                                                   request_id="sms_SM0002"))
    assert (first.channel, first.contact.phone, again.id) == ("sms", LEAD_PHONE, first.id)
    assert first.lead_id is not None
    created = [e for e in await committed() if e.type == "afo.lead.created.v1"]
    assert [e.data["fields"] for e in created] == [{"phone": LEAD_PHONE}]
    lead = await ConversationHandlers(store, clock).get(ConversationRef(tenant_id=TENANT, conversation_id=first.id))
    assert lead.lead is not None and lead.lead.fields == {"phone": LEAD_PHONE}

    await ConversationEndings(store, clock).close(ConversationRef(tenant_id=TENANT, conversation_id=first.id))
    after_close = await channels.for_sms(SmsConversation(tenant_id=TENANT, agent_id=agent, phone=LEAD_PHONE,
                                                         request_id="sms_SM0003"))
    assert after_close.id != first.id
    # The same request again (a retried webhook) answers with the conversation it made.
    retried = await channels.for_sms(SmsConversation(tenant_id=TENANT, agent_id=agent, phone="+14155550198",
                                                     request_id="sms_SM0003"))
    assert retried.id == after_close.id


async def test_an_inbound_lead_gets_an_opening_message_once(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    channels = ChannelHandlers(store, clock)
    agent = await published_agent(store, clock)
    await channels.put_numbers(PutPhoneNumbers(tenant_id=TENANT, agent_id=agent, numbers=[NUMBER]))
    request = InboundLead(tenant_id=TENANT, agent_id=agent, request_id="inb_src1_ext42",
                          contact=Contact(name="Dana Reyes", phone=LEAD_PHONE, email="dana@example.com"),
                          fields={"name": "Dana Reyes", "phone": LEAD_PHONE, "email": "dana@example.com"},
                          message="Do you integrate with HubSpot?", channel="sms")

    view = await channels.inbound(request)
    again = await channels.inbound(request)

    assert view.created and not again.created
    assert (again.conversation_id, again.lead_id) == (view.conversation_id, view.lead_id)
    assert view.reached_by == "sms"
    replied = [e for e in await committed() if e.type == "afo.conversation.message_replied.v1"]
    assert len(replied) == 1
    data = replied[0].data
    assert data["reply_route"] == {"channel": "sms", "to": LEAD_PHONE, "sender": NUMBER}
    assert data["lead_id"] == view.lead_id and data["agent_id"] == agent
    assert data["text"].startswith("Hi! I'm Ava from Acme. Thanks for your message, Dana:")
    assert "company" in data["text"].lower()
    detail = await ConversationHandlers(store, clock).get(ConversationRef(tenant_id=TENANT,
                                                                          conversation_id=view.conversation_id))
    assert [m.role for m in detail.messages] == ["user", "assistant"]
    assert detail.channel == "webhook" and detail.lead is not None
    assert detail.lead.missing_fields == ["company"]
    # The lead's SMS answer lands in this conversation.
    sms = await channels.for_sms(SmsConversation(tenant_id=TENANT, agent_id=agent, phone=LEAD_PHONE,
                                                 request_id="sms_SM0100"))
    assert sms.id == view.conversation_id


async def test_an_inbound_lead_without_a_phone_is_reached_by_email(store: Store, clock: SteppingClock) -> None:
    channels = ChannelHandlers(store, clock)
    agent = await published_agent(store, clock)
    view = await channels.inbound(InboundLead(tenant_id=TENANT, agent_id=agent, request_id="inb_src1_ext43",
                                              contact=Contact(email="lee@example.com"),
                                              fields={"email": "lee@example.com"}))
    assert view.reached_by == "email"
    with pytest.raises(NotFound):
        await channels.inbound(InboundLead(tenant_id=OTHER, agent_id=agent, request_id="inb_src1_ext44",
                                           contact=Contact(email="lee@example.com")))


@pytest.fixture
async def llm() -> AsyncIterator[LlmEngines]:
    engines = LlmEngines(api_key=None)
    await engines.start()
    yield engines
    await engines.stop()


async def llm_agent(store: Store, clock: SteppingClock, fake: FakeOpenAI) -> str:
    agents = AgentHandlers(store, clock)
    agent = await agents.create(CreateAgent(tenant_id=TENANT, spec={
        "name": "Ava", "qualification_fields": ["name", "company"],
        "llm": {"provider": "openai", "model": "gpt-test", "base_url": fake.base_url}}))
    await agents.publish(AgentRef(tenant_id=TENANT, agent_id=agent.id))
    return agent.id


@pytest.mark.parametrize(("answer", "expected"), [
    (json.dumps({"message": "Hey Dana! Saw your note about HubSpot. Which company are you with?"}),
     "Hey Dana! Saw your note about HubSpot. Which company are you with?"),
    ("Sure, here you go: hi Dana", None),  # not the schema: the embedded opening is sent
])
async def test_an_llm_agents_opening_is_written_by_its_model(store: Store, clock: SteppingClock,
                                                             committed: Committed, llm: LlmEngines, answer: str,
                                                             expected: str | None) -> None:
    async with FakeOpenAI([Text(answer)]) as fake:
        agent = await llm_agent(store, clock, fake)
        await ChannelHandlers(store, clock, llm).inbound(InboundLead(
            tenant_id=TENANT, agent_id=agent, request_id="inb_llm_0001", contact=Contact(phone=LEAD_PHONE),
            fields={"name": "Dana", "phone": LEAD_PHONE}, message="Do you integrate with HubSpot?"))
        (request,) = fake.requests

    assert request["response_format"]["json_schema"]["name"] == "opening"
    assert "Do you integrate with HubSpot?" in request["messages"][1]["content"]
    [replied] = [e for e in await committed() if e.type == "afo.conversation.message_replied.v1"]
    if expected is None:
        assert replied.data["engine"] == "embedded" and "Thanks for your message, Dana" in replied.data["text"]
    else:
        assert (replied.data["engine"], replied.data["text"]) == ("openai", expected)
