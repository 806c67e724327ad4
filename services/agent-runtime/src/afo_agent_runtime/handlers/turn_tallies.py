"""The turns' tallies sent: every closed window of an agent's turns, per API key, as one
``conversation.turns_tallied`` (``afo_common.tallies``; the turn adds to its window in ``handlers/turns.py``)."""

from __future__ import annotations

from afo_common.clock import Clock
from afo_common.events.conversation import TurnsTallied
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.tallies import Counted, Tally, TallyCloser


def turn_tally_closer(tally: Tally, units: UnitOfWorkFactory, clock: Clock, grace_s: float) -> TallyCloser:
    def tallied(counted: Counted) -> TurnsTallied:
        sums = counted.sums
        return TurnsTallied(agent_id=counted.keys["agent_id"], key_id=counted.keys["key_id"] or None,
                            window_start=counted.window_start, window_s=tally.window_s,
                            messages=int(sums["messages"]), replies=int(sums["replies"]),
                            reply_ms_total=float(sums["reply_ms_total"]), fallbacks=int(sums["fallbacks"]))

    return TallyCloser(tally, units, tallied, grace_s=grace_s, now=clock.now)
