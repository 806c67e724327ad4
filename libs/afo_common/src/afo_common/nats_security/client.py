"""How an AFO process connects to NATS: its nkey, its own reply-inbox prefix and, when configured, TLS."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faststream.nats.security import NatsNKey, NatsSecurity

from afo_common.nats_security.permissions import inbox_prefix


@dataclass(frozen=True)
class NatsAuth:
    user: str                      # names the inbox prefix; the server knows the user by its key
    nkey_seed: str | None = None   # None: connect without credentials (a NATS with no authorization)
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.tls_ca_file is None and self.tls_cert_file is None:
            return None
        context = ssl.create_default_context(cafile=str(self.tls_ca_file) if self.tls_ca_file else None)
        if self.tls_cert_file is not None:
            context.load_cert_chain(str(self.tls_cert_file), str(self.tls_key_file) if self.tls_key_file else None)
        return context

    def connect_options(self) -> dict[str, Any]:
        """Keyword arguments for ``nats.connect``."""
        options: dict[str, Any] = {"inbox_prefix": inbox_prefix(self.user)}
        if self.nkey_seed:
            options["nkeys_seed_str"] = self.nkey_seed
        if (context := self.ssl_context()) is not None:
            options["tls"] = context
        return options

    def broker_options(self) -> dict[str, Any]:
        """Keyword arguments for FastStream's ``NatsBroker`` (the same connection settings)."""
        context = self.ssl_context()
        security: NatsSecurity | None = None
        if self.nkey_seed:
            security = NatsNKey.from_seed(self.nkey_seed, ssl_context=context)
        elif context is not None:
            security = NatsSecurity(ssl_context=context)
        return {"inbox_prefix": inbox_prefix(self.user), "security": security}
