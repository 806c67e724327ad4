"""Inbound lead sources (speed to lead): a tenant registers a source for an agent and gets its secret once; a
web form, an ad platform or a no-code tool then posts leads to ``POST /v1/inbound/{source_id}``.

Authentication of a submission: a ``token`` source takes ``Authorization: Bearer <token>`` or ``?token=`` (its
SHA-256 is stored, compared in constant time); a ``signature`` source takes a Standard Webhooks signature
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``, checked by the ``standardwebhooks`` package with the
source's ``whsec_`` secret, sealed in the gateway's database like a vault record). Unknown source: 404; no or
a wrong token or signature: 401. The lead is read (``domain/inbound.py``) and handed to agent-runtime
(``leads.inbound``), which creates the conversation and lead and has the agent write first; the same lead again
(same external id, or the same payload) answers with the first one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from afo_common.clock import Clock
from afo_common.events.conversation import Contact
from afo_common.ids import new_id
from afo_common.rpcs.agent_runtime import GET_AGENT, AgentRef
from afo_common.rpcs.agent_runtime_channels import INBOUND_LEAD, InboundLead, InboundLeadView
from afo_gateway.adapters.inbound_sources_repository import InboundSourceRow
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.domain.errors import ApiProblem, Invalid, NotFound, Unauthorized, UnsupportedMediaType
from afo_gateway.domain.inbound import MAPPABLE, InvalidLead, dedupe_key, read_lead
from afo_gateway.domain.vault import Sealed
from afo_gateway.handlers.integrations import Integrations
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.unit_of_work import Store

Auth = Literal["token", "signature"]
ACCEPTED = ("application/json", "application/x-www-form-urlencoded")


class MalformedBody(ApiProblem):
    status, slug, title = 400, "malformed-body", "Malformed body"


@dataclass(frozen=True)
class SourceView:
    id: str
    name: str
    agent_id: str
    channel: str
    auth: str
    field_map: dict[str, str]
    phone_region: str | None
    created_at: Any
    secret: str | None = None  # on create only


def _view(row: InboundSourceRow, secret: str | None = None) -> SourceView:
    return SourceView(row.id, row.name, row.agent_id, row.channel, row.auth, dict(row.field_map), row.phone_region,
                      row.created_at, secret)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _purpose(source_id: str) -> str:
    return f"inbound:{source_id}"


class InboundSources:
    def __init__(self, store: Store, owners: Owners, integrations: Integrations, clock: Clock) -> None:
        self._store, self._owners, self._integrations, self._clock = store, owners, integrations, clock

    async def create(self, principal: Principal, name: str, agent_id: str, channel: str, auth: Auth,
                     field_map: Mapping[str, str], phone_region: str | None) -> SourceView:
        require(principal, Permission.MANAGE_INTEGRATIONS)
        unknown = sorted(set(field_map) - set(MAPPABLE))
        if unknown:
            raise Invalid("field_map names fields the platform does not read", [
                {"loc": ["body", "field_map", k], "msg": f"one of {', '.join(MAPPABLE)}", "type": "unknown_field"}
                for k in unknown])
        await self._owners.call(GET_AGENT, AgentRef(tenant_id=principal.tenant_id, agent_id=agent_id))
        source_id = new_id("src")
        token_hash, sealed = None, None
        if auth == "token":
            secret = "ist_" + secrets.token_urlsafe(32)
            token_hash = _digest(secret)
        else:
            secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
            sealed = self._integrations.keys.seal(principal.tenant_id, _purpose(source_id), {"secret": secret})
        row = InboundSourceRow(
            id=source_id, tenant_id=principal.tenant_id, name=name, agent_id=agent_id, channel=channel, auth=auth,
            field_map=dict(field_map), phone_region=phone_region, token_hash=token_hash,
            key_id=sealed.key_id if sealed else None, nonce=sealed.nonce if sealed else None,
            ciphertext=sealed.ciphertext if sealed else None, created_at=self._clock.now())
        async with self._store() as uow:
            await uow.inbound_sources.add(row)
            await uow.audit.record(principal.tenant_id, principal.subject_id, "inbound_source.create", source_id,
                                   row.created_at)
        return _view(row, secret)

    async def list(self, principal: Principal, limit: int, cursor: str | None) -> tuple[list[SourceView], str | None]:
        require(principal, Permission.READ)
        async with self._store.reading() as repos:
            rows = await repos.inbound_sources.page(principal.tenant_id, limit + 1, cursor)
        more = len(rows) > limit
        rows = rows[:limit]
        return [_view(r) for r in rows], (rows[-1].id if more and rows else None)

    async def delete(self, principal: Principal, source_id: str) -> None:
        require(principal, Permission.MANAGE_INTEGRATIONS)
        async with self._store() as uow:
            if not await uow.inbound_sources.remove(principal.tenant_id, source_id):
                raise NotFound(f"inbound source {source_id} not found")
            await uow.audit.record(principal.tenant_id, principal.subject_id, "inbound_source.delete", source_id,
                                   self._clock.now())

    async def submit(self, source_id: str, *, headers: Mapping[str, str], token: str | None, body: bytes,
                     content_type: str) -> InboundLeadView:
        async with self._store.reading() as repos:
            source = await repos.inbound_sources.find(source_id)
        if source is None:
            raise NotFound(f"inbound source {source_id} not found")
        self._authenticate(source, headers, token, body)
        payload = parse_payload(body, content_type)
        try:
            lead = read_lead(payload, source.field_map, source.phone_region)
        except InvalidLead as exc:
            raise Invalid(str(exc), exc.errors) from exc
        return await self._owners.create(INBOUND_LEAD, InboundLead(
            tenant_id=source.tenant_id, agent_id=source.agent_id, request_id=dedupe_key(source.id, lead, payload),
            contact=Contact(name=lead.name, email=lead.email, phone=lead.phone, external_id=lead.external_id),
            fields=lead.fields, message=lead.message, channel="email" if source.channel == "email" else "sms"))

    def _authenticate(self, source: InboundSourceRow, headers: Mapping[str, str], token: str | None,
                      body: bytes) -> None:
        if source.auth == "token":
            scheme, _, credential = headers.get("authorization", "").partition(" ")
            given = credential.strip() if scheme.lower() == "bearer" and credential else token
            if not given or not source.token_hash or not hmac.compare_digest(_digest(given), source.token_hash):
                raise Unauthorized("send this source's token as 'Authorization: Bearer <token>' or ?token=")
            return
        assert source.key_id is not None and source.nonce is not None and source.ciphertext is not None
        secret = self._integrations.keys.open(source.tenant_id, _purpose(source.id),
                                              Sealed(source.key_id, source.nonce, source.ciphertext))["secret"]
        try:
            Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()}, json_parse=False)
        except WebhookVerificationError as exc:
            raise Unauthorized(f"the Standard Webhooks signature does not verify: {exc}") from None


def parse_payload(body: bytes, content_type: str) -> dict[str, Any]:
    """A JSON object or a form's fields (a repeated field keeps its first value)."""
    kind = content_type.split(";")[0].strip().lower()
    if kind not in ACCEPTED:
        raise UnsupportedMediaType(f"send the lead as JSON or a form, not {kind or 'no content type'}", ACCEPTED)
    try:
        text = body.decode("utf-8")
        if kind == "application/json":
            payload = json.loads(text) if text.strip() else None
        else:
            payload = {}
            for key, value in parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)):
                payload.setdefault(key, value)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedBody(f"the body is not valid {kind}") from exc
    if not isinstance(payload, dict):
        raise MalformedBody("the lead must be a JSON object")
    return payload
