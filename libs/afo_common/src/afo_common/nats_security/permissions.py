"""Every NATS user of the platform and exactly what it may publish and subscribe to, declared once.

The table is derived from what is already declared elsewhere in afo_common: the streams and the event
subjects each captures (``events.streams``), the subject grammar (``subjects``) and the RPC prefix. A service
publishes the events of the streams it owns, answers its own RPC subjects (replying on its callers' inboxes,
``_callers_of``), calls the services it names,
resolves provider credentials only on its own vault subject (``vault``),
and reads only the durable consumers it declares here (``tests/contract/test_nats_permissions.py`` fails when
a service's code consumes, serves or calls anything the table does not grant). The gateway, for the operators'
admin area, also reads every stream's state and the dead letters and republishes a dead letter's event
(``_platform_operations``).

Accounts: ``AFO`` holds the services and the admin and has JetStream; ``INTEGRATORS`` holds the tenants'
integrator credentials (admitted by the gateway's auth callout) and sees only the event subjects, imported
from ``AFO``; ``SYS`` is the system account, where the gateway's ``gateway-system`` user may only list and
kick connections (to cut off a revoked integrator at once).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from afo_common.events.live import LIVE_EVENTS
from afo_common.events.streams import (
    ADVISORIES,
    AGENT,
    CALL,
    CONVERSATION,
    DEAD_LETTER,
    DOCUMENTS_BUCKET,
    KNOWLEDGE,
    NOTIFICATION,
    RECORDINGS_BUCKET,
    STREAM_SUBJECTS,
    TENANT,
    WORKFLOW,
    object_stream,
)
from afo_common.subjects import (
    DEAD_LETTER_PREFIX,
    EVENT_PREFIX,
    REALTIME_PREFIX,
    RPC_PREFIX,
    advisory_durable,
    rpc_subject,
    tenant_events,
)
from afo_common.vault import PROVIDERS_OF, VAULT_OWNER, resolve_operation_name

SERVICE_ACCOUNT = "AFO"
INTEGRATOR_ACCOUNT = "INTEGRATORS"
SYSTEM_ACCOUNT = "SYS"
ADMIN = "admin"
KICKER = "gateway-system"
AUTH_CALLOUT_SUBJECT = "$SYS.REQ.USER.AUTH"


@dataclass(frozen=True)
class Consumes:
    """A durable JetStream consumer a service creates and reads."""

    stream: str
    durable: str


@dataclass(frozen=True)
class ServiceAccess:
    owns_streams: tuple[str, ...] = ()        # publishes every event these streams capture...
    publishes_events: tuple[str, ...] = ()    # ...and these events of streams others own ("context.event")
    listens_to: tuple[str, ...] = ()          # events it hears on core NATS in every replica ("context.event")
    consumes: tuple[Consumes, ...] = ()
    calls: tuple[str, ...] = ()               # services whose RPC operations it calls
    publishes_realtime: bool = False
    subscribes_realtime: bool = False
    answers_auth_callout: bool = False
    # Object-store buckets and what it does with their blobs: ("put" | "get" | "delete").
    blobs: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # The operators' admin area: reads every stream's state and consumers, reads and removes dead letters, and
    # republishes a dead letter's event on its own subject (``_platform_operations``).
    operates_platform: bool = False


SERVICE_ACCESS: dict[str, ServiceAccess] = {
    "gateway": ServiceAccess(owns_streams=(TENANT,), publishes_events=("conversation.message_received",),
                             # Who may do what changed: every replica drops its cached principals. And the
                             # events tenants watch live (/v1/realtime), fanned out in each replica.
                             # A plan changed: every replica forgets the tenant's kept plan.
                             listens_to=("apikey.revoked", "user.role_changed", "user.session_ended",
                                         "tenant.plan_changed", *LIVE_EVENTS),
                             # Usage metered into the gateway's counters: calls' minutes (it counts messages
                             # itself, as it accepts them).
                             consumes=(Consumes(CALL, "gateway-usage-call-ended"),),
                             calls=("agent-runtime", "knowledge-ingest", "workflow-executor", "notifier",
                                    "voice-media"),
                             subscribes_realtime=True,
                             answers_auth_callout=True,
                             # The operators' admin area (/v1/admin): consumer lag, throughput, dead letters.
                             operates_platform=True,
                             # Stores uploads; deletes one whose registration failed. Serves calls' recordings.
                             blobs=((DOCUMENTS_BUCKET, ("put", "delete")), (RECORDINGS_BUCKET, ("get",)))),
    "agent-runtime": ServiceAccess(owns_streams=(CONVERSATION, AGENT),
                                   consumes=(Consumes(CONVERSATION, "agent-runtime-message-received"),
                                             # Each ended conversation analysed once.
                                             Consumes(CONVERSATION, "agent-runtime-conversation-closed"),
                                             # A person asked for by a tenant's workflow.
                                             Consumes(CONVERSATION, "agent-runtime-handoff-requested"),
                                             # The calendar's answers, said in the conversation.
                                             Consumes(WORKFLOW, "agent-runtime-meeting-booked"),
                                             Consumes(WORKFLOW, "agent-runtime-meeting-failed"),
                                             Consumes(WORKFLOW, "agent-runtime-meeting-cancelled"),
                                             # A tenant's workflow asking for a meeting with the lead.
                                             Consumes(WORKFLOW, "agent-runtime-booking-requested")),
                                   # A lead asking for a person; a workflow's handoff step asks too.
                                   publishes_events=("handoff.requested",),
                                   # Documents searched; a voice test's lines heard (agent tests).
                                   calls=("knowledge-ingest", "voice-media"), publishes_realtime=True),
    # A call's words go into its conversation as the caller's messages; the agent's replies are heard live.
    # Its own copy of each tenant's call limits (calls at once, voice minutes) from the plan events.
    "voice-media": ServiceAccess(owns_streams=(CALL,), publishes_events=("conversation.message_received",),
                                 consumes=(Consumes(TENANT, "voice-media-plan-changed"),),
                                 calls=("agent-runtime",), subscribes_realtime=True,
                                 blobs=((RECORDINGS_BUCKET, ("put", "delete")),)),
    "knowledge-ingest": ServiceAccess(owns_streams=(KNOWLEDGE,), blobs=((DOCUMENTS_BUCKET, ("get", "delete")),)),
    # The booking flow (meeting requests and cancellations) and the CRM sync's lead projection from
    # agent-runtime's lead and analysis events and the booking flow's meetings (one durable per event);
    # credentials resolved on its own vault subject (derived below).
    # Workflows: one durable per trigger event; a workflow's handoff step publishes handoff.requested.
    # Anomaly detection: one durable per event that feeds a signal (conversations, agent-runtime's turn tallies,
    # leads, meetings, CRM syncs, notifier's webhook deliveries).
    "workflow-executor": ServiceAccess(owns_streams=(WORKFLOW,), publishes_events=("handoff.requested",), consumes=(
        Consumes(CONVERSATION, "workflow-executor-meeting-requested"),
        Consumes(CONVERSATION, "workflow-executor-meeting-cancel-requested"),
        Consumes(CONVERSATION, "workflow-executor-crm-lead-created"),
        Consumes(CONVERSATION, "workflow-executor-crm-lead-updated"),
        Consumes(CONVERSATION, "workflow-executor-crm-lead-qualified"),
        Consumes(CONVERSATION, "workflow-executor-crm-conversation-analyzed"),
        Consumes(WORKFLOW, "workflow-executor-crm-meeting-booked"),
        Consumes(WORKFLOW, "workflow-executor-crm-meeting-cancelled"),
        Consumes(CONVERSATION, "workflow-executor-workflows-lead-created"),
        Consumes(CONVERSATION, "workflow-executor-workflows-lead-qualified"),
        Consumes(CONVERSATION, "workflow-executor-workflows-conversation-closed"),
        Consumes(CONVERSATION, "workflow-executor-workflows-conversation-analyzed"),
        Consumes(WORKFLOW, "workflow-executor-workflows-meeting-booked"),
        Consumes(WORKFLOW, "workflow-executor-workflows-meeting-failed"),
        Consumes(WORKFLOW, "workflow-executor-workflows-meeting-cancelled"),
        Consumes(WORKFLOW, "workflow-executor-workflows-crm-failed"),
        Consumes(WORKFLOW, "workflow-executor-workflows-anomaly-detected"),
        Consumes(CONVERSATION, "workflow-executor-anomalies-conversation-started"),
        Consumes(CONVERSATION, "workflow-executor-anomalies-turns-tallied"),
        Consumes(CONVERSATION, "workflow-executor-anomalies-lead-qualified"),
        Consumes(WORKFLOW, "workflow-executor-anomalies-meeting-booked"),
        Consumes(WORKFLOW, "workflow-executor-anomalies-meeting-failed"),
        Consumes(WORKFLOW, "workflow-executor-anomalies-crm-synced"),
        Consumes(WORKFLOW, "workflow-executor-anomalies-crm-failed"),
        Consumes(NOTIFICATION, "workflow-executor-anomalies-webhook-delivered"),
        Consumes(NOTIFICATION, "workflow-executor-anomalies-webhook-failed"),
    )),
    # Reminders and confirmations (the booked and cancelled meetings, the lead's contact and opt-out), and
    # integrator webhooks (every event of the streams integrators may subscribe to, one durable per stream);
    # a subscription changed: every replica drops the tenant's cached subscriptions.
    "notifier": ServiceAccess(owns_streams=(NOTIFICATION,), listens_to=("webhook.subscription_changed",), consumes=(
        Consumes(WORKFLOW, "notifier-meeting-booked"),
        Consumes(WORKFLOW, "notifier-meeting-cancelled"),
        Consumes(CONVERSATION, "notifier-lead-created"),
        Consumes(CONVERSATION, "notifier-lead-updated"),
        Consumes(CONVERSATION, "notifier-conversation-opted-out"),
        # The agent's replies that go out by SMS or email (inbound SMS conversations, inbound leads).
        Consumes(CONVERSATION, "notifier-message-replied"),
        Consumes(CONVERSATION, "notifier-webhooks-conversation"),
        Consumes(WORKFLOW, "notifier-webhooks-workflow"),
        Consumes(KNOWLEDGE, "notifier-webhooks-knowledge"),
        Consumes(NOTIFICATION, "notifier-webhooks-notification"),
        # A tenant's workflow steps: a booked meeting's reminders, an SMS or email, a webhook call.
        Consumes(WORKFLOW, "notifier-reminders-requested"),
        Consumes(WORKFLOW, "notifier-workflow-notification"),
        Consumes(WORKFLOW, "notifier-workflow-webhook"),
    ), calls=("agent-runtime",)),  # each agent's reminder offsets, read when a meeting is booked
}
SERVICES: tuple[str, ...] = tuple(SERVICE_ACCESS)


@dataclass(frozen=True)
class Permissions:
    """One user's grant, in nats-server's terms. Empty allow lists with ``unrestricted`` mean everything."""

    publish_allow: tuple[str, ...] = ()
    publish_deny: tuple[str, ...] = ()
    subscribe_allow: tuple[str, ...] = ()
    subscribe_deny: tuple[str, ...] = ()
    allow_responses: bool = False
    unrestricted: bool = False
    account: str = SERVICE_ACCOUNT


def inbox_prefix(user: str) -> str:
    """Every connection of a user creates its reply inboxes under this prefix, and may subscribe only there,
    so no service can read another's replies (JetStream API answers, RPC replies, push deliveries)."""
    return f"_INBOX_{user}"


