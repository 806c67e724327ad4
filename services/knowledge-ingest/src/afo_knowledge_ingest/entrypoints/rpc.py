"""RPC entrypoints: each operation of the contract to its handler, domain errors to typed replies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from afo_common.messaging.rpc import RpcError, RpcRoute
from afo_common.rpcs import knowledge_ingest as ops
from afo_common.service import Service
from afo_knowledge_ingest.domain.errors import Conflict, Invalid, NotFound
from afo_knowledge_ingest.handlers.documents import DocumentHandlers
from afo_knowledge_ingest.handlers.knowledge_bases import KnowledgeBaseHandlers
from afo_knowledge_ingest.handlers.search import SearchHandler


def _mapped(handler: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
    async def call(request: Any) -> Any:
        try:
            return await handler(request)
        except NotFound as exc:
            raise RpcError("not_found", str(exc), [{"ids": exc.idents}]) from exc
        except Invalid as exc:
            raise RpcError("invalid", str(exc), exc.details) from exc
        except Conflict as exc:
            raise RpcError("conflict", str(exc)) from exc

    return call


def routes(knowledge_bases: KnowledgeBaseHandlers, documents: DocumentHandlers,
           search: SearchHandler) -> list[RpcRoute]:
    """Every operation with its handler (the service refuses to start when the contract has one without)."""
    table: list[RpcRoute] = [
        (ops.CREATE_KNOWLEDGE_BASE, knowledge_bases.create),
        (ops.GET_KNOWLEDGE_BASE, knowledge_bases.get),
        (ops.LIST_KNOWLEDGE_BASES, knowledge_bases.list),
        (ops.UPDATE_KNOWLEDGE_BASE, knowledge_bases.update),
        (ops.DELETE_KNOWLEDGE_BASE, knowledge_bases.delete),
        (ops.CHECK_KNOWLEDGE_BASES, knowledge_bases.check),
        (ops.ADD_DOCUMENT, documents.add),
        (ops.GET_DOCUMENT, documents.get),
        (ops.LIST_DOCUMENTS, documents.list),
        (ops.DELETE_DOCUMENT, documents.delete),
        (ops.MEASURE_KNOWLEDGE, documents.measure),
        (ops.SEARCH, search.search),
    ]
    return table


def register_rpc(service: Service, table: list[RpcRoute]) -> None:
    service.serve_rpcs(ops.OPERATIONS, table, _mapped)
