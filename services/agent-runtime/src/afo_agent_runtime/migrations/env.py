from afo_agent_runtime.adapters.tables import metadata
from afo_common.db import run_migrations_online

run_migrations_online(metadata)
