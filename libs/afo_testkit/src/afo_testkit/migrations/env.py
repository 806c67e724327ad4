from afo_common.db import run_migrations_online
from afo_testkit.migrations import metadata

run_migrations_online(metadata)
