from afo_common.db import run_migrations_online
from afo_workflow_executor.adapters.tables import metadata

run_migrations_online(metadata)
