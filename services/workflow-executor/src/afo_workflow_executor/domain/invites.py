"""The calendar invitation sent with a booking's confirmation email: the pure iCalendar builder lives in
``afo_common.invites`` (notifier attaches the same invitation to its confirmation email)."""

from afo_common.invites import Meeting, cancellation_ics, invite_ics

__all__ = ["Meeting", "cancellation_ics", "invite_ics"]
