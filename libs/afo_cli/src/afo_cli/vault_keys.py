"""The gateway's vault keys on this machine: ``$AFO_HOME/vault.key`` (0600) holds ``AFO_VAULT_KEY``,
``id:base64`` entries of 32 random bytes, comma-separated, the current one first. ``afo up`` makes the file
when neither it nor AFO_VAULT_KEY exists and gives its content to the gateway only; ``afo vault rotate`` puts
a new current key in front and keeps the others, which still decrypt until the gateway has encrypted every
record again under the new one (at its next start, then periodically)."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

VARIABLE = "AFO_VAULT_KEY"
FILE_NAME = "vault.key"


def key_path(home: Path) -> Path:
    return home / FILE_NAME


def new_entry(now: datetime | None = None) -> str:
    """``v<UTC time><random>:<base64 of 32 random bytes>``."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    return f"v{stamp}{secrets.token_hex(2)}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def key_ids(value: str) -> list[str]:
    return [entry.partition(":")[0] for entry in value.split(",") if entry.strip()]


def _write(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(value + "\n")
    temporary.chmod(0o600)
    temporary.replace(path)


def read_keys(home: Path) -> str | None:
    path = key_path(home)
    return path.read_text().strip() if path.exists() else None


def ensure_key(home: Path, environ: Mapping[str, str] = os.environ) -> str:
    """What the gateway gets as AFO_VAULT_KEY: the variable when set, else the key file, made when missing."""
    if given := environ.get(VARIABLE):
        return given
    if (existing := read_keys(home)) is not None:
        return existing
    value = new_entry()
    _write(key_path(home), value)
    return value


def rotate(home: Path) -> str:
    """Puts a new current key in front of the file's keys; the new key's id."""
    existing = read_keys(home)
    if existing is None:
        raise FileNotFoundError(f"{key_path(home)} does not exist: `afo up` makes it")
    entry = new_entry()
    _write(key_path(home), f"{entry},{existing}")
    return entry.partition(":")[0]


def retire(home: Path, keep: int) -> list[str]:
    """Keeps the ``keep`` newest keys and drops the rest; the ids dropped."""
    existing = read_keys(home)
    if existing is None:
        raise FileNotFoundError(f"{key_path(home)} does not exist")
    entries = [e.strip() for e in existing.split(",") if e.strip()]
    _write(key_path(home), ",".join(entries[:max(1, keep)]))
    return key_ids(",".join(entries[max(1, keep):]))
