"""A lead submitted by an inbound source (a web form, an ad platform's lead form, a no-code tool), read into
the platform's fields. Rules:

- the payload is a flat object (JSON, or a form's fields); a source's ``field_map`` names, for each of our
  fields, the payload's key for it (a dotted path reaches into nested JSON objects: ``"lead.email"``);
- a field the map does not name is looked up under its common names, case-insensitively: ``name``
  (``full_name``; else ``first_name`` + ``last_name``), ``email``, ``phone`` (``phone_number``, ``mobile``),
  ``company`` (``company_name``, ``organization``), ``message`` (``comments``, ``notes``), and the lead's id at
  the source ``external_id`` (``id``, ``lead_id``);
- the email is checked and normalised by email-validator (syntax only, no DNS), the phone by phonenumbers to
  E.164 (a number without ``+`` is read in the source's ``phone_region``; with none set, it must carry its
  country code); at least one of them must be there, since the agent has to reach the lead;
- the dedupe key is the source and the lead's external id, or, without one, the hash of the payload itself
  (keys sorted), so a resubmitted form makes one lead."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from email_validator import EmailNotValidError, validate_email

from afo_gateway.domain.phones import NotAPhoneNumber, e164

MAPPABLE = ("name", "first_name", "last_name", "email", "phone", "company", "message", "external_id")
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "full_name", "fullname", "your_name"),
    "first_name": ("first_name", "firstname", "given_name"),
    "last_name": ("last_name", "lastname", "surname", "family_name"),
    "email": ("email", "email_address", "e-mail", "your_email"),
    "phone": ("phone", "phone_number", "mobile", "mobile_phone", "tel", "telephone", "your_phone"),
    "company": ("company", "company_name", "organization", "organisation", "business"),
    "message": ("message", "comments", "comment", "notes", "enquiry", "inquiry", "your_message"),
    "external_id": ("external_id", "id", "lead_id", "submission_id", "entry_id"),
}
LIMITS = {"name": 120, "company": 200, "message": 4000, "external_id": 120}


class InvalidLead(ValueError):
    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.errors = errors


@dataclass(frozen=True)
class SubmittedLead:
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    message: str | None = None
    external_id: str | None = None
    fields: dict[str, str] = field(default_factory=dict)


def _lookup(payload: Mapping[str, Any], path: str) -> Any:
    value: Any = payload
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        folded = {str(k).lower(): v for k, v in value.items()}
        value = value.get(part, folded.get(part.lower()))
    return value


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, str | int | float):
        text = " ".join(str(value).split())
        return text or None
    return None


def read_lead(payload: Mapping[str, Any], field_map: Mapping[str, str], phone_region: str | None) -> SubmittedLead:
    raw: dict[str, str] = {}
    for key in MAPPABLE:
        paths = (field_map[key],) if key in field_map else ALIASES[key]
        for path in paths:
            if (value := _text(_lookup(payload, path))) is not None:
                raw[key] = value[:LIMITS.get(key, 254)]
                break
    name = raw.get("name") or " ".join(p for p in (raw.get("first_name"), raw.get("last_name")) if p) or None
    errors: list[dict[str, Any]] = []
    email: str | None = None
    phone: str | None = None
    if "email" in raw:
        try:
            email = validate_email(raw["email"], check_deliverability=False).normalized
        except EmailNotValidError as exc:
            errors.append({"loc": ["body", field_map.get("email", "email")], "msg": str(exc), "type": "email"})
    if "phone" in raw:
        try:
            phone = e164(raw["phone"], phone_region)
        except NotAPhoneNumber as exc:
            errors.append({"loc": ["body", field_map.get("phone", "phone")], "msg": str(exc), "type": "phone_number"})
    if not errors and email is None and phone is None:
        errors.append({"loc": ["body"], "msg": "a lead needs an email or a phone number to be reached",
                       "type": "missing"})
    if errors:
        raise InvalidLead("the submitted lead cannot be used", errors)
    fields = {k: v for k, v in {"name": name, "email": email, "phone": phone, "company": raw.get("company")}.items()
              if v}
    return SubmittedLead(name=name[:120] if name else None, email=email, phone=phone, company=raw.get("company"),
                         message=raw.get("message"), external_id=raw.get("external_id"), fields=fields)


def dedupe_key(source_id: str, lead: SubmittedLead, payload: Mapping[str, Any]) -> str:
    """The request id agent-runtime creates the conversation under: one per source and lead."""
    basis = (f"id:{lead.external_id}" if lead.external_id
             else "hash:" + json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str))
    return "inb_" + hashlib.sha256(f"{source_id}\n{basis}".encode()).hexdigest()[:48]
