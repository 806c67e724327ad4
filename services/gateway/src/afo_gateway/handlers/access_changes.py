"""A change of who may do what, applied to this process: cached principals are dropped and open streams
that lost their access end. The handler that makes the change applies it here at once; every replica
(this one included) applies it again when the change's event arrives (``entrypoints/access_events.py``)."""

from __future__ import annotations

from afo_gateway.domain.access import ROLE_PERMISSIONS, Role
from afo_gateway.handlers.authentication import Authenticator
from afo_gateway.handlers.live_streams import LiveStreams


class AccessChanges:
    def __init__(self, auth: Authenticator, streams: LiveStreams) -> None:
        self._auth = auth
        self._streams = streams

    def key_revoked(self, key_id: str) -> None:
        self._auth.forget_subject(key_id)
        self._streams.key_revoked(key_id)

    def session_ended(self, user_id: str, session_digest: str) -> None:
        self._auth.forget(session_digest)
        self._streams.session_ended(user_id, session_digest)

    def role_changed(self, user_id: str, role: Role) -> None:
        self._auth.forget_subject(user_id)
        self._streams.role_changed(user_id, ROLE_PERMISSIONS[role])
