"""Pipedrive API v1 behind the `Crm` port, with an API token sent in the `x-api-token` header (never in the
URL, so it cannot leak into logs or errors). Base URL `https://{company_domain}.pipedrive.com/api`.

Endpoints and fields used (every answer is `{"success": true, "data": ...}`):
- `GET /v1/persons/search?term={email}&fields=email&exact_match=true` → `data.items[0].item.id`.
- `POST /v1/persons` `{name, email: [{value, primary, label}], phone: [...]}` to create,
  `PUT /v1/persons/{id}` with the same fields to update (only those the lead has; `name` falls back to the
  email, as Pipedrive requires one on create).
- `GET /v1/leads?person_id={id}&archived_status=not_archived` → an open lead's `id`, else
  `POST /v1/leads` `{title, person_id}` → `data.id` (a UUID).
- `POST /v1/notes` `{content, lead_id}`: the summary, the meeting and the qualification fields (HTML).
Record URL `https://{company_domain}.pipedrive.com/person/{id}`. The person and the lead are each found
again before being created on a retry, so a retried create makes no second person or lead. A person whose id
a first sync kept is updated by it (`PUT /v1/persons/{id}`); one deleted since (404) is searched for again.
"""

from __future__ import annotations

import html
from typing import Any

import httpx

from afo_common.provider_http import ProviderError, ProviderHttp, RetryPolicy
from afo_workflow_executor.domain.crm import CrmLead, CrmRecord, note_lines


class PipedriveCrm:
    def __init__(
        self,
        api_token: str,
        company_domain: str,
        *,
        base_url: str | None = None,
        policy: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._domain = company_domain
        base = base_url or f"https://{company_domain}.pipedrive.com/api"
        auth = {"x-api-token": api_token}
        self._http = ProviderHttp("pipedrive", base, secret=api_token, headers=auth, policy=policy,
                                  transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def upsert_lead(self, lead: CrmLead) -> CrmRecord:
        record = await self.upsert_contact(lead)
        await self.add_note(lead, record)
        return record

    async def upsert_contact(self, lead: CrmLead, record_id: str | None = None) -> CrmRecord:
        person_id = await self._http.retrying(lambda: self._upsert_person(lead, record_id))
        return CrmRecord("pipedrive", str(person_id), f"https://{self._domain}.pipedrive.com/person/{person_id}")

    async def add_note(self, lead: CrmLead, record: CrmRecord) -> None:
        person_id = int(record.record_id)
        lead_id = await self._http.retrying(lambda: self._open_lead(lead, person_id))
        content = "<br>".join(html.escape(line) for line in note_lines(lead))
        await self._http.request("POST", "/v1/notes", json={"content": content, "lead_id": lead_id})

    async def _upsert_person(self, lead: CrmLead, known_id: str | None) -> int:
        if known_id is not None and known_id.isdigit():
            try:
                await self._http.attempt("PUT", f"/v1/persons/{known_id}", json=_person(lead, creating=False))
                return int(known_id)
            except ProviderError as error:
                if error.status != 404:
                    raise
        params: dict[str, str | int] = {"term": lead.email, "fields": "email", "exact_match": "true", "limit": 1}
        found = await self._http.attempt("GET", "/v1/persons/search", params=params)
        items = ((found.get("data") or {}).get("items")) or []
        if not items:
            created = await self._http.attempt("POST", "/v1/persons", json=_person(lead, creating=True))
            return int(created["data"]["id"])
        person_id = int(items[0]["item"]["id"])
        await self._http.attempt("PUT", f"/v1/persons/{person_id}", json=_person(lead, creating=False))
        return person_id

    async def _open_lead(self, lead: CrmLead, person_id: int) -> str:
        params: dict[str, str | int] = {"person_id": person_id, "archived_status": "not_archived"}
        found = await self._http.attempt("GET", "/v1/leads", params=params)
        open_leads = found.get("data") or []
        if open_leads:
            return str(open_leads[0]["id"])
        title = f"{lead.company or lead.name or lead.email} (AFO)"
        created = await self._http.attempt("POST", "/v1/leads", json={"title": title, "person_id": person_id})
        return str(created["data"]["id"])


def _person(lead: CrmLead, *, creating: bool) -> dict[str, Any]:
    person: dict[str, Any] = {"email": [{"value": lead.email, "primary": True, "label": "work"}]}
    name = lead.name.strip() if lead.name else None
    if name or creating:
        person["name"] = name or lead.email
    if lead.phone:
        person["phone"] = [{"value": lead.phone, "primary": True, "label": "work"}]
    return person
