"""A reply arrives as deltas of text; speech synthesis starts on the first whole sentence instead of waiting for
the whole reply (the caller hears the agent sooner) and never on half a word."""

from __future__ import annotations

import re

# The end of a sentence: terminal punctuation followed by a space, not after a lone initial or a common
# abbreviation ("Dr. Lee", "e.g. this") where a voice would pause wrongly.
_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")
_ABBREVIATIONS = frozenset({"mr.", "mrs.", "ms.", "dr.", "st.", "vs.", "e.g.", "i.e.", "etc.", "inc.", "no.",
                            "a.m.", "p.m."})
# Long runs without a full stop are cut at a comma or semicolon past this many characters.
_SOFT_LIMIT = 160


class SentenceSplitter:
    def __init__(self) -> None:
        self._pending = ""

    def feed(self, delta: str) -> list[str]:
        self._pending += delta
        sentences: list[str] = []
        start = 0
        for match in _END.finditer(self._pending):
            candidate = self._pending[start:match.start()].strip()
            last_word = candidate.rsplit(" ", 1)[-1].lower()
            following = self._pending[match.end():match.end() + 1]
            if last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]\.", last_word) or following.islower():
                continue
            if candidate:
                sentences.append(candidate)
            start = match.end()
        self._pending = self._pending[start:]
        if len(self._pending) > _SOFT_LIMIT:
            cut = max(self._pending.rfind(", ", 0, _SOFT_LIMIT), self._pending.rfind("; ", 0, _SOFT_LIMIT))
            if cut > 0:
                sentences.append(self._pending[:cut + 1].strip())
                self._pending = self._pending[cut + 2:]
        return sentences

    def flush(self) -> list[str]:
        rest, self._pending = self._pending.strip(), ""
        return [rest] if rest else []
