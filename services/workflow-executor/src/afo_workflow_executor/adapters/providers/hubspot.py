"""HubSpot CRM v3 behind the `Crm` port, with a private-app access token (`Authorization: Bearer`).

Endpoints and fields used:
- `GET /account-info/v3/details` → `portalId` (cached), for the record URL
  `https://app.hubspot.com/contacts/{portalId}/record/0-1/{contactId}`.
- `POST /crm/v3/objects/contacts/search` with `filterGroups: [{filters: [{propertyName: "email",
  operator: "EQ", value}]}]` → `results[0].id`.
- `POST /crm/v3/objects/contacts` `{properties}` to create, `PATCH /crm/v3/objects/contacts/{id}`
  `{properties}` to update; properties `email`, `firstname`, `lastname`, `phone`, `company` (only those the
  lead has). A create answered `409 CONFLICT` ("Contact already exists. Existing ID: N") — a retried create
  whose first try landed, or a search index not yet caught up — updates contact N instead.
- `POST /crm/v3/objects/notes` `{properties: {hs_note_body, hs_timestamp}, associations: [{to: {id},
  types: [{associationCategory: "HUBSPOT_DEFINED", associationTypeId: 202}]}]}` (202 = note to contact):
  the summary, the meeting and the qualification fields. Each upsert adds one note.
- A contact whose id a first sync kept is updated by it (`PATCH …/contacts/{id}`); one deleted since (404) is
  looked up by email again.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from afo_common.provider_http import ProviderError, ProviderHttp, RetryPolicy
from afo_workflow_executor.domain.crm import CrmLead, CrmRecord, note_lines

HUBSPOT_API = "https://api.hubapi.com"
NOTE_TO_CONTACT = 202
_EXISTING_ID = re.compile(r"Existing ID: (\d+)")


class HubSpotCrm:
    def __init__(
        self,
        access_token: str,
        *,
        base_url: str = HUBSPOT_API,
        policy: RetryPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        auth = {"Authorization": f"Bearer {access_token}"}
        self._http = ProviderHttp("hubspot", base_url, secret=access_token, headers=auth, policy=policy,
                                  transport=transport)
        self._clock = clock
        self._portal_id: int | None = None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def upsert_lead(self, lead: CrmLead) -> CrmRecord:
        record = await self.upsert_contact(lead)
        await self.add_note(lead, record)
        return record

    async def upsert_contact(self, lead: CrmLead, record_id: str | None = None) -> CrmRecord:
        portal_id = await self._portal()
        contact_id = await self._http.retrying(lambda: self._upsert_contact(lead, record_id))
        url = f"https://app.hubspot.com/contacts/{portal_id}/record/0-1/{contact_id}"
        return CrmRecord("hubspot", contact_id, url)

    async def add_note(self, lead: CrmLead, record: CrmRecord) -> None:
        await self._http.request("POST", "/crm/v3/objects/notes", json=self._note(lead, record.record_id))

    async def _portal(self) -> int:
        if self._portal_id is None:
            details = await self._http.request("GET", "/account-info/v3/details")
            self._portal_id = int(details["portalId"])
        return self._portal_id

    async def _upsert_contact(self, lead: CrmLead, known_id: str | None) -> str:
        """One try at search, then create or update; `retrying` runs it again from the search."""
        properties = _properties(lead)
        if known_id is not None:
            try:
                path = f"/crm/v3/objects/contacts/{known_id}"
                await self._http.attempt("PATCH", path, json={"properties": properties})
                return known_id
            except ProviderError as error:
                if error.status != 404:
                    raise
        found = await self._http.attempt("POST", "/crm/v3/objects/contacts/search", json=_search(lead.email))
        results = found.get("results") or []
        if results:
            contact_id = str(results[0]["id"])
        else:
            try:
                created = await self._http.attempt("POST", "/crm/v3/objects/contacts", json={"properties": properties})
                return str(created["id"])
            except ProviderError as error:
                existing = _EXISTING_ID.search(error.reason) if error.status == 409 else None
                if existing is None:
                    raise
                contact_id = existing.group(1)
        path = f"/crm/v3/objects/contacts/{contact_id}"
        await self._http.attempt("PATCH", path, json={"properties": properties})
        return contact_id

    def _note(self, lead: CrmLead, contact_id: str) -> dict[str, Any]:
        body = "<br>".join(html.escape(line) for line in note_lines(lead))
        stamp = self._clock().astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        association = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": NOTE_TO_CONTACT}
        return {
            "properties": {"hs_note_body": body, "hs_timestamp": stamp},
            "associations": [{"to": {"id": contact_id}, "types": [association]}],
        }


def _search(email: str) -> dict[str, Any]:
    email_is = {"propertyName": "email", "operator": "EQ", "value": email}
    return {"filterGroups": [{"filters": [email_is]}], "properties": ["email"], "limit": 1}


def _properties(lead: CrmLead) -> dict[str, str]:
    first, last = lead.first_and_last_name()
    given = {"email": lead.email, "firstname": first, "lastname": last, "phone": lead.phone, "company": lead.company}
    return {key: value for key, value in given.items() if value is not None}
