"""Encryption at rest of providers' credentials: AES-256-GCM, a random 96-bit nonce per record, the tenant
and the provider as associated data (a ciphertext moved to another tenant or provider does not decrypt),
the whole JSON of a record's fields as one blob, and the id of the key that sealed it stored beside it.

The keys come from ``AFO_VAULT_KEY``: ``id1:base64,id2:base64`` (32 bytes each). The first is current and
seals every write; the others still open what they sealed, until the gateway has sealed it again under the
current one (``handlers/integrations.py``)."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
KEY_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
DEFAULT_KEY_ID = "k0"


class VaultKeyError(ValueError):
    """AFO_VAULT_KEY is malformed: the gateway refuses to start rather than run without its vault."""


class Undecryptable(Exception):
    """No key opens the record: its key was removed, or the ciphertext was moved or altered."""


@dataclass(frozen=True)
class Sealed:
    key_id: str
    nonce: bytes
    ciphertext: bytes


def parse_keys(raw: str) -> dict[str, bytes]:
    """Keys by id, the current one first. One bare base64 key is ``k0``."""
    keys: dict[str, bytes] = {}
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        key_id, _, encoded = entry.rpartition(":") if ":" in entry else (DEFAULT_KEY_ID, "", entry)
        if not _KEY_ID.match(key_id):
            raise VaultKeyError(f"AFO_VAULT_KEY: key id {key_id!r} is not [A-Za-z0-9_-]{{1,32}}")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise VaultKeyError(f"AFO_VAULT_KEY: key {key_id!r} is not base64") from None
        if len(key) != KEY_BYTES:
            raise VaultKeyError(f"AFO_VAULT_KEY: key {key_id!r} is {len(key)} bytes, not {KEY_BYTES}")
        if key_id in keys:
            raise VaultKeyError(f"AFO_VAULT_KEY: key id {key_id!r} appears twice")
        keys[key_id] = key
    if not keys:
        raise VaultKeyError("AFO_VAULT_KEY holds no key")
    return keys


def _associated(tenant_id: str, provider: str) -> bytes:
    return f"afo-vault/v1/{tenant_id}/{provider}".encode()


class Keyring:
    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise VaultKeyError("a keyring needs at least one key")
        self._keys = dict(keys)
        self.current = next(iter(keys))

    @classmethod
    def from_setting(cls, raw: str) -> Keyring:
        return cls(parse_keys(raw))

    def seal(self, tenant_id: str, provider: str, fields: dict[str, Any]) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        plaintext = json.dumps(fields, separators=(",", ":"), sort_keys=True).encode()
        ciphertext = AESGCM(self._keys[self.current]).encrypt(nonce, plaintext, _associated(tenant_id, provider))
        return Sealed(self.current, nonce, ciphertext)

    def open(self, tenant_id: str, provider: str, sealed: Sealed) -> dict[str, Any]:
        key = self._keys.get(sealed.key_id)
        if key is None:
            raise Undecryptable(f"the vault key {sealed.key_id!r} is not in AFO_VAULT_KEY")
        try:
            plaintext = AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, _associated(tenant_id, provider))
        except InvalidTag:
            raise Undecryptable("the record does not decrypt for this tenant and provider") from None
        fields: dict[str, Any] = json.loads(plaintext)
        return fields
