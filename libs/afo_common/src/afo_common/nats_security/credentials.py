"""The platform's NATS credentials: an nkey seed per user of ``permissions.users()`` and the account seed
that signs the auth callout's user JWTs. Generated once into a 0600 file and reused.

Seeds, not passwords: the server's configuration then holds only public keys (nothing secret to leak from
a ConfigMap or a log), nothing secret crosses the wire (the client signs the server's nonce), and the same
``nkeys`` library signs the callout's JWTs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from afo_common.nats_security.keys import new_seed, public_key
from afo_common.nats_security.permissions import users

CALLOUT_ISSUER = "callout-issuer"


@dataclass(frozen=True)
class NatsCredentials:
    seeds: dict[str, str]  # user (or CALLOUT_ISSUER) -> nkey seed

    @classmethod
    def generate(cls) -> NatsCredentials:
        seeds = {user: new_seed("user") for user in users()}
        seeds[CALLOUT_ISSUER] = new_seed("account")
        return cls(seeds)

    def seed(self, user: str) -> str:
        return self.seeds[user]

    def public_key(self, user: str) -> str:
        return public_key(self.seeds[user])

    def public_keys(self) -> dict[str, str]:
        return {user: public_key(seed) for user, seed in self.seeds.items()}

    @classmethod
    def load_or_create(cls, path: Path) -> NatsCredentials:
        """Read ``path``; create it (mode 0600, folder 0700) the first time. A user added to the table since
        gets a seed of its own; existing seeds are kept."""
        stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        fresh = cls.generate()
        credentials = cls({user: stored.get(user, seed) for user, seed in fresh.seeds.items()})
        if credentials.seeds != stored:
            credentials.save(path)
        return credentials

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = path.with_suffix(".tmp")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            json.dump(self.seeds, out, indent=2)
            out.write("\n")
        partial.replace(path)


def credentials_path(home: Path) -> Path:
    return home / "nats" / "credentials.json"
