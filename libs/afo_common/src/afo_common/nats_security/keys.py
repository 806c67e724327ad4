"""nkeys (ed25519 keys in NATS' base32 encoding with a role prefix and a CRC): create, sign, verify."""

from __future__ import annotations

import base64
import os

import nacl.exceptions
import nacl.signing
import nkeys

ROLE_PREFIX = {"user": nkeys.PREFIX_BYTE_USER, "account": nkeys.PREFIX_BYTE_ACCOUNT,
               "server": nkeys.PREFIX_BYTE_SERVER}


class InvalidKey(ValueError):
    pass


def new_seed(role: str) -> str:
    """A fresh seed (``SU...`` for a user, ``SA...`` for an account)."""
    seed: bytes = nkeys.encode_seed(os.urandom(32), ROLE_PREFIX[role])
    return seed.decode()


def public_key(seed: str) -> str:
    try:
        key: bytes = nkeys.from_seed(seed.encode()).public_key
    except (nkeys.NkeysError, ValueError) as exc:
        raise InvalidKey("not an nkey seed") from exc
    return key.decode()


def sign(seed: str, data: bytes) -> bytes:
    signature: bytes = nkeys.from_seed(seed.encode()).sign(data)
    return signature


def role_of(key: str) -> str | None:
    """The role of a public key (``U``ser, ``A``ccount, ``N`` server), None if it is not a valid one."""
    try:
        raw = base64.b32decode(key + "=" * (-len(key) % 8))
    except ValueError:
        return None
    if len(raw) != 35 or nkeys.crc16(bytearray(raw[:-2])) != int.from_bytes(raw[-2:], "little"):
        return None
    return next((role for role, prefix in ROLE_PREFIX.items() if raw[0] == prefix), None)


def verify(key: str, data: bytes, signature: bytes) -> bool:
    if role_of(key) is None:
        return False
    raw = base64.b32decode(key + "=" * (-len(key) % 8))
    try:
        nacl.signing.VerifyKey(raw[1:-2]).verify(data, signature)
    except nacl.exceptions.BadSignatureError:
        return False
    return True
