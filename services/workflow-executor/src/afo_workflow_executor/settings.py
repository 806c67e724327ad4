"""workflow-executor's settings: the common ones plus where the outside calendars' APIs are (the providers'
own by default; a local stand-in in tests and demos)."""

from __future__ import annotations

from afo_common.settings import ServiceSettings
from afo_workflow_executor.adapters.providers.calendly import CALENDLY_API
from afo_workflow_executor.adapters.providers.google_calendar import GOOGLE_API, GOOGLE_OAUTH


class WorkflowExecutorSettings(ServiceSettings):
    google_api_base_url: str = GOOGLE_API  # AFO_GOOGLE_API_BASE_URL
    google_oauth_base_url: str = GOOGLE_OAUTH  # AFO_GOOGLE_OAUTH_BASE_URL: the token endpoint's, as the gateway's
    calendly_api_base_url: str = CALENDLY_API  # AFO_CALENDLY_API_BASE_URL
