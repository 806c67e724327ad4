"""The database of a service that owns nothing but its outbox and inbox: what tests of the service runner
(``afo_common.service.Service``) pass as ``tables`` and ``"afo_testkit.migrations"``."""

from afo_common.db import new_metadata
from afo_common.messaging.tables import messaging_tables

metadata = new_metadata()
messaging = messaging_tables(metadata)
