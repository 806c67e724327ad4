"""workflow-executor's settings: the common ones plus where the outside calendars' APIs are (the providers'
own by default; a local stand-in in tests and demos), and anomaly detection's parameters (``domain/anomalies.py``;
small in tests so a baseline warms up in seconds)."""

from __future__ import annotations

from pydantic import Field

from afo_common.settings import ServiceSettings
from afo_workflow_executor.adapters.providers.calendly import CALENDLY_API
from afo_workflow_executor.adapters.providers.google_calendar import GOOGLE_API, GOOGLE_OAUTH
from afo_workflow_executor.domain.anomalies import Params


class WorkflowExecutorSettings(ServiceSettings):
    google_api_base_url: str = GOOGLE_API  # AFO_GOOGLE_API_BASE_URL
    google_oauth_base_url: str = GOOGLE_OAUTH  # AFO_GOOGLE_OAUTH_BASE_URL: the token endpoint's, as the gateway's
    calendly_api_base_url: str = CALENDLY_API  # AFO_CALENDLY_API_BASE_URL
    anomaly_bucket_s: int = Field(default=300, ge=1, le=86400)  # AFO_ANOMALY_BUCKET_S
    anomaly_warmup_buckets: int = Field(default=12, ge=1)  # AFO_ANOMALY_WARMUP_BUCKETS
    anomaly_min_rate_volume: int = Field(default=20, ge=1)  # AFO_ANOMALY_MIN_RATE_VOLUME
    anomaly_min_latency_volume: int = Field(default=10, ge=1)  # AFO_ANOMALY_MIN_LATENCY_VOLUME
    anomaly_min_key_messages: int = Field(default=20, ge=1)  # AFO_ANOMALY_MIN_KEY_MESSAGES
    anomaly_sigmas: float = Field(default=3.0, gt=0)  # AFO_ANOMALY_SIGMAS
    anomaly_alpha: float = Field(default=0.1, gt=0, le=1)  # AFO_ANOMALY_ALPHA
    anomaly_grace_s: float = Field(default=30.0, ge=0)  # AFO_ANOMALY_GRACE_S
    anomaly_tick_s: float = Field(default=30.0, gt=0)  # AFO_ANOMALY_TICK_S

    def anomaly_params(self) -> Params:
        return Params(bucket_s=self.anomaly_bucket_s, alpha=self.anomaly_alpha, sigmas=self.anomaly_sigmas,
                      warmup=self.anomaly_warmup_buckets, min_rate_volume=self.anomaly_min_rate_volume,
                      min_latency_volume=self.anomaly_min_latency_volume,
                      min_key_messages=self.anomaly_min_key_messages, grace_s=self.anomaly_grace_s)
