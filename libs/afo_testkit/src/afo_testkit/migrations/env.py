from afo_common.db import new_metadata, run_migrations_online
from afo_common.messaging.tables import messaging_tables

# The same tables as afo_testkit.migrations.messaging, built here so Alembic's env needs no package import.
metadata = new_metadata()
messaging_tables(metadata)

run_migrations_online(metadata)
