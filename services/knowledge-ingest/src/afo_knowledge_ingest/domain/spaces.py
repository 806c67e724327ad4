"""Embedding spaces: the name under which one model's vectors are stored and searched.

Vectors of two models are never compared, so every vector lives in a space named after its model, and a
knowledge base searches exactly one space (``embedding_space``) while it may fill another
(``pending_space``) for a new model. The name must be usable as a collection name by every index adapter
(letters, digits, ``-`` and ``_``) and must give the model back, so that after a restart an embedder can be
built for any space found in the database: characters outside ``[a-z0-9-]`` are written ``_xx`` (hex)."""

from __future__ import annotations

from typing import Literal

Provider = Literal["embedded", "openai"]

# The embedded model's space, as kb-vectors' MiniLmEmbedder names it.
EMBEDDED_SPACE = "minilm-l6-v2-int8-384"
_OPENAI = "openai-"
_PLAIN = set("abcdefghijklmnopqrstuvwxyz0123456789-")


def _escape(model: str) -> str:
    return "".join(c if c in _PLAIN else "".join(f"_{b:02x}" for b in c.encode()) for c in model)


def _unescape(escaped: str) -> str:
    out, i = bytearray(), 0
    while i < len(escaped):
        if escaped[i] == "_":
            out.append(int(escaped[i + 1:i + 3], 16))
            i += 3
        else:
            out.extend(escaped[i].encode())
            i += 1
    return out.decode()


def space_name(provider: Provider, model: str) -> str:
    """The space of ``model`` from ``provider``. The embedded provider has one model, whatever is asked."""
    if provider == "embedded":
        return EMBEDDED_SPACE
    return _OPENAI + _escape(model)


def space_model(space: str) -> tuple[Provider, str]:
    """The provider and model a space was named after (the inverse of ``space_name``)."""
    if space == EMBEDDED_SPACE:
        return "embedded", "all-MiniLM-L6-v2"
    if space.startswith(_OPENAI):
        return "openai", _unescape(space.removeprefix(_OPENAI))
    raise ValueError(f"unknown embedding space {space!r}")
