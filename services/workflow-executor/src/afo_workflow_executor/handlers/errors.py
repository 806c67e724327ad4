"""What a handler answers when a request cannot be served; the RPC edge maps each to one error code."""

from __future__ import annotations


class NotFound(Exception):
    """No such thing for this tenant (another tenant's is not found either)."""


class Invalid(Exception):
    """The request's content cannot be used; the message says why."""
