"""The lead's company in what they write.

A cue says a company name follows; the name is read from there (`_span`). Cues:
- working there: "I work at", "I'm a marketing manager at", "COO at", "founder of", "I head up sales at",
  "I run ops for";
- speaking for it: "on behalf of", "representing", "reaching out from", "here at", "I'm with", "we're from",
  "<name> (here) from|with|at" ("rachel here from …", "Mike with …");
- naming it: "our company is (called) …", "company: …", "… called|named …", "our shop, Petal & Stem, …",
  "I run a small bakery, Sweet Crumbs", "We're Harbor Dental" (capitals only), "we (Blue Harbor Realty)";
- a signature: "Greg Olsen, Olsen Plumbing".
Not a cue: a former employer ("I used to work at …"), a tool they use, a friend's company; nor a clock time
after one ("can we do Thursday at 2pm": when, not where).
"""

from __future__ import annotations

import re

from afo_agent_runtime.domain.engine.words import COMMON_WORDS, is_cased, name_like

_ROLE = (
    r"(?:owner|co-?owner|founder|co-?founder|ceo|cto|cfo|coo|cmo|cio|vp|president|director|manager|partner|"
    r"principal|engineer|developer|designer|accountant|consultant|nurse|doctor|dentist|administrator|admin|"
    r"coordinator|assistant|specialist|analyst|officer|executive|rep|representative|associate|broker|realtor|"
    r"teacher|chef|attorney|lawyer|marketer|recruiter|receptionist|supervisor|lead|employee|intern|member|"
    r"(?:head|director|vp|vice president) of [\w&-]+(?: [\w&-]+)?)"
)
_BUSINESS = (
    r"(?:company|business|firm|startup|agency|shop|store|boutique|studio|restaurant|cafe|bakery|bar|practice|"
    r"clinic|salon|spa|gym|brand|organi[sz]ation|nonprofit|charity|school|academy|hotel|dealership|garage|"
    r"brewery|winery|farm|franchise|consultancy|label|hospital|pharmacy|employer|team|office|group|"
    r"outfit|venture|family business)"
)
_ACTIVITY = (
    r"(?:head up|head|lead|run|manage|handle|do|oversee|look after|coordinate|direct|own|work on|work in|"
    r"(?:am|'m) in charge of|(?:am|'m) responsible for)"
)
_PERSON = r"(?P<person>[^\W\d_][\w'-]*(?: [^\W\d_][\w'-]*)?)"
_CUES = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"\b(?:i|we)(?:'m| am|'re| are)? (?:currently |also )?(?:work|working|employed)(?: [\w&/-]+){0,3}? "
        r"(?:at|for)\s+",
        rf"(?:^|[,(;]\s*|\b(?:i'm|i am|im|as)\s+)(?:a |an |the )?(?:[\w&/-]+ ){{0,3}}?{_ROLE}s? (?:at|for|of|with)\s+",
        rf"\b(?:i|we)(?: (?:currently|also|basically))? {_ACTIVITY}(?: [\w&/-]+){{0,3}}? (?:at|for)\s+",
        r"\b(?:on behalf of|representing|(?:i|we) represent|(?:reaching out|writing|calling|messaging|texting|"
        r"emailing) from|here,? from|here,? at|over at|(?:i'm|i am|im|we're|we are) (?:from|with|at)|"
        r"from the team at|(?:part|member) of the (?:[\w&/-]+ ){0,2}?team (?:at|of))\s+",
        rf"^(?:(?:hi|hey|hello)[,!]?\s+)?{_PERSON},? (?:here )?(?:from|with|at)\s+",
        rf"\b(?:i'm|i am|im|this is|it's)\s+{_PERSON},? (?:here )?(?:from|with|at)\s+",
        r"\b(?:company|business|organi[sz]ation|employer|brand|firm|startup|agency)(?: name)?(?:'s| is|:)"
        r"(?: called| named)?\s+",
        r"(?<!\bi )(?<!\bwe )\b(?:called|named)\s+",
        rf"\b(?:our|my) (?:[\w-]+ ){{0,2}}?{_BUSINESS},\s+",
        rf"\b(?:i|we) (?:run|own|have|started|founded|manage|operate) (?:a|an) (?:[\w-]+ ){{0,3}}?{_BUSINESS},\s+",
        r"(?:^|[.!?,]\s*)(?:we're|we are)\s+(?=(?-i:[A-Z0-9]))",
        r"\bwe \((?=(?-i:[A-Z0-9]))",
    )
)
_SIGNATURE = re.compile(r"^(?-i:[A-Z])[\w'-]+ (?-i:[A-Z])[\w'-]+, (?=(?-i:[A-Z]))")
_FORMER = re.compile(r"\b(?:used to|previously|formerly|no longer|last job|ex-|retired from|left)\b[^,.;!?]*$", re.I)
_STOP = re.compile(r"[,;!?()\n/]|\.(?:\s|$)| - | — ")
# "St. Luke's", "Mt. Hood Outfitters": a period after these ends no name ("Acme Corp. We need …" ends).
_ABBREVIATION = re.compile(r"(?:^|\s)(?:st|mt|ft|dr)$", re.IGNORECASE)
_CONNECTORS = frozenset({"&", "and", "of", "de", "the", "+", "for", "on"})
_BOUNDARY_WORDS = COMMON_WORDS | {
    "has", "have", "had", "is", "are", "was", "were", "will", "would", "can", "could", "need", "needs",
    "want", "wants", "based", "located", "where", "who", "which", "that", "because", "since", "while",
    "recommended", "told", "said", "uses", "use", "does", "gave", "plus", "near",
}  # fmt: skip
_LEADING_DETERMINERS = frozenset({"a", "an", "the", "my", "our", "some", "this", "that", "your", "their", "his", "her"})
_APPOSITIVE = re.compile(r"^(?:my|our) [\w-]+(?: [\w-]+)?,\s+", re.IGNORECASE)
_MAX_WORDS = 6
# "can we do Thursday at 2pm", "we could do at 3 instead": a clock time after a cue is when, not where.
_CLOCK_TIME = re.compile(
    r"\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.|o'?clock)(?!\w)|\d{1,2}:\d{2}(?!\w)|"
    r"\d{1,2}(?=\s*(?:[,;!?]|\.(?:\s|$)|$|\s(?:instead|then|tomorrow|today|tonight|on|next|this)\b))",
    re.IGNORECASE,
)


