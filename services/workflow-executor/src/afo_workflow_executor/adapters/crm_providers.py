"""Where CRM sync gets a tenant's CRM: credentials resolved over RPC from the gateway's vault, and the adapter
each provider's fields open.

Fields, as the vault stores them: hubspot {access_token, base_url?}; pipedrive {api_token, company_domain,
base_url?}; salesforce {client_id, client_secret, refresh_token, login_url?, external_id_field?} (its API is
at the ``instance_url`` its token endpoint answers with). ``base_url`` / ``login_url`` point an adapter at
another server than the provider's own (a sandbox, or a local stand-in in tests)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from afo_common.credentials import resolve_credential
from afo_common.messaging.rpc import RpcClient
from afo_common.provider_errors import ProviderError
from afo_common.provider_http import RetryPolicy
from afo_workflow_executor.adapters.providers.hubspot import HUBSPOT_API, HubSpotCrm
from afo_workflow_executor.adapters.providers.pipedrive import PipedriveCrm
from afo_workflow_executor.adapters.providers.recording import CallRecorder
from afo_workflow_executor.adapters.providers.salesforce import EXTERNAL_ID_FIELD, LOGIN_URL, SalesforceCrm
from afo_workflow_executor.domain.crm import CrmSteps

SERVICE = "workflow-executor"


class VaultCredentials:
    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc

    async def resolve(self, tenant_id: str, provider: str) -> dict[str, str] | None:
        return await resolve_credential(self._rpc, SERVICE, tenant_id, provider, "crm sync")


@dataclass(frozen=True)
class RecordedCrm:
    """An adapter whose requests go through a ``CallRecorder``."""

    crm: CrmSteps
    recorder: CallRecorder

    @property
    def sent(self) -> Sequence[int | None]:
        return [call.status for call in self.recorder.calls]

    async def close(self) -> None:
        await self.crm.aclose()
        await self.recorder.close()


class CrmOpener:
    """Opens the adapter for a provider's fields, recording its requests; a field missing is a final
    ``ProviderError``."""

    def __init__(self, policy: RetryPolicy | None = None) -> None:
        self._policy = policy

    def __call__(self, provider: str, fields: Mapping[str, str]) -> RecordedCrm:
        recorder = CallRecorder()  # opens no connection until the adapter's first request
        return RecordedCrm(self._open(provider, fields, recorder), recorder)

    def _open(self, provider: str, fields: Mapping[str, str], transport: CallRecorder) -> CrmSteps:
        def need(name: str) -> str:
            value = fields.get(name)
            if not value:
                raise ProviderError(provider, None, f"the stored credential has no {name}", retryable=False)
            return value

        if provider == "hubspot":
            return HubSpotCrm(need("access_token"), base_url=fields.get("base_url") or HUBSPOT_API,
                              policy=self._policy, transport=transport)
        if provider == "pipedrive":
            return PipedriveCrm(need("api_token"), need("company_domain"), base_url=fields.get("base_url") or None,
                                policy=self._policy, transport=transport)
        if provider == "salesforce":
            return SalesforceCrm(need("client_id"), need("client_secret"), need("refresh_token"),
                                 login_url=fields.get("login_url") or LOGIN_URL,
                                 external_id_field=fields.get("external_id_field") or EXTERNAL_ID_FIELD,
                                 policy=self._policy, transport=transport)
        raise ProviderError(provider, None, "not a CRM this service knows", retryable=False)
