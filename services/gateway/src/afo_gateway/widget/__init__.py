"""The embeddable chat widget: one hand-written, dependency-free script (``widget.js``), shipped as source and
served at ``GET /widget.js``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files


@dataclass(frozen=True)
class WidgetScript:
    body: bytes
    etag: str  # a strong validator: the digest of the bytes served

    @classmethod
    def load(cls) -> WidgetScript:
        body = files(__package__).joinpath("widget.js").read_bytes()
        return cls(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
