"""Reading a posted form: text fields trimmed and bounded, so a page never trusts the browser's own limits."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from afo_gateway.domain.errors import Invalid

MAX_FIELD = 10_000
M = TypeVar("M", bound=BaseModel)


async def posted(request: Request) -> FormData:
    return await request.form()


def text(form: FormData, name: str, *, default: str = "", max_length: int = MAX_FIELD) -> str:
    value = form.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise Invalid(f"{name} must be text")
    if len(value) > max_length:
        raise Invalid(f"{name} is longer than {max_length} characters")
    return value.strip()


def lines(form: FormData, name: str, *, max_length: int = MAX_FIELD) -> list[str]:
    """A textarea of one item per line (origins, goals): blank lines dropped."""
    return [line.strip() for line in text(form, name, max_length=max_length).splitlines() if line.strip()]


def validated(model: type[M], **values: Any) -> M:
    """``model`` built from form values, its validation errors worded for a person."""
    try:
        return model(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors())
        raise Invalid(problems, [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]) from None
