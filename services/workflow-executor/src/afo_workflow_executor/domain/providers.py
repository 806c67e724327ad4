"""How a call to an outside provider (a CRM, a calendar) fails, as handlers see it: ``ProviderError``, shared
with every service that calls providers (``afo_common.provider_errors``)."""

from __future__ import annotations

from afo_common.provider_errors import ProviderError

__all__ = ["ProviderError"]
