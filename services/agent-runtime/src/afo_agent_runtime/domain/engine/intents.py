"""Deterministic intent classification: weighted keyword and pattern rules, combined per intent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from afo_agent_runtime.domain.engine.text import clean


class Intent(StrEnum):
    GREETING = "greeting"
    QUESTION = "question"
    SCHEDULING = "scheduling"
    PRICING = "pricing"
    HUMAN = "human"
    OPT_OUT = "opt_out"
    PROVIDE_INFO = "provide_info"
    OTHER = "other"


@dataclass(frozen=True)
class IntentResult:
    intent: Intent
    confidence: float
    scores: dict[Intent, float]


@dataclass(frozen=True)
class _Rule:
    intent: Intent
    pattern: re.Pattern[str]
    weight: float
    # "don't stop texting me" must not opt the lead out, so some rules check for a negation just before.
    negatable: bool = False


def _rule(intent: Intent, pattern: str, weight: float, *, negatable: bool = False) -> _Rule:
    return _Rule(intent, re.compile(pattern, re.IGNORECASE), weight, negatable)


# "mon", "sat" and "sun" are words too ("mon portable", "I sat down"): only the full names count for them.
_WEEKDAY = r"(?:monday|sunday|saturday|tue|tues|tuesday|wed|wednesday|thu|thur|thurs|thursday|fri|friday)"
_PERSON = (
    r"(?:person|human|agent|representative|rep|someone|somebody|manager|sales ?person|operator|"
    r"(?:sales )?team|sales)"
)

_RULES: tuple[_Rule, ...] = (
    # Carrier opt-out keywords only count when they are the whole message ("STOP", "cancel").
    _rule(
        Intent.OPT_OUT,
        r"^(?:please )?(?:stop|stop all|stopall|unsubscribe|opt ?-?out|quit|cancel|end|revoke|remove me|"
        r"not interested)(?: (?:please|now|it|thanks|thank you))?$",
        1.0,
    ),
    _rule(Intent.OPT_OUT, r"\b(?:unsubscribe|opt(?:ing)? ?-?out)\b", 0.95, negatable=True),
    _rule(
        Intent.OPT_OUT,
        r"\bstop (?:texting|messaging|contacting|emailing|calling|sending|spamming|bothering|writing)\b",
        0.95,
        negatable=True,
    ),
    _rule(Intent.OPT_OUT, r"\b(?:remove|take) me (?:off|from)\b|\bleave me alone\b", 0.9, negatable=True),
    _rule(
        Intent.OPT_OUT,
        r"\b(?:don't|do not|never) (?:contact|text|message|email|call) me\b",
        0.9,
    ),
    _rule(
        Intent.HUMAN,
        rf"\b(?:talk|speak|chat) (?:to|with) (?:a |an |some |your )?(?:real |live )?{_PERSON}\b",
        0.95,
    ),
    _rule(Intent.HUMAN, r"\b(?:transfer|connect|put) me (?:to|with|through)\b", 0.9),
    _rule(Intent.HUMAN, r"\b(?:real|live|actual) (?:person|human|agent)\b", 0.8),
    _rule(
        Intent.HUMAN,
        r"\b(?:are you|is this|am i (?:talking|chatting|speaking) (?:to|with)) (?:a |an )?(?:bot|ai|robot|machine)\b",
        0.8,
    ),
    _rule(Intent.HUMAN, r"\b(?:human|representative|operator)\b", 0.5),
    _rule(
        Intent.SCHEDULING,
        r"\b(?:book|schedule|set up|arrange|reschedule|organi[sz]e)\b.{0,30}?"
        r"\b(?:demo|call|meeting|appointment|chat|time|slot)\b",
        0.9,
    ),
    _rule(Intent.SCHEDULING, r"\b(?:can|could|shall|should) we (?:meet|talk|chat|speak|hop on)\b", 0.8),
    _rule(Intent.SCHEDULING, r"\b(?:available|availability|free (?:on|at|this|next|tomorrow))\b", 0.6),
    # "call" and "appointment" alone are often what the lead's business handles ("missed calls",
    # "appointment booking"); a call to have is "a call".
    _rule(
        Intent.SCHEDULING,
        r"\b(?:meet|meeting|(?:a|an|the|our|another|quick|short) (?:call|chat|zoom|video call|appointment))\b",
        0.4,
    ),
    _rule(Intent.SCHEDULING, r"\b(?:a|the|your) demo\b", 0.6),
    _rule(Intent.SCHEDULING, rf"\b(?:today|tomorrow|tonight|{_WEEKDAY})\b", 0.5),
    _rule(
        Intent.SCHEDULING,
        r"\b\d{1,2}(?:[:.]\d{2})? ?(?:am|pm|a\.m\.|p\.m\.)|\bat \d{1,2}(?::\d{2})?\b|\bnoon\b",
        0.5,
    ),
    _rule(Intent.PRICING, r"\bhow much\b|\bpric(?:e|es|ing)\b|\bcosts?\b|\bquote\b", 0.9),
    _rule(Intent.PRICING, r"\b(?:fees?|rates?|subscription|expensive|cheap|afford)\b", 0.45),
    # "plan" is also a verb ("we plan to launch"); a plan with a kind or a price is a pricing plan.
    _rule(
        Intent.PRICING,
        r"\b(?:monthly|annual|yearly|starter|basic|pro|premium|enterprise|paid|pricing|cheapest|business) "
        r"(?:plans?|tiers?|packages?)\b|[$€£]\s?\d[\d,.]*k? (?:a month |per month |/mo )?(?:plans?|tiers?|packages?)\b",
        0.8,
    ),
    _rule(Intent.QUESTION, r"\?$", 0.5),
    _rule(
        Intent.QUESTION,
        r"(?:^|[,.;!?-]\s*)(?:what|what's|how|why|when|where|which|who|does|do|can|could|is|are|will|would|should|"
        r"may|did)\b",
        0.4,
    ),
    _rule(Intent.QUESTION, r"\b(?:i wonder|tell me (?:about|more)|explain|i'd like to know)\b", 0.4),
    _rule(Intent.PROVIDE_INFO, r"\b(?:xemailx|xphonex)\b", 0.8),
    _rule(Intent.PROVIDE_INFO, r"\bmy (?:name|email|e-mail|phone|number|company|budget) is\b", 0.8),
    _rule(Intent.PROVIDE_INFO, r"\b(?:i work (?:at|for)|(?:i'm|i am) (?:from|with)|our company)\b", 0.6),
    _rule(Intent.PROVIDE_INFO, r"\b(?:i'm|i am|this is) (?-i:[A-Z])\w* (?:from|at|with)\b", 0.6),
    _rule(
        Intent.PROVIDE_INFO,
        r"(?<!what )(?<!if )\b(?:we need|we're looking for|we are looking for)\b"
        r"(?! (?:a |an |the )?(?:demo|call|meeting|quote|price|human|person))|\bbudget\b",
        0.6,
    ),
    # A statement about the lead or their business: "we have 12 employees", "I saw your ad".
    _rule(
        Intent.PROVIDE_INFO,
        r"(?:^|[,.;!?]\s+)(?:(?:hi|hey|hello|so|well|also|and|ok|okay|oh|but|actually)[,!]?\s+)?"
        r"(?:we|i|our|my|we're|we've|we'd|i'm|i've|i'd|im|us)\b",
        0.5,
    ),
    _rule(Intent.PROVIDE_INFO, r"\b(?:i'm|i am|this is) (?-i:[A-Z])", 0.4),
    _rule(Intent.PROVIDE_INFO, r"[$€£]\s?\d|\b\d+(?:\.\d+)?\s?(?:k|m|thousand|million)\b", 0.5),
    _rule(Intent.GREETING, r"^(?:hi|hello|hey|hiya|howdy|good (?:morning|afternoon|evening))\b", 0.4),
    _rule(Intent.GREETING, r"\b(?:how are you|how's it going|how are things|nice to meet you)\b", 0.8),
    # A shrug is not information, even in the first person ("I'm not sure yet"); a refusal even less.
    _rule(
        Intent.OTHER,
        r"\b(?:not sure|unsure|no idea|don't know|dont know|dunno|let me think|check with|get back to you|"
        r"more info(?:rmation)?|new to this|just (?:browsing|looking|exploring))\b",
        0.55,
    ),
    _rule(Intent.OTHER, r"\b(?:rather not|prefer not|(?:don't|do not) want to (?:say|share|give))\b", 0.9),
)
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+")
_PHONE = re.compile(r"\+?\(?\d[\d ().-]{6,}\d")

_NEGATION = re.compile(r"\b(?:don't|dont|do not|never|not|please don't)\s+(?:\w+\s+)?$", re.IGNORECASE)
_GREETING_ONLY = re.compile(
    r"^(?:(?:hi|hello|hey|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening|day))"
    r"(?: there| all| team| folks| everyone| again)?[ ,!.]*)+$",
    re.IGNORECASE,
)
_BASELINE_OTHER = 0.3
# When scores tie, the intent that matters most for the lead's rights and wishes wins.
_PRIORITY = (
    Intent.OPT_OUT,
    Intent.HUMAN,
    Intent.SCHEDULING,
    Intent.PRICING,
    Intent.PROVIDE_INFO,
    Intent.QUESTION,
    Intent.GREETING,
    Intent.OTHER,
)


def classify(text: str) -> IntentResult:
    """Scores every intent in [0, 1] and picks the highest; rules for one intent combine as a noisy-or."""
    # Addresses and numbers are facts, not words: "+34 612 345 678" holds no "at 6" and no weekday.
    message = _PHONE.sub(" xphonex ", _EMAIL.sub(" xemailx ", clean(text)))
    bare = re.sub(r"[^\w\s'@$€£?:.-]", " ", message).strip(" .!")
    bare = re.sub(r"\s+", " ", bare)
    misses: dict[Intent, float] = {intent: 1.0 for intent in Intent}
    for rule in _RULES:
        for match in rule.pattern.finditer(bare):
            if rule.negatable and _NEGATION.search(bare[: match.start()]):
                continue
            misses[rule.intent] *= 1.0 - rule.weight
            break
    if _GREETING_ONLY.match(bare):
        misses[Intent.GREETING] *= 0.1
    scores = {intent: round(1.0 - miss, 3) for intent, miss in misses.items()}
    scores[Intent.OTHER] = max(_BASELINE_OTHER, scores[Intent.OTHER])
    best = max(_PRIORITY, key=lambda intent: (scores[intent], -_PRIORITY.index(intent)))
    return IntentResult(intent=best, confidence=scores[best], scores=scores)


_ACCEPTS = re.compile(
    r"^(?:(?:oh |ok |okay |well )?(?:yes|yeah|yea|yep|yup|ya|sure|ok|okay|please|please do|go ahead|definitely|"
    r"absolutely|of course|sounds good|that would be (?:great|good|nice|helpful)|that'd be (?:great|good|nice)|"
    r"i would|i'd like that|i'd love that|why not|let's do (?:it|that))"
    r"(?:[ ,]+(?:please|thanks|thank you|that would be great|do it|connect me))*)[ .!]*$",
    re.IGNORECASE,
)


def accepts(text: str) -> bool:
    """Whether a message is a bare yes ("yes", "sure, please", "ok thanks"): the answer to an offer the
    last reply made, not information."""
    return _ACCEPTS.match(clean(text).strip()) is not None
