"""The operators' API: every tenant, the platform's health and throughput, consumer lag, dead letters (inspect,
replay, discard) and every tenant's anomalies. Only a principal with the platform's permissions passes (an
operator's session: ``afo operator add``); a tenant's key or session gets 403. Lists are cursor-paginated like
the rest of the API; the dead letters go oldest first, a queue to work through."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from afo_common.events.anomaly import Signal
from afo_common.rpcs.pages import Page
from afo_common.rpcs.workflow_executor_anomalies import AnomalyStatus, PlatformAnomalyView
from afo_gateway.entrypoints.http.admin_schemas import (
    AdminTenantOut,
    ConsumerLagOut,
    DeadLetterActionOut,
    DeadLetterOut,
    DeadLetterSummary,
    HealthOut,
    action_out,
    dead_letter_out,
    health_out,
    lag_out,
    summary_out,
    tenant_out,
)
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, Cursor, GatewayDep, Limit

router = APIRouter(prefix="/v1/admin", tags=["admin"])
LetterId = Annotated[str, Path(max_length=40, description="dlq_<sequence>, as the list gives it")]
ConsumerCursor = Annotated[str | None, Query(max_length=300)]


@router.get("/tenants", response_model=Page[AdminTenantOut])
async def tenants(principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20,
                  cursor: Cursor = None) -> Page[AdminTenantOut]:
    """Newest first, each with how many people it has."""
    rows = await gw.admin.tenants(principal, limit, cursor)
    return Page[AdminTenantOut](data=[tenant_out(r) for r in rows],
                                next_cursor=rows[-1].tenant.id if len(rows) == limit else None)


@router.get("/health", response_model=HealthOut)
async def health(principal: CurrentPrincipal, gw: GatewayDep) -> HealthOut:
    """Each service's health RPC (as the live feed's ``health`` frames carry it) and each stream's state and
    throughput: the messages it took in the last minute and hour."""
    return health_out(await gw.admin.health(principal))


@router.get("/consumers", response_model=Page[ConsumerLagOut])
async def consumers(principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 100,
                    cursor: ConsumerCursor = None) -> Page[ConsumerLagOut]:
    """Every durable consumer's lag, by stream and name: pending, ack pending and redelivered messages."""
    lags, next_cursor = await gw.admin.consumers(principal, limit, cursor)
    return Page[ConsumerLagOut](data=[lag_out(lag) for lag in lags], next_cursor=next_cursor)


@router.get("/dead-letters", response_model=Page[DeadLetterSummary])
async def dead_letters(principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20, cursor: Cursor = None,
                       service: Annotated[str | None, Query(max_length=40)] = None) -> Page[DeadLetterSummary]:
    """Oldest first; ``service`` for one service's. ``status`` is ``dead`` unless an action on it was recorded
    and its removal from the stream is still to finish (asking again finishes it)."""
    listed, next_cursor = await gw.dead_letters.page(principal, limit, cursor, service)
    return Page[DeadLetterSummary](data=[summary_out(item) for item in listed], next_cursor=next_cursor)


@router.get("/dead-letters/{letter_id}", response_model=DeadLetterOut)
async def dead_letter(letter_id: LetterId, principal: CurrentPrincipal, gw: GatewayDep) -> DeadLetterOut:
    """The dead letter with its event as it was; once replayed or discarded, who did it and when."""
    return dead_letter_out(await gw.dead_letters.get(principal, letter_id))


@router.post("/dead-letters/{letter_id}/replay", response_model=DeadLetterActionOut)
async def replay(letter_id: LetterId, principal: CurrentPrincipal, gw: GatewayDep) -> DeadLetterActionOut:
    """Publishes the event again on its own subject with its own id: a consumer that handled it skips it (its
    inbox has the id), the one that gave up handles it. Once per dead letter: asking again answers with the first
    replay; a discarded one is a 409."""
    return action_out(await gw.dead_letters.replay(principal, letter_id))


@router.post("/dead-letters/{letter_id}/discard", response_model=DeadLetterActionOut)
async def discard(letter_id: LetterId, principal: CurrentPrincipal, gw: GatewayDep) -> DeadLetterActionOut:
    """Removes it from the dead letters, recorded (who, when). Asking again answers with the first discard; a
    replayed one is a 409."""
    return action_out(await gw.dead_letters.discard(principal, letter_id))


@router.get("/anomalies", response_model=Page[PlatformAnomalyView])
async def anomalies(principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20, cursor: Cursor = None,
                    status: Annotated[AnomalyStatus | None, Query()] = None,
                    signal: Annotated[Signal | None, Query()] = None) -> Page[PlatformAnomalyView]:
    """Every tenant's anomalies, newest first, each naming its tenant."""
    return await gw.admin.anomalies(principal, limit, cursor, status, signal)