def advisory_consumer(consumer: Consumes) -> Consumes:
    """Where the service reads ``consumer``'s MAX_DELIVERIES advisories."""
    return Consumes(ADVISORIES, advisory_durable(consumer.durable))


def event_subjects(stream: str) -> list[str]:
    return [f"{EVENT_PREFIX}.*.{suffix}" for suffix in STREAM_SUBJECTS[stream]]


def all_event_subjects() -> list[str]:
    """What the INTEGRATORS account imports: every context stream's subjects (not RPC, real-time, DLQ)."""
    return [subject for stream in STREAM_SUBJECTS for subject in event_subjects(stream)]


def _event_pattern(event_name: str) -> str:
    context, _, event = event_name.partition(".")
    return f"{EVENT_PREFIX}.*.{context}.{event}"


def _consumer_api(consumer: Consumes) -> list[str]:
    stream, durable = consumer.stream, consumer.durable
    return [
        f"$JS.API.CONSUMER.CREATE.{stream}.{durable}",
        f"$JS.API.CONSUMER.CREATE.{stream}.{durable}.>",
        f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.{durable}",
        f"$JS.API.CONSUMER.INFO.{stream}.{durable}",
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}",
        f"$JS.ACK.{stream}.{durable}.>",
        f"$JS.FC.{stream}.{durable}.>",
    ]


