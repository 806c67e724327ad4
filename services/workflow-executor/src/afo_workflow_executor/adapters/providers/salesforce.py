"""Salesforce REST (API v60.0) behind the `Crm` port, with a connected app's OAuth refresh token.

Endpoints and fields used:
- `POST {login_url}/services/oauth2/token` form-encoded `grant_type=refresh_token, client_id, client_secret,
  refresh_token` → `access_token`, `instance_url` (every later call goes there, `Authorization: Bearer`). An
  API call answered `401` (`INVALID_SESSION_ID`: the session expired or was revoked) gets a new token and is
  sent once more; a second 401 is final.
- `PATCH /services/data/v60.0/sobjects/Lead/{external_id_field}/{value}` `{FirstName, LastName, Email, Phone,
  Company, LeadSource}` upserts the Lead whose external id field holds `value` — the lead's email, lower-cased:
  `201` with `{id}` when created; an update answers `200` with `{id}` (API 46.0 and later) or `204` without a
  body (earlier), then `GET …/Lead/{external_id_field}/{value}?fields=Id` gives the id. Salesforce requires
  `LastName` and `Company` on a Lead: a lead without them gets the email's local part and `[not provided]`
  on create, and keeps what Salesforce holds on an update. The external id makes the upsert idempotent by
  itself: a retried create finds the Lead its first try made.
- `POST /services/data/v60.0/sobjects/Task` `{WhoId, Subject, Description, Status: "Completed"}`: the note.
Record URL `{instance_url}/lightning/r/Lead/{id}/view`. The refresh token, the client secret and the access
token never appear in an error.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from afo_common.provider_http import ProviderError, ProviderHttp, RetryPolicy
from afo_workflow_executor.domain.crm import CrmLead, CrmRecord, note_lines

LOGIN_URL = "https://login.salesforce.com"
API_VERSION = "v60.0"
API = f"/services/data/{API_VERSION}"
EXTERNAL_ID_FIELD = "AFO_Email__c"
NOT_PROVIDED = "[not provided]"


class SalesforceCrm:
    def __init__(
        self,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        *,
        login_url: str = LOGIN_URL,
        external_id_field: str = EXTERNAL_ID_FIELD,
        api_version: str = API_VERSION,
        policy: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base = f"/services/data/{api_version}"
        self._transport = transport
        self._form = {"grant_type": "refresh_token", "client_id": client_id, "client_secret": client_secret,
                      "refresh_token": refresh_token}
        self._policy = policy
        self._login = ProviderHttp("salesforce", login_url, secret=refresh_token, policy=policy, transport=transport)
        self._field = external_id_field
        self._api: ProviderHttp | None = None
        self._instance_url = ""

    async def aclose(self) -> None:
        await self._login.aclose()
        if self._api is not None:
            await self._api.aclose()

    async def upsert_lead(self, lead: CrmLead) -> CrmRecord:
        record = await self.upsert_contact(lead)
        await self.add_note(lead, record)
        return record

    async def upsert_contact(self, lead: CrmLead, record_id: str | None = None) -> CrmRecord:
        """By the external id whatever `record_id` says: the external id is the key Salesforce upserts on."""
        path = f"{self._base}/sobjects/Lead/{self._field}/{quote(lead.email.lower(), safe='')}"
        created = await self._call("PATCH", path, json=_lead_fields(lead))
        if created is None:  # 204: updated, before API 46.0
            found = await self._call("GET", path, params={"fields": "Id"})
            lead_id = str(found["Id"])
        else:
            lead_id = str(created["id"])
        return CrmRecord("salesforce", lead_id, f"{self._instance_url}/lightning/r/Lead/{lead_id}/view")

    async def add_note(self, lead: CrmLead, record: CrmRecord) -> None:
        task = {"WhoId": record.record_id, "Subject": "AFO conversation", "Status": "Completed",
                "Description": "\n".join(note_lines(lead))}
        await self._call("POST", f"{self._base}/sobjects/Task", json=task)

    async def _call(self, method: str, path: str, *, json: Any = None,
                    params: dict[str, str | int] | None = None) -> Any:
        """One API request on a valid session: a 401 refreshes the token and asks once more."""
        api = self._api or await self._refresh()
        try:
            return await self._request(api, method, path, json, params)
        except ProviderError as error:
            if error.status != 401:
                raise
        return await self._request(await self._refresh(), method, path, json, params)

    async def _request(self, api: ProviderHttp, method: str, path: str, json: Any,
                       params: dict[str, str | int] | None) -> Any:
        if method == "PATCH":  # only the Lead upsert patches
            return await api.retrying(lambda: self._upsert_once(api, path, json))
        return await api.request(method, path, json=json, params=params)

    async def _upsert_once(self, api: ProviderHttp, path: str, fields: dict[str, str]) -> Any:
        """An update must not blank LastName/Company; a create needs them: Salesforce says which it was only
        after the fact, so the update-shaped body goes first and a create refused for a missing required
        field (`REQUIRED_FIELD_MISSING`, 400) is sent again with the placeholders."""
        try:
            return await api.attempt("PATCH", path, json=fields)
        except ProviderError as error:
            if error.status != 400 or "required" not in error.reason.lower():
                raise
        return await api.attempt("PATCH", path, json={**_placeholders(fields), **fields})

    async def _refresh(self) -> ProviderHttp:
        token = await self._login.request("POST", "/services/oauth2/token", data=self._form)
        if self._api is not None:
            await self._api.aclose()
        access_token, self._instance_url = str(token["access_token"]), str(token["instance_url"]).rstrip("/")
        self._api = ProviderHttp("salesforce", self._instance_url, secret=access_token,
                                 headers={"Authorization": f"Bearer {access_token}"}, policy=self._policy,
                                 transport=self._transport)
        return self._api


def _lead_fields(lead: CrmLead) -> dict[str, str]:
    first, last = lead.first_and_last_name()
    if last is None and first is not None:
        first, last = None, first  # one word: Salesforce's required field is the last name
    given = {"FirstName": first, "LastName": last, "Email": lead.email, "Phone": lead.phone,
             "Company": lead.company, "LeadSource": "AFO"}
    return {key: value for key, value in given.items() if value is not None}


def _placeholders(fields: dict[str, str]) -> dict[str, str]:
    return {"LastName": fields["Email"].partition("@")[0] or NOT_PROVIDED, "Company": NOT_PROVIDED}
