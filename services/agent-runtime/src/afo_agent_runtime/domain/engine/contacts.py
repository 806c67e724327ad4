"""Email addresses and phone numbers: found in free text, validated, stored in one canonical form.

Emails are checked for syntax only by email-validator (no DNS: the engine is offline and pure); the domain
is lower-cased, the local part kept as written. Phone numbers go through phonenumbers in the agent's
region and are stored in E.164. A number is accepted when its length is possible for its country: strict
validity would refuse numbers from ranges newer than the library's metadata.
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from afo_agent_runtime.domain.engine.field_invalid import FieldInvalid

_EMAIL_TOKEN = re.compile(r"[^\s@<>(),;:\"\[\]]+@[^\s@<>(),;:\"\[\]]*")
_EMAIL_CLAIM = re.compile(r"\be-?mail(?: address)?(?: is|:)\s*(?P<value>[^\s,;]+)", re.IGNORECASE)
_PHONE_CHARS = re.compile(r"\+?[\d\s().\-/]+")
# A number the lead says is theirs; without such words, only a number valid for the region is taken, so
# an order number or a range of amounts is not.
_PHONE_CLAIM = re.compile(
    r"\b(?:phone|number|cell|mobile|tel|telephone|whats ?app|landline|portable|call me|reach me|text me|"
    r"ring me|sms me|reached)\b(?: (?:number|on|at|is|:))*\s*:?\s*(?P<value>\+?\(?\d[\d ().-]{5,}\d)",
    re.IGNORECASE,
)
# "order number 48213377" is a number, not a phone number.
_OTHER_NUMBER = re.compile(
    r"\b(?:order|invoice|account|reference|ref|case|ticket|tracking|policy|customer|member|serial|vat|tax|"
    r"model|part|confirmation|booking|licen[cs]e|registration|id|house|room|unit|suite)\s+$",
    re.IGNORECASE,
)
_LENGTH_REASONS = {
    ValidationResult.TOO_SHORT: "it has too few digits for a phone number",
    ValidationResult.TOO_LONG: "it has too many digits for a phone number",
    ValidationResult.INVALID_LENGTH: "it does not have the right number of digits",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "it is missing the area code",
    ValidationResult.INVALID_COUNTRY_CODE: "the country code is not valid",
}


def find_email(text: str) -> str | None:
    token = _EMAIL_TOKEN.search(text)
    if token:
        return token.group().rstrip(".!?'")
    claim = _EMAIL_CLAIM.search(text)
    return claim.group("value") if claim else None


def normalise_email(value: str) -> str:
    email = value.strip().rstrip(".,;:!?").strip("<>")
    if email.lower().startswith("mailto:"):
        email = email[len("mailto:") :]
    if not email:
        raise FieldInvalid("it is empty")
    if "@" not in email:
        raise FieldInvalid("it is missing the @ sign")
    if any(c.isspace() for c in email):
        raise FieldInvalid("an email address has no spaces in it")
    if email.count("@") > 1:
        raise FieldInvalid("it has more than one @ sign")
    local, _, domain = email.partition("@")
    if not local:
        raise FieldInvalid("it is missing the part before the @")
    if not domain:
        raise FieldInvalid("it is missing the domain after the @")
    try:
        checked = validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise FieldInvalid(_email_reason(str(exc), local)) from None
    local, _, domain = checked.normalized.rpartition("@")
    return f"{local}@{domain.lower()}"


def _email_reason(message: str, local: str) -> str:
    # email-validator's messages are written for developers ("The part after the @-sign is not valid. It
    # should have a period."); the lead gets the gist in the engine's own words.
    text = message.lower()
    if "should have a period" in text:
        return "it looks incomplete, as the domain needs an ending such as .com"
    if "top-level domain" in text:
        return "the domain ending is not valid"
    if "too long" in text:
        return "it is longer than an email address can be"
    if "before the @" in text or local.startswith(".") or local.endswith(".") or ".." in local:
        return "the part before the @ has characters an email address cannot have"
    return "the domain after the @ is not valid"


def find_phone(text: str, region: str) -> str | None:
    for claim in _PHONE_CLAIM.finditer(text):
        if not _OTHER_NUMBER.search(text, 0, claim.start()):
            return claim.group("value")
    if sum(c.isdigit() for c in text) < 7:
        return None
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        return str(match.raw_string)
    return None


def normalise_phone(value: str, region: str) -> str:
    phone = value.strip()
    if not _PHONE_CHARS.fullmatch(phone):
        raise FieldInvalid("a phone number has only digits, spaces and + ( ) - . characters")
    # Most of the world dials 00 before a country code; leads write it even where the prefix differs.
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    try:
        number = phonenumbers.parse(phone, region)
    except NumberParseException:
        raise FieldInvalid("that does not look like a phone number") from None
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != ValidationResult.IS_POSSIBLE:
        raise FieldInvalid(_LENGTH_REASONS.get(reason, "that does not look like a phone number"))
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)
