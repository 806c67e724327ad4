"""Calls to providers' HTTP APIs: ``afo_common.provider_http`` (httpx + tenacity, ``Retry-After`` honoured),
shared with notifier's Twilio adapter."""

from __future__ import annotations

from afo_common.provider_http import ProviderError, ProviderHttp, RetryPolicy, retry_after_seconds

__all__ = ["ProviderError", "ProviderHttp", "RetryPolicy", "retry_after_seconds"]
