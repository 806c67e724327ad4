"""An Argon2id hasher at the lowest cost, for tests of accounts: the production cost (64 MiB, three passes)
is the point of hashing, not of the test, and at that cost the account tests alone took a minute."""

from __future__ import annotations

from argon2 import PasswordHasher

CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
# The same, for a gateway built from the environment.
CHEAP_PASSWORD_HASHING = {"AFO_PASSWORD_HASH_TIME_COST": "1", "AFO_PASSWORD_HASH_MEMORY_KIB": "8",
                          "AFO_PASSWORD_HASH_PARALLELISM": "1"}
