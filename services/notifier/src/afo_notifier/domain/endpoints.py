"""Where a webhook may be sent: http or https, a host, no credentials in the URL, and (unless private
targets are allowed, for development) no IP literal that is not public. A name is checked again after
resolution on every attempt and every redirect (``adapters/webhook_sender.py``), with the same rules
(``afo_common.ssrf``)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from afo_common.ssrf import Judge, literal_address

_DEFAULT_PORTS = {"http": 80, "https": 443}


class EndpointNotAllowed(ValueError):
    pass


@dataclass(frozen=True)
class Endpoint:
    url: str
    scheme: str
    host: str  # lowercase, IDNA, IPv6 without brackets
    port: int


def endpoint(url: str, judge: Judge | None) -> Endpoint:
    """The URL's parts, or ``EndpointNotAllowed``. ``judge`` None allows every address."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise EndpointNotAllowed("not a valid URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise EndpointNotAllowed("only http and https URLs can receive webhooks")
    if not parts.hostname:
        raise EndpointNotAllowed("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise EndpointNotAllowed("a URL with a user name or password is not accepted")
    try:
        host = parts.hostname if parts.hostname.isascii() else parts.hostname.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise EndpointNotAllowed("the host is not a valid name") from exc
    address = literal_address(host)
    if address is not None and judge is not None and (reason := judge(address)) is not None:
        raise EndpointNotAllowed(f"{reason}; webhooks go to public addresses only")
    return Endpoint(parts.geturl(), scheme, host.lower(), port or _DEFAULT_PORTS[scheme])