def _blob_api(bucket: str, operations: Iterable[str]) -> list[str]:
    """What nats-py's object store sends for each operation: every one reads the bucket's stream info and
    an object's metadata; a put writes chunks and metadata and purges a replaced object's chunks; a get
    reads the chunks through an ordered (ephemeral, flow-controlled) consumer; a delete writes a deletion
    marker and purges the chunks."""
    stream = object_stream(bucket)
    subjects = [f"$JS.API.STREAM.INFO.{stream}", f"$JS.API.STREAM.MSG.GET.{stream}"]
    for operation in operations:
        if operation == "put":
            subjects += [f"$O.{bucket}.C.>", f"$O.{bucket}.M.>", f"$JS.API.STREAM.PURGE.{stream}"]
        elif operation == "get":
            # nats-py finds the chunks' stream by subject (STREAM.NAMES: stream names only, no content).
            subjects += ["$JS.API.STREAM.NAMES", f"$JS.API.CONSUMER.CREATE.{stream}",
                         f"$JS.API.CONSUMER.CREATE.{stream}.>",
                         f"$JS.API.CONSUMER.DELETE.{stream}.>", f"$JS.FC.{stream}.>"]
        elif operation == "delete":
            subjects += [f"$O.{bucket}.M.>", f"$JS.API.STREAM.PURGE.{stream}"]
        else:
            raise ValueError(f"unknown blob operation {operation!r}")
    return subjects


