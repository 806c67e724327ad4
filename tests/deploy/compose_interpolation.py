"""Compose's variable interpolation, the subset compose.yaml uses, so the file can be checked without a compose
binary: ``$$``, ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}``, ``${VAR?error}``,
``${VAR:+alt}`` and ``${VAR+alt}`` (the default or alternative may hold further ``${...}``), applied to every string
value and never to keys, as the Compose Specification's "Interpolation" section says."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class MissingVariable(ValueError):
    """A ``${VAR:?message}`` (or ``?``) whose variable is unset (or empty): compose refuses the file."""


def _closing_brace(text: str, start: int) -> int:
    """The index of the ``}`` that closes the ``${`` whose body starts at ``start`` (nested ``${...}`` skipped)."""
    depth, i = 1, start
    while i < len(text):
        if text.startswith("${", i):
            depth, i = depth + 1, i + 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unclosed ${{ in {text!r}")


def _braced(body: str, env: Mapping[str, str]) -> str:
    match = _NAME.match(body)
    if match is None:
        raise ValueError(f"invalid interpolation ${{{body}}}")
    name, rest = match.group(), body[match.end():]
    value = env.get(name)
    if not rest:
        return value or ""
    for operator in (":-", ":?", ":+", "-", "?", "+"):
        if rest.startswith(operator):
            argument = rest[len(operator):]
            break
    else:
        raise ValueError(f"invalid interpolation ${{{body}}}")
    unset_or_empty = not value if operator.startswith(":") else value is None
    if operator.endswith("-"):
        return interpolate_text(argument, env) if unset_or_empty else value or ""
    if operator.endswith("?"):
        if unset_or_empty:
            raise MissingVariable(f"required variable {name} is missing a value: {interpolate_text(argument, env)}")
        return value or ""
    return "" if unset_or_empty else interpolate_text(argument, env)


def interpolate_text(text: str, env: Mapping[str, str]) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] != "$":
            out.append(text[i])
            i += 1
        elif text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            end = _closing_brace(text, i + 2)
            out.append(_braced(text[i + 2:end], env))
            i = end + 1
        elif match := _NAME.match(text, i + 1):
            out.append(env.get(match.group(), ""))
            i = match.end()
        else:
            out.append("$")
            i += 1
    return "".join(out)


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """``value`` (a loaded compose file, or any part of it) with every string value interpolated."""
    if isinstance(value, str):
        return interpolate_text(value, env)
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    return value


def required_variables(text: str) -> set[str]:
    """The variables a compose file refuses to start without (``${VAR:?...}`` or ``${VAR?...}``)."""
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?\?", text.replace("$$", "")))
