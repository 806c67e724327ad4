"""The tenant's own OpenAI-compatible key: resolved from a stand-in for the gateway's vault on a real
nats-server, cached, and sent to the agent's endpoint (a local OpenAI-compatible server) in place of the
operator's; a tenant without one, or a vault that does not answer, gets the operator's key."""

from datetime import UTC, datetime

from nats.aio.msg import Msg

from afo_agent_runtime.adapters.credentials import OpenAIKey, VaultOpenAIKeys
from afo_agent_runtime.domain.agent import AgentSpec, LlmConfig
from afo_agent_runtime.domain.engine import ConversationMemory
from afo_agent_runtime.handlers.llm_engines import LlmEngines
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient, encode_error, encode_result
from afo_common.rpcs.gateway import RESOLVE_CREDENTIAL, ResolveCredential, ResolvedCredential
from afo_testkit.openai_server import FakeOpenAI, Text


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Vault:
    """Answers agent-runtime's resolve subject: the keys it holds, ``not_found`` for the other tenants."""

    def __init__(self, keys: dict[str, dict[str, str]]) -> None:
        self.keys = keys
        self.asked: list[ResolveCredential] = []

    async def handle(self, msg: Msg) -> None:
        request = ResolveCredential.model_validate_json(msg.data)
        self.asked.append(request)
        fields = self.keys.get(request.tenant_id)
        if fields is None:
            await msg.respond(encode_error("not_found", "no openai credential"))
            return
        await msg.respond(encode_result(ResolvedCredential(provider="openai", fields=fields, key_id="k1")))


async def serve(connection: NatsConnection, vault: Vault) -> None:
    await connection.client.subscribe(RESOLVE_CREDENTIAL["agent-runtime"].subject, cb=vault.handle)
    await connection.client.flush()


async def test_a_tenants_key_is_resolved_once_per_ttl_and_a_tenant_without_one_gets_none(
    connection: NatsConnection
) -> None:
    vault = Vault({"ten_own": {"api_key": "sk-tenant-own-key", "base_url": "https://llm.example/v1"}})
    await serve(connection, vault)
    clock = Clock()
    keys = VaultOpenAIKeys(RpcClient(connection, timeout_s=5.0), ttl_s=60.0, clock=clock)

    first = await keys.openai("ten_own")
    again = await keys.openai("ten_own")
    none = await keys.openai("ten_none")
    await keys.openai("ten_none")
    clock.now = 61.0
    await keys.openai("ten_own")

    assert first == again == OpenAIKey("sk-tenant-own-key", "https://llm.example/v1")
    assert "sk-tenant" not in repr(first)
    assert none is None
    assert [(r.tenant_id, r.provider) for r in vault.asked] == [("ten_own", "openai"), ("ten_none", "openai"),
                                                                ("ten_own", "openai")]


async def test_a_vault_that_does_not_answer_gives_none_and_is_asked_again_next_time(
    connection: NatsConnection
) -> None:
    keys = VaultOpenAIKeys(RpcClient(connection, timeout_s=5.0), timeout_s=0.2)

    assert await keys.openai("ten_1") is None  # no responder: unavailable
    vault = Vault({"ten_1": {"api_key": "sk-tenant-late-key"}})
    await serve(connection, vault)
    assert await keys.openai("ten_1") == OpenAIKey("sk-tenant-late-key")


async def ignore(_: str) -> None:
    return None


async def test_the_tenants_key_goes_to_the_agents_endpoint_and_others_get_the_operators(
    connection: NatsConnection
) -> None:
    vault = Vault({"ten_own": {"api_key": "sk-tenant-own-key"}})
    await serve(connection, vault)
    engines = LlmEngines("sk-operator-key", keys=VaultOpenAIKeys(RpcClient(connection, timeout_s=5.0)))
    await engines.start()
    try:
        async with FakeOpenAI([Text("Hello from the model."), Text("Hello again.")]) as fake:
            spec = AgentSpec(name="Ava", llm=LlmConfig(provider="openai", model="gpt-test", base_url=fake.base_url))
            for tenant in ("ten_own", "ten_none"):
                engine = await engines.engine_for(spec, tenant)
                assert engine is not None

                await engine.respond(tenant_id=tenant, agent=spec, memory=ConversationMemory(), history=[],
                                     text="Hi", now=datetime.now(UTC), on_delta=ignore)
            assert fake.authorizations == ["Bearer sk-tenant-own-key", "Bearer sk-operator-key"]
    finally:
        await engines.stop()