def _platform_operations() -> list[str]:
    """The admin area's JetStream calls: each stream's info (its state) and its consumers' infos (pending, ack
    pending, redelivered); a stream's message by sequence or time (how many events came in the last minute; a
    dead letter read); a dead letter removed; and a replayed event published again on its own subject, so any
    event subject. No stream or consumer is created, changed, purged or deleted, and no event stream's message
    is removed."""
    streams = [*STREAM_SUBJECTS, DEAD_LETTER, ADVISORIES]
    subjects = [f"$JS.API.{api}.{stream}" for stream in streams
                for api in ("STREAM.INFO", "CONSUMER.LIST", "STREAM.MSG.GET")]
    subjects.append(f"$JS.API.STREAM.MSG.DELETE.{DEAD_LETTER}")
    return subjects + all_event_subjects()


def _others_events_in(service: str, streams: Iterable[str]) -> list[str]:
    """Events of a stream this service owns that the table gives to another service and not to this one too:
    denied to this one."""
    owned = set(streams)
    shared = set(SERVICE_ACCESS[service].publishes_events)
    denied = []
    for other, access in SERVICE_ACCESS.items():
        for name in access.publishes_events if other != service else ():
            stream = next((s for s, suffixes in STREAM_SUBJECTS.items()
                           if any(covers(f"{EVENT_PREFIX}.*.{sfx}", _event_pattern(name)) for sfx in suffixes)),
                          None)
            if stream in owned and name not in shared:
                denied.append(_event_pattern(name))
    return denied


