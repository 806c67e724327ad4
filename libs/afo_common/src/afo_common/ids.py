"""Identifiers: UUIDv7 for event ids, prefixed sortable ids for resources (``conv_…``, ``agt_…``)."""

from __future__ import annotations

import os
import re
import time
import uuid

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_ID_PATTERN = re.compile(r"^[a-z]{2,5}_[0-9a-z]{26}$")


_last = [0, 0]  # the last id's milliseconds and 12-bit sequence, in this process


def uuid7() -> uuid.UUID:
    """RFC 9562 UUIDv7: 48-bit Unix milliseconds, a 12-bit sequence, then random bits, so ids sort by creation
    time — within one millisecond of one process too (RFC 9562 §6.2, method 1: ``rand_a`` counts, starting at a
    random value; at its end the milliseconds move on)."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    if ms <= _last[0]:
        ms, sequence = _last[0], _last[1] + 1
        if sequence > 0xFFF:
            ms, sequence = ms + 1, 0
    else:
        sequence = (rand >> 62) & 0x7FF  # the upper half stays free for the count
    _last[0], _last[1] = ms, sequence
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= sequence << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A resource id such as ``conv_01jd…``: the prefix says the kind, the rest is a UUIDv7 in base32."""
    return f"{prefix}_{_base32(uuid7().int, 26)}"


def is_resource_id(value: str, prefix: str | None = None) -> bool:
    if not _ID_PATTERN.match(value):
        return False
    return prefix is None or value.startswith(prefix + "_")
