"""What the lead needs, in their words: "we need a chatbot", "looking to automate booking", "our biggest
problem is slow response times", "we struggle with missed calls".

The need runs from the cue to the end of its clause, or to "and" starting another statement ("… and can
spend 2k"); a time at its end ("a booking assistant asap") belongs to the timeline. Not a need: a request
to talk, meet or stop ("I need to talk to someone", "we need a demo"), a step before deciding ("I need to
check with my boss"), a launch date ("we need to launch in 3 weeks"), or a word too vague to act on
("a tool", "some help", "more info").
"""

from __future__ import annotations

import re

from afo_agent_runtime.domain.engine.timeline import find_timeline

_SUBJECT = r"(?:we|i|we're|we are|i'm|i am|im|we'd|i'd|we would|i would)"
# Someone the lead speaks for: "my manager wants …", "the team needs …", "they asked me to find …".
_OTHERS = (
    r"(?:they|he|she|my (?:boss|manager|team|clients?|customers?|partner|owner|ceo|staff)|"
    r"(?:the|our) (?:team|owner|boss|business|company|office|clinic|practice|staff|clients?|customers?))"
)
_VERB = (
    r"(?:really |just |also |mainly |mostly |basically |currently |kind of |definitely )?"
    r"(?:need|needs|want|wants|require|requires|looking for|looking to|after|"
    r"hoping to get|hoping for|hoping to|trying to|struggle with|struggling with|interested in|keen on|"
    r"searching for|in need of|in the market for|asked me to (?:find|get|look for|look into)|"
    r"want me to (?:find|get|look for|look into))"
)
_CUE = re.compile(
    rf"(?:\b(?:{_SUBJECT}|{_OTHERS})(?: \([^)]*\))? {_VERB}"
    # "we use Zendesk" names a tool they have, "I love your website" praises: a wish is "we could use …",
    # "we'd like …", "we would love …".
    r"|\b(?:we|i) could (?:really )?use|\b(?:we|i)(?:'d| would) (?:really )?(?:like|love)"
    r"|(?:^|[,;]\s*|\band\s+)(?:(?:hi|hey|hello|so|well|also)[,!]?\s+)?(?:really |also |just )?"
    r"(?:need|needs|looking for|looking to|hoping to get|hoping to|interested in|trying to)"
    r"|\bwhat (?:we|i)(?:'re| are|'m| am)? (?:need|want|after|looking for|are after|want most) is"
    r"|\b(?:our|my|the) (?:main |biggest |big |key |primary |real |only )?"
    r"(?:need|goal|problem|challenge|issue|pain point|priority|aim|objective|use case) is)"
    r"\s+(?P<value>[^,;.!?\n]+)",
    re.IGNORECASE,
)
# "and" that starts a new statement: a subject or a modal after it, not a second thing needed.
_CLAUSE_END = re.compile(
    r"\s(?:and|but|so)\s+(?:we|i|our|my|it|they|can|could|would|will|have|budget|the budget|want|need|"
    r"looking|hoping)\b|\s(?:-|—|because|since|ideally|by|before)\s",
    re.IGNORECASE,
)
_NOT_A_NEED = re.compile(
    r"^(?:to )?(?:talk|speak|chat|meet|call|reach|contact|unsubscribe|know|ask|see|hear|get in touch|check|"
    r"think|discuss|consult|confirm|decide|run it by|get approval|learn more|find out|understand|review|"
    r"approve|sign off|agree|evaluate|compare|try it|test it|look (?:at|over|into) it|sleep on it|"
    r"book (?:a |an |the )?(?:call|demo|meeting|time|slot|chat)|"
    r"schedule (?:a |an |the )?(?:call|demo|meeting|time|slot|chat)|"
    r"stop(?: (?:it|this|that|texting|messaging|the messages|receiving|contacting))?$)\b"
    r"|^(?:a |an |some |the |to )?(?:human|person|agent|representative|someone|somebody|demo|call|meeting|"
    r"price|prices|pricing|quote|minute|moment|second|break)\b"
    r"|^(?:it|this|that|them|one|you|yet|what|more)\b"
    r"|^(?:a |an |some |any |more |the |your |other )?(?:tool|solution|product|software|service|help|info|"
    r"information|details|options|something|anything|way|ideas?|advice|answers?)$",
    re.IGNORECASE,
)
# "we need to launch in 3 weeks": with the time taken out, only a verb of starting is left.
_ONLY_A_START = re.compile(
    r"^(?:to )?(?:launch|start|begin|go live|be live|roll (?:it )?out|get started|kick off|have (?:it|this)"
    r"(?: (?:running|live|ready|done))?|get (?:it|this) (?:running|live|done))\b\W*$",
    re.IGNORECASE,
)


_DANGLING = re.compile(r"(?:\s+(?:over|in|by|within|during|before|for|the|next|of))+\s*$", re.IGNORECASE)


def _trimmed(value: str) -> str:
    end = _CLAUSE_END.search(value)
    value = (value[: end.start()] if end else value).strip()
    timeline = find_timeline(value)
    if timeline and value.endswith(timeline):
        value = _DANGLING.sub("", value[: -len(timeline)]).strip()
    if value.lower().startswith("to "):
        value = value[3:]
    return value


def find_need(text: str) -> str | None:
    for match in _CUE.finditer(text):
        raw = match.group("value").strip()
        value = _trimmed(raw)
        if not value or _NOT_A_NEED.search(value) or _NOT_A_NEED.search(raw):
            continue
        if _ONLY_A_START.match(value):
            continue
        return value
    return None


def is_not_a_need(answer: str) -> bool:
    return bool(_NOT_A_NEED.search(answer))
