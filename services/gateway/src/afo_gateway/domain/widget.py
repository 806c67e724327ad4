"""The chat widget as a visitor meets it (its configuration, from the agent's published spec) and as a site
owner embeds it (the snippet, the agent's publishable keys, the phone set-up). Plain functions and models."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from afo_common.rpcs.agent_spec import WidgetPosition, WidgetTemplate

DEFAULT_GREETING = "Hi! How can I help you today?"
# What the snippet carries where the key goes: a key's secret is shown once, when it is created.
KEY_PLACEHOLDER = "YOUR_PUBLISHABLE_KEY"
SCRIPT_PATH = "/widget.js"


class WidgetConfig(BaseModel):
    """What the widget shows: the template of the agent's published version, its gaps filled."""

    agent_id: str
    agent_name: str
    title: str
    greeting: str
    colour: str = Field(description="#rrggbb")
    position: WidgetPosition
    voice: bool = Field(description="whether the widget offers a call in the browser (WebRTC)")


class _StoredTemplate(WidgetTemplate):
    # A field added by a newer agent-runtime is left out, not an error (as AgentSpecOut does).
    model_config = ConfigDict(extra="ignore", frozen=True)


def template_of(spec: dict[str, Any]) -> WidgetTemplate:
    """The ``channels.web`` template of a stored spec; the defaults where there is none (or, from an older
    agent-runtime that did not check it, one that does not hold)."""
    raw = (spec.get("channels") or {}).get("web")
    try:
        return _StoredTemplate.model_validate(raw) if isinstance(raw, dict) else WidgetTemplate()
    except ValidationError:
        return WidgetTemplate()


def widget_config(agent_id: str, spec: dict[str, Any]) -> WidgetConfig:
    template = template_of(spec)
    name = str(spec.get("name") or "Assistant")
    return WidgetConfig(agent_id=agent_id, agent_name=name, title=template.title or name,
                        greeting=template.greeting or spec.get("greeting") or DEFAULT_GREETING,
                        colour=template.colour, position=template.position, voice=template.voice_button)


def script_url(base_url: str) -> str:
    return base_url.rstrip("/") + SCRIPT_PATH


def snippet(base_url: str, key: str = KEY_PLACEHOLDER) -> str:
    """The tag a site owner pastes before ``</body>``: the widget finds its own tag, reads the key from it
    and talks to the API where the script came from."""
    return (f'<script src="{escape(script_url(base_url))}" data-afo-key="{escape(key)}" async></script>')


class EmbedKey(BaseModel):
    id: str
    name: str
    hint: str = Field(description="the key's first and last characters, to tell keys apart")
    allowed_origins: list[str]
    created_at: datetime


class PhoneSetup(BaseModel):
    """Where each of the agent's numbers is pointed in the tenant's Twilio console."""

    numbers: list[str]
    voice_webhook_url: str = Field(description="the number's 'A call comes in' webhook (HTTP POST)")
    sms_webhook_url: str = Field(description="the number's 'A message comes in' webhook (HTTP POST)")
    status_callback_url: str = Field(description="the status callback for calls and messages (HTTP POST)")


def phone_setup(base_url: str, numbers: list[str]) -> PhoneSetup | None:
    if not numbers:
        return None
    base = base_url.rstrip("/")
    return PhoneSetup(numbers=numbers, voice_webhook_url=f"{base}/twilio/voice",
                      sms_webhook_url=f"{base}/twilio/sms", status_callback_url=f"{base}/twilio/status")


class Embed(BaseModel):
    agent_id: str
    published: bool = Field(description="the widget opens conversations with the published version only: "
                                        "publish the agent first")
    script_url: str
    snippet: str = Field(description=f"paste before </body>, with {KEY_PLACEHOLDER} replaced by a publishable "
                                     "key's secret (shown once, when the key is created)")
    key_placeholder: str = KEY_PLACEHOLDER
    publishable_keys: list[EmbedKey] = Field(description="the agent's live publishable keys; none yet: create "
                                                         "one with POST /v1/api-keys (kind publishable, "
                                                         "agent_id, allowed_origins)")
    widget: WidgetConfig | None = Field(description="what visitors see now (the published version); null until "
                                                    "published")
    phone: PhoneSetup | None = Field(description="the agent's numbers and their Twilio webhooks; null without "
                                                 "numbers")
