"""The providers a tenant can connect and what each needs: one pydantic model per provider, with the fields
that are secret declared on it. Secrets are shown masked (the last four characters) and never echoed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from afo_gateway.domain.errors import Invalid, NotFound

MASK = "••••"


class ProviderFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    SECRETS: ClassVar[frozenset[str]] = frozenset()


class Twilio(ProviderFields):
    SECRETS = frozenset({"auth_token"})
    account_sid: str = Field(pattern=r"^AC[0-9a-zA-Z]{10,64}$")
    auth_token: str = Field(min_length=8, max_length=200)
    from_number: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,15}$")


class OpenAI(ProviderFields):
    SECRETS = frozenset({"api_key"})
    api_key: str = Field(min_length=8, max_length=500)
    base_url: str | None = Field(default=None, pattern=r"^https?://", max_length=500)


class ApiKeyOnly(ProviderFields):
    SECRETS = frozenset({"api_key"})
    api_key: str = Field(min_length=8, max_length=500)


class AccessToken(ProviderFields):
    SECRETS = frozenset({"access_token"})
    access_token: str = Field(min_length=8, max_length=2000)


class HubSpot(AccessToken):
    # Another server speaking HubSpot's API than api.hubapi.com (a proxy, or a local stand-in in tests).
    base_url: str | None = Field(default=None, pattern=r"^https?://", max_length=500)


class Pipedrive(ProviderFields):
    SECRETS = frozenset({"api_token"})
    api_token: str = Field(min_length=8, max_length=500)
    company_domain: str = Field(min_length=1, max_length=200)
    base_url: str | None = Field(default=None, pattern=r"^https?://", max_length=500)


class Salesforce(ProviderFields):
    SECRETS = frozenset({"client_secret", "refresh_token"})
    instance_url: str = Field(pattern=r"^https://", max_length=500)
    client_id: str = Field(min_length=1, max_length=500)
    client_secret: str = Field(min_length=8, max_length=500)
    refresh_token: str = Field(min_length=8, max_length=2000)
    # Where the refresh-token grant goes (a sandbox: https://test.salesforce.com); the Lead field, marked
    # External ID, that holds the lead's email (workflow-executor upserts by it).
    login_url: str | None = Field(default=None, pattern=r"^https?://", max_length=500)
    external_id_field: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]{0,37}__c$")


class Calendly(ProviderFields):
    SECRETS = frozenset({"access_token"})
    access_token: str = Field(min_length=8, max_length=2000)
    # The event type scheduling links are made for; the user's first active one when unset.
    event_type_uri: str | None = Field(default=None, pattern=r"^https://api\.calendly\.com/event_types/[^/?#]+$",
                                       max_length=500)


class Google(ProviderFields):
    """Google Calendar through OAuth. A tenant may store its own OAuth client (`client_id`, `client_secret`)
    before connecting; `GET /v1/integrations/google/connect` then fills in the tokens. Every field is
    optional so that both steps validate; workflow-executor uses the record once it has a refresh token."""

    SECRETS = frozenset({"client_secret", "refresh_token", "access_token"})
    client_id: str | None = Field(default=None, min_length=1, max_length=500)
    client_secret: str | None = Field(default=None, min_length=8, max_length=500)
    refresh_token: str | None = Field(default=None, min_length=8, max_length=2000)
    access_token: str | None = Field(default=None, min_length=8, max_length=4000)
    expires_at: str | None = Field(default=None, max_length=40)  # ISO 8601, UTC
    calendar_id: str | None = Field(default=None, min_length=1, max_length=300)  # "primary" when unset

    @model_validator(mode="after")
    def _a_client_is_whole(self) -> Google:
        if (self.client_id is None) != (self.client_secret is None):
            raise ValueError("client_id and client_secret go together")
        if self.refresh_token is not None and self.client_id is None:
            raise ValueError("a refresh_token needs the client_id and client_secret it was issued to")
        return self


class Smtp(ProviderFields):
    """The tenant's own mail server, as notifier sends through it: ``security`` is ``starttls`` (a plain
    connection upgraded, usually port 587), ``tls`` (TLS from the first byte, usually 465) or ``none``. A login
    is optional (a relay that trusts the sender's address needs none) and never goes with ``none``."""

    SECRETS = frozenset({"password"})
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(ge=1, le=65535)
    username: str | None = Field(default=None, min_length=1, max_length=320)
    password: str | None = Field(default=None, min_length=1, max_length=500)
    from_address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)
    security: Literal["starttls", "tls", "none"] = "starttls"

    @model_validator(mode="after")
    def _a_login_is_whole_and_encrypted(self) -> Smtp:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if self.password is not None and self.security == "none":
            raise ValueError("a login needs security starttls or tls: with none the password would travel in clear")
        return self


PROVIDERS: dict[str, type[ProviderFields]] = {
    "twilio": Twilio,
    "openai": OpenAI,
    "deepgram": ApiKeyOnly,
    "elevenlabs": ApiKeyOnly,
    "hubspot": HubSpot,
    "pipedrive": Pipedrive,
    "salesforce": Salesforce,
    "calendly": Calendly,
    "google": Google,
    "smtp": Smtp,
}


def model_of(provider: str) -> type[ProviderFields]:
    model = PROVIDERS.get(provider)
    if model is None:
        raise NotFound(f"unknown provider {provider!r}; known: {', '.join(sorted(PROVIDERS))}")
    return model


def validated(provider: str, body: Any) -> dict[str, Any]:
    """The provider's fields, checked by its model: a 422 naming each bad field otherwise."""
    model = model_of(provider)
    try:
        fields = model.model_validate(body)
    except ValidationError as exc:
        raise Invalid(f"these are not valid {provider} credentials",
                      [{"loc": ["body", *exc_loc], "msg": e["msg"], "type": e["type"]}
                       for e in exc.errors(include_input=False) for exc_loc in [list(e["loc"])]]) from None
    return fields.model_dump(mode="json", exclude_none=True)


@dataclass(frozen=True)
class FormField:
    """One input of a provider's form in the console."""

    name: str
    secret: bool
    required: bool
    kind: str  # "text", "number" or "checkbox"


def form_fields(provider: str) -> list[FormField]:
    model = model_of(provider)
    fields = []
    for name, info in model.model_fields.items():
        kind = "number" if info.annotation is int else "checkbox" if info.annotation is bool else "text"
        fields.append(FormField(name, name in model.SECRETS, info.is_required(), kind))
    return fields


def merged(provider: str, stored: dict[str, Any] | None, sent: dict[str, str]) -> dict[str, Any]:
    """What a form's submission stores: a secret left blank keeps the stored one (a form never shows it);
    another field left blank is removed. A stored field the provider's model no longer has (one renamed since,
    as smtp's ``starttls`` became ``security``) is dropped: kept, it would fail the model the form cannot fix."""
    model = model_of(provider)
    secrets = model.SECRETS
    fields = {name: value for name, value in (stored or {}).items() if name in model.model_fields}
    for name, value in sent.items():
        if value:
            fields[name] = value
        elif name not in secrets:
            fields.pop(name, None)
    return fields


def mask(value: str) -> str:
    return MASK + value[-4:] if len(value) >= 12 else MASK


def masked(provider: str, fields: dict[str, Any]) -> dict[str, Any]:
    secrets = model_of(provider).SECRETS
    return {name: mask(str(value)) if name in secrets else value for name, value in fields.items()}


def as_strings(fields: dict[str, Any]) -> dict[str, str]:
    """What a service resolves: every value as a string (JSON for numbers and booleans)."""
    return {name: value if isinstance(value, str) else json.dumps(value) for name, value in fields.items()}
