"""Text clean-up shared by the engine's parsers."""

from __future__ import annotations

import re
import unicodedata

MAX_PARSE_CHARS = 4000

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_DASHES = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2212": "-"})
_SPACE_RUN = re.compile(r"\s+")


def clean(text: str) -> str:
    """Bounded, NFKC-normalised text with straight apostrophes and ASCII dashes, whitespace collapsed.

    Case is kept: names and companies are recognised partly by their capitals.
    """
    bounded = text[:MAX_PARSE_CHARS]
    # Lone surrogates cannot be normalised or encoded downstream; they never carry meaning here.
    bounded = bounded.encode("utf-8", "replace").decode("utf-8")
    normalised = unicodedata.normalize("NFKC", bounded).translate(_APOSTROPHES).translate(_DASHES)
    return _SPACE_RUN.sub(" ", normalised).strip()
