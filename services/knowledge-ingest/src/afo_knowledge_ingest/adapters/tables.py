"""The knowledge-ingest database: its own tables arrive with the issue that builds its capability."""

from afo_common.db import new_metadata
from afo_common.messaging.tables import messaging_tables

metadata = new_metadata()
messaging = messaging_tables(metadata)