def covers(pattern: str, subject: str) -> bool:
    """Whether NATS subject ``pattern`` matches every subject ``subject`` (itself possibly with ``*``) matches."""
    p, s = pattern.split("."), subject.split(".")
    for i, token in enumerate(p):
        if token == ">":
            return len(s) > i
        if i >= len(s) or (token != "*" and token != s[i]):
            return False
    return len(p) == len(s)


def _callers_of(service: str) -> list[str]:
    """The services whose requests this one answers, so it may publish on their inboxes. nats-server's
    ``allow_responses`` alone lets a connection answer a request it received, but only on the node that delivered
    it: when that node dies mid-request the owner reconnects to another, which refuses the reply (a publish
    violation) and the caller waits out its timeout for an answer that was ready. An inbox's last token is random
    and only its owner may subscribe there, so a service granted this can answer, not listen."""
    callers = [other for other, access in SERVICE_ACCESS.items() if service in access.calls]
    if service == VAULT_OWNER:
        callers += [other for other in PROVIDERS_OF if other not in callers]
    return callers


def service_permissions(service: str) -> Permissions:
    access = SERVICE_ACCESS[service]
    publish: list[str] = [subject for stream in access.owns_streams for subject in event_subjects(stream)]
    publish += [_event_pattern(name) for name in access.publishes_events]
    publish += [f"{RPC_PREFIX}.{target}.>" for target in access.calls]
    publish += [f"{inbox_prefix(caller)}.>" for caller in _callers_of(service)]
    if service in PROVIDERS_OF:
        # The credential vault: only its own resolve subject, which is how the gateway knows who asks.
        publish.append(rpc_subject(VAULT_OWNER, resolve_operation_name(service)))
    subscribe = [f"{inbox_prefix(service)}.>", f"{RPC_PREFIX}.{service}.>"]
    consumers = [*access.consumes, *(advisory_consumer(c) for c in access.consumes)]
    for consumer in consumers:
        publish += _consumer_api(consumer)
        publish.append(f"$JS.API.STREAM.MSG.GET.{consumer.stream}")
    if access.consumes:
        publish.append(f"{DEAD_LETTER_PREFIX}.{service}.>")
    for bucket, operations in access.blobs:
        publish += _blob_api(bucket, operations)
    if access.operates_platform:
        publish += _platform_operations()
    subscribe += [_event_pattern(name) for name in access.listens_to]
    if access.publishes_realtime:
        publish.append(f"{REALTIME_PREFIX}.>")
    if access.subscribes_realtime:
        subscribe.append(f"{REALTIME_PREFIX}.>")
    if access.answers_auth_callout:
        subscribe.append(AUTH_CALLOUT_SUBJECT)
    return Permissions(
        publish_allow=tuple(dict.fromkeys(publish)),
        publish_deny=tuple(_others_events_in(service, access.owns_streams)),
        subscribe_allow=tuple(dict.fromkeys(subscribe)),
        allow_responses=True,  # replies to the admin's requests, and the gateway's answers to the auth callout
    )


def admin_permissions() -> Permissions:
    """``afo streams ensure``, the bench and the e2e tests' observers: the whole service account."""
    return Permissions(unrestricted=True)


def kicker_permissions() -> Permissions:
    """The gateway's system-account user: find a revoked integrator's connections and close them."""
    return Permissions(
        publish_allow=("$SYS.REQ.SERVER.PING.CONNZ", "$SYS.REQ.SERVER.*.KICK"),
        subscribe_allow=(f"{inbox_prefix(KICKER)}.>",),
        account=SYSTEM_ACCOUNT,
    )


def integrator_permissions(tenant_id: str) -> Permissions:
    """An integrator credential of one tenant: subscribe to that tenant's events, publish nothing."""
    return Permissions(publish_deny=(">",), subscribe_allow=(tenant_events(tenant_id),), account=INTEGRATOR_ACCOUNT)


def users() -> dict[str, Permissions]:
    """Every static user of the generated configuration, by name (integrators come through the callout)."""
    table = {service: service_permissions(service) for service in SERVICES}
    table[ADMIN] = admin_permissions()
    table[KICKER] = kicker_permissions()
    return table

