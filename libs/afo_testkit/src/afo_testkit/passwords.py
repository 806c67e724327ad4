"""An Argon2id hasher at the lowest cost, for tests of accounts: the production cost (64 MiB, three passes)
is the point of hashing, not of the test, and at that cost the account tests alone took a minute."""

from __future__ import annotations

from argon2 import PasswordHasher

CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
