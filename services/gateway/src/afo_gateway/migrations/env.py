from afo_common.db import run_migrations_online
from afo_gateway.adapters.tables import metadata

run_migrations_online(metadata)
