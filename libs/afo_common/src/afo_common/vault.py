"""Who may resolve which provider credentials from the gateway's vault, declared once: the RPC contract
(``rpcs.gateway``) and the NATS permissions (``nats_security.permissions``) both derive from it."""

from __future__ import annotations

VAULT_OWNER = "gateway"

# Which providers' credentials each service may resolve: the providers it talks to itself.
PROVIDERS_OF: dict[str, tuple[str, ...]] = {
    "agent-runtime": ("openai",),
    "voice-media": ("twilio", "deepgram", "elevenlabs"),
    "workflow-executor": ("google", "calendly", "hubspot", "salesforce", "pipedrive", "openai"),
    "notifier": ("twilio", "smtp"),
}


def resolve_operation_name(caller: str) -> str:
    """The operation ``caller`` resolves credentials with: ``afo.rpc.gateway.credentials.resolve.<caller>``."""
    return f"credentials.resolve.{caller}"
