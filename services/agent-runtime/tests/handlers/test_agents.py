"""Agents over RPC, on every backend (``conftest.py``): in memory, SQLite, PostgreSQL."""

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from afo_agent_runtime.domain.errors import Invalid, NotFound
from afo_agent_runtime.handlers.agents import AgentHandlers
from afo_agent_runtime.handlers.unit_of_work import Store
from afo_common.events import Envelope
from afo_common.rpcs.agent_runtime import (
    AgentRef,
    CountAgents,
    CreateAgent,
    ListAgents,
    ListVersions,
    UpdateAgent,
)
from afo_common.rpcs.agent_spec import AgentPatch
from afo_testkit.clock import T0, SteppingClock

Committed = Callable[[], Awaitable[list[Envelope]]]
TENANT = "ten_agents"
SECOND = timedelta(seconds=1)


def created(name: str = "Ava", tenant_id: str = TENANT, request_id: str | None = None) -> CreateAgent:
    return CreateAgent(tenant_id=tenant_id, spec={"name": name, "timezone": "Europe/Paris"}, request_id=request_id)


def kinds(events: list[Envelope]) -> list[str]:
    return [e.type for e in events]


async def test_a_created_agent_reads_back_with_the_clocks_time_and_its_event(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    agents = AgentHandlers(store, clock)

    made = await agents.create(created())

    assert made.id.startswith("agt_")
    assert (made.created_at, made.updated_at, made.published_version) == (T0, T0, None)
    assert made.spec["name"] == "Ava" and made.spec["timezone"] == "Europe/Paris"
    assert await agents.get(AgentRef(tenant_id=TENANT, agent_id=made.id)) == made
    (event,) = await committed()
    assert (event.type, event.tenantid, event.data) == ("afo.agent.created.v1", TENANT,
                                                        {"agent_id": made.id, "name": "Ava"})


async def test_an_invalid_configuration_is_refused_with_details_and_writes_nothing(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    agents = AgentHandlers(store, clock)

    with pytest.raises(Invalid) as raised:
        await agents.create(CreateAgent(tenant_id=TENANT, spec={"name": "Ava", "timezone": "Mars/Base"}))

    assert [d["loc"] for d in raised.value.details] == [["timezone"]]
    assert (await agents.list(ListAgents(tenant_id=TENANT))).data == []
    assert await committed() == []


async def test_an_update_changes_what_was_sent_at_the_clocks_time(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    agents = AgentHandlers(store, clock)
    made = await agents.create(created())

    updated = await agents.update(UpdateAgent(tenant_id=TENANT, agent_id=made.id,
                                              patch=AgentPatch(name="Bea", greeting="Hello!")))

    assert (updated.created_at, updated.updated_at) == (T0, T0 + SECOND)
    assert (updated.spec["name"], updated.spec["greeting"], updated.spec["timezone"]) == ("Bea", "Hello!",
                                                                                         "Europe/Paris")
    assert await agents.get(AgentRef(tenant_id=TENANT, agent_id=made.id)) == updated
    assert (await committed())[-1].data == {"agent_id": made.id, "changed": ["greeting", "name"]}


async def test_an_update_that_makes_the_configuration_invalid_keeps_the_old_one(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    agents = AgentHandlers(store, clock)
    made = await agents.create(created())

    with pytest.raises(Invalid):
        await agents.update(UpdateAgent(tenant_id=TENANT, agent_id=made.id,
                                        patch=AgentPatch.model_validate({"name": None})))

    assert await agents.get(AgentRef(tenant_id=TENANT, agent_id=made.id)) == made
    assert kinds(await committed()) == ["afo.agent.created.v1"]


async def test_publishing_numbers_versions_that_later_edits_leave_alone(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    agents = AgentHandlers(store, clock)
    made = await agents.create(created("v1"))
    ref = AgentRef(tenant_id=TENANT, agent_id=made.id)

    first = await agents.publish(ref)
    await agents.update(UpdateAgent(tenant_id=TENANT, agent_id=made.id, patch=AgentPatch(name="v2")))
    second = await agents.publish(ref)
    await agents.update(UpdateAgent(tenant_id=TENANT, agent_id=made.id, patch=AgentPatch(name="draft")))

    assert (first.version, first.spec["name"], first.published_at) == (1, "v1", T0 + SECOND)
    assert (second.version, second.spec["name"]) == (2, "v2")
    current = await agents.get(ref)
    assert (current.published_version, current.spec["name"]) == (2, "draft")
    page = await agents.versions(ListVersions(tenant_id=TENANT, agent_id=made.id, limit=1))
    assert [v.version for v in page.data] == [2] and page.next_cursor == "2"
    rest = await agents.versions(ListVersions(tenant_id=TENANT, agent_id=made.id, limit=1, cursor="2"))
    assert rest.data == [first]
    published = [e.data for e in await committed() if e.type == "afo.agent.published.v1"]
    assert published == [{"agent_id": made.id, "version": 1}, {"agent_id": made.id, "version": 2}]


async def test_a_deleted_agent_is_gone_from_reads_and_changes(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    agents = AgentHandlers(store, clock)
    kept, gone = await agents.create(created("Kept")), await agents.create(created("Gone"))
    ref = AgentRef(tenant_id=TENANT, agent_id=gone.id)

    assert (await agents.delete(ref)).id == gone.id

    with pytest.raises(NotFound):
        await agents.get(ref)
    with pytest.raises(NotFound):
        await agents.publish(ref)
    with pytest.raises(NotFound):
        await agents.delete(ref)
    assert [a.id for a in (await agents.list(ListAgents(tenant_id=TENANT))).data] == [kept.id]
    assert (await committed())[-1].data == {"agent_id": gone.id}


async def test_another_tenant_reaches_none_of_an_agent(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    agents = AgentHandlers(store, clock)
    made = await agents.create(created())
    await agents.publish(AgentRef(tenant_id=TENANT, agent_id=made.id))
    before = await committed()
    other = AgentRef(tenant_id="ten_other", agent_id=made.id)

    for attempt in (agents.get(other), agents.publish(other), agents.delete(other),
                    agents.versions(ListVersions(tenant_id="ten_other", agent_id=made.id)),
                    agents.update(UpdateAgent(tenant_id="ten_other", agent_id=made.id, patch=AgentPatch(name="X")))):
        with pytest.raises(NotFound):
            await attempt
    assert (await agents.list(ListAgents(tenant_id="ten_other"))).data == []
    assert await agents.get(AgentRef(tenant_id=TENANT, agent_id=made.id)) is not None
    assert await committed() == before


async def test_agents_page_newest_first_by_cursor(store: Store, clock: SteppingClock) -> None:
    agents = AgentHandlers(store, clock)
    ids = [(await agents.create(created(f"A{n}"))).id for n in range(5)]
    await agents.create(created("Other", tenant_id="ten_other"))

    pages, cursor = [], None
    while True:
        page = await agents.list(ListAgents(tenant_id=TENANT, limit=2, cursor=cursor))
        pages.append([a.id for a in page.data])
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert [i for page in pages for i in page] == sorted(ids, reverse=True)
    assert [len(p) for p in pages] == [2, 2, 1]


async def test_the_count_is_of_the_tenants_live_agents_only(store: Store, clock: SteppingClock) -> None:
    agents = AgentHandlers(store, clock)
    _kept, gone = [(await agents.create(created(f"A{n}"))).id for n in range(2)]
    await agents.create(created("Other", tenant_id="ten_other"))
    await agents.delete(AgentRef(tenant_id=TENANT, agent_id=gone))

    assert (await agents.count(CountAgents(tenant_id=TENANT))).agents == 1
    assert (await agents.count(CountAgents(tenant_id="ten_other"))).agents == 1
    assert (await agents.count(CountAgents(tenant_id="ten_none"))).agents == 0


async def test_a_create_retried_with_its_request_id_answers_with_the_first_agent(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    agents = AgentHandlers(store, clock)

    first = await agents.create(created(request_id="req-0001"))
    again = await agents.create(created("Renamed", request_id="req-0001"))
    other = await agents.create(created(request_id="req-0002"))
    elsewhere = await agents.create(created(tenant_id="ten_other", request_id="req-0001"))

    assert again == first
    assert len({first.id, other.id, elsewhere.id}) == 3
    assert kinds(await committed()) == ["afo.agent.created.v1"] * 3


async def test_the_widgets_template_is_stored_checked_replaced_whole_and_published_with_the_agent(
    store: Store, clock: SteppingClock
) -> None:
    agents = AgentHandlers(store, clock)
    made = await agents.create(CreateAgent(tenant_id=TENANT, spec={"name": "Ava", "channels": {
        "web": {"title": "Ask Ava", "colour": "#0A7B83"}, "sms": {"note": "kept as given"}}}))
    ref = AgentRef(tenant_id=TENANT, agent_id=made.id)

    assert made.spec["channels"] == {"web": {"title": "Ask Ava", "greeting": None, "colour": "#0a7b83",
                                             "position": "bottom-right", "voice_button": False},
                                     "sms": {"note": "kept as given"}}
    published = await agents.publish(ref)
    patch = AgentPatch.model_validate({"channels": {"web": {"position": "bottom-left", "voice_button": True}}})
    updated = await agents.update(UpdateAgent(tenant_id=TENANT, agent_id=made.id, patch=patch))

    assert updated.spec["channels"] == {"web": {"title": None, "greeting": None, "colour": "#2563eb",
                                                "position": "bottom-left", "voice_button": True}}
    assert published.spec["channels"]["web"]["title"] == "Ask Ava"  # the published version keeps its own
    with pytest.raises(Invalid) as refused:
        await agents.create(CreateAgent(tenant_id=TENANT, spec={"name": "Bea", "channels": {
            "web": {"colour": "teal"}}}))
    assert [d["loc"] for d in refused.value.details] == [["channels", "web", "colour"]]
    assert await agents.get(ref) == updated
