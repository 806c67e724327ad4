"""agent-runtime's settings: the common ones plus the operator's LLM key and how turns are delivered."""

from __future__ import annotations

from pydantic import Field

from afo_common.settings import ServiceSettings


class AgentRuntimeSettings(ServiceSettings):
    llm_api_key: str | None = None
    max_deliver: int = 5
    # A turn in progress is kept alive by a heartbeat, so this is only how long the messages a crashed
    # process held wait before another replica, or the restarted process, answers them.
    turn_ack_wait_s: float = 5.0
    # Past this a turn is taken for hung: its delivery is let go and retried (then dead-lettered).
    turn_max_s: float = 120.0
    # How long a message waits for an earlier one of its conversation before being answered anyway
    # (longer than a failing turn's retries, 0.2 + 1 + 5 + 15 s).
    turn_order_wait_s: float = 30.0
    # A lead waits while the documents are searched; past this the reply says it can't look that up now.
    knowledge_search_timeout_s: float = 1.5
    # How often the conversations idle past their agent's timeout are looked for and ended.
    idle_check_interval_s: float = 60.0
    # An agent test run plays every test of an agent; a test still playing past this fails (the gateway waits a
    # little longer for the run's answer).
    agent_tests_run_timeout_s: float = 60.0
    # Turns are counted per agent and API key in windows of this length (``afo_common.tallies``), each window
    # sent as one ``conversation.turns_tallied`` once it has been over for ``turn_tally_grace_s``; the closer
    # looks every ``turn_tally_close_s``.
    turn_tally_window_s: int = Field(default=60, ge=1, le=3600)
    turn_tally_grace_s: float = Field(default=5.0, ge=0)
    turn_tally_close_s: float = Field(default=10.0, gt=0)
