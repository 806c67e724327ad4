"""Word-level evidence shared by the name and company finders, and the fixing of misspelt cue words.

A name or a company is told apart from ordinary words in two ways. Capitals: in a message typed with
capitals ("Hi, I'm Dana"), a name is capitalised. And, for messages typed all in lowercase, a list of the
ordinary words that leads write where a name could stand ("i'm interested", "new here", "thanks, appreciate
it"): a word on it is never read as a name.
"""

from __future__ import annotations

import re

_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n)\W*(\w)")
_PRONOUN_I = re.compile(r"\bI(?:'[a-z]+)?\b")

def word_set(text: str) -> frozenset[str]:
    """A set of words written as a block of text, one or more a line: easier to read and extend than a list."""
    return frozenset(text.split())


COMMON_WORDS = word_set(
    """
    a about above actually after again all also always am an and another any anyone anything anyway
    appreciate appreciated are around as ask asking at available away awesome back based be because been
    before being best better between big bit both busy but by call called calling can cannot certain
    checking cheers close coming con confused cool correct could currently curious day days dear definitely
    did do doing done down each early else email emailing employed enough even evening ever every everyone
    everything excited exploring fan fine finished first following for free freelance freelancer friday from
    fun further glad go going gone good got great had happy has have having he hello help helpful her here
    hers hey hi him his hoping hot how i i'd i'll i'm i've if im in indeed inquiring interested into is it
    it's its just keen kind kinda late later let like little looking lost love lucky many maybe me mine
    monday more morning most much must my myself need needed new next nice no nobody none nope not nothing
    now of off ok okay on once one online only open or other our ours out over owner part perfect please
    pleased pls positive pretty probably quite ready real really reaching regards retired right same saturday
    see self self-employed sent set she should signed sincerely so some someone something sometimes soon
    sorry still student sunday super sure team ten texting than thank thanks thanx that that's the their
    them then there these they thinking this those thursday thx tired to today tomorrow tonight too
    totally trying tuesday two unsure up urgent us very waiting want wanted was we wednesday welcome well
    were what when where which who whoever why will wish with wondering working would writing yeah yep yes
    yet you your yours we're you're they're we've i've let's there's asap whenever anytime afternoon night
    week month year quarter planning located considering evaluating comparing shopping browsing gonna
    getting using via since name number phone company budget website
    ceo cto cfo coo cmo vp founder cofounder co-founder director manager head lead partner president
    consultant contractor assistant admin administrator engineer developer designer sales marketing
    support operations ops hr finance it
    """
)

# Cue words leads often misspell; a word one typing slip away from one of these is read as it.
_CUE_WORDS = ("company", "budget", "email", "timeline")
# Chat shorthand for words the time rules read ("mo" and "yr" stay: "Mo" is a name).
_SHORTHAND = {"nxt": "next", "wks": "weeks", "mos": "months", "yrs": "years"}
# Words inside an address ("dana@gmail.com") are left alone.
_WORD = re.compile(r"(?<![@.\w])[A-Za-z]+(?![\w@]|\.\w)")


# "dana at acme dot com" spells out an address; its words are neither a name nor a company.
SPELLED_ADDRESS = re.compile(r"\b[\w.+-]+ (?:at|\[at\]|\(at\)) [\w-]+(?: (?:dot|\[dot\]|\(dot\)) [\w-]+)+\b", re.I)


def is_cased(text: str) -> bool:
    """Whether the lead types with capitals: a capital somewhere other than a sentence start or the word I."""
    starts = {m.start(1) for m in _SENTENCE_START.finditer(text)}
    pronouns = {m.start() for m in _PRONOUN_I.finditer(text)}
    return any(c.isupper() and i not in starts and i not in pronouns for i, c in enumerate(text))


def name_like(word: str, cased: bool) -> bool:
    """Could this word be part of a person's or company's name, given how the message is typed?"""
    if not word[:1].isalpha() or word.lower() in COMMON_WORDS:
        return False
    return word[:1].isupper() or not cased


def _one_slip(word: str, target: str) -> bool:
    """One letter changed, added, dropped, or two neighbours swapped (Damerau distance 1)."""
    if word == target or abs(len(word) - len(target)) > 1:
        return False
    if len(word) == len(target):
        diffs = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        if len(diffs) == 1:
            return True
        i = diffs[0]
        return len(diffs) == 2 and diffs[1] == i + 1 and word[i] == target[i + 1] and word[i + 1] == target[i]
    short, long_ = sorted((word, target), key=len)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def fix_cue_words(text: str) -> str:
    """The text with misspelt cue words ("buget", "compnay", "emial") and shorthand ("nxt") written out."""

    def fixed(match: re.Match[str]) -> str:
        word = match.group()
        lower = word.lower()
        if lower in _SHORTHAND:
            return _SHORTHAND[lower]
        if len(lower) >= 5:
            for cue in _CUE_WORDS:
                if _one_slip(lower, cue):
                    return cue
        return word

    return _WORD.sub(fixed, text)