def _span(text: str, start: int, cased: bool) -> str | None:
    rest = text[start:]
    # "on behalf of my employer, Castle Rock Builders": the name follows the description.
    appositive = _APPOSITIVE.match(rest)
    if appositive:
        rest = rest[appositive.end() :]
    end = len(rest)
    for stop in _STOP.finditer(rest):
        if stop.group().startswith(".") and _ABBREVIATION.search(rest[: stop.start()]):
            continue
        end = stop.start()
        break
    words = rest[:end].split()
    if not words or (words[0].lower() in _LEADING_DETERMINERS and not (cased and words[0][0].isupper())):
        return None
    taken: list[str] = []
    for i, word in enumerate(words[:_MAX_WORDS]):
        bare = word.strip("'\"")
        if not bare:
            break
        if cased:
            capital = bare[0].isupper() or bare[0].isdigit() or any(c.isupper() for c in bare[1:])
            follows = i + 1 < len(words) and words[i + 1][:1].isupper()
            if capital or (taken and bare.lower() in _CONNECTORS and follows):
                taken.append(bare)
                continue
            break
        if bare.lower() in _BOUNDARY_WORDS and not (taken and bare.lower() in _CONNECTORS):
            break
        taken.append(bare)
    while taken and taken[-1].lower() in _CONNECTORS:
        taken.pop()
    if not taken or (not name_like(taken[0], cased) and not taken[0][0].isdigit()):
        return None
    return " ".join(taken)


def find_company(text: str) -> str | None:
    cased = is_cased(text)
    found: list[tuple[int, str]] = []
    for cue in _CUES:
        for match in cue.finditer(text):
            if _FORMER.search(text[: match.end()]):
                continue
            person = match.groupdict().get("person")
            if person and not all(name_like(word, cased) for word in person.split()):
                continue
            if _CLOCK_TIME.match(text, match.end()):
                continue
            company = _span(text, match.end(), cased)
            if company:
                found.append((match.start(), company))
                break
    if found:
        return min(found)[1]
    signature = _SIGNATURE.match(text)
    return _span(text, signature.end(), cased) if signature else None
