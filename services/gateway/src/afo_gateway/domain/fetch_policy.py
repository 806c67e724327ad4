"""Which URLs the gateway fetches for a tenant (a page added to a knowledge base): the server-side request
forgery guard, as plain rules.

A URL names a host; the host resolves to addresses; the gateway connects only to a resolved address that is
public. *Every* address the name resolves to must be public, not just the first: a name that answers both
a public and a private address could otherwise be steered to the private one by the resolver or a retry.
The addresses are vetted after resolution (never by looking at the text of the host), so decimal, octal
and hex spellings of 127.0.0.1 and names that resolve to it all meet the same check; and the gateway then
connects to the vetted address itself, so a second lookup cannot answer differently (DNS rebinding).
IPv6 addresses that carry an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64) are judged by that address
(``afo_common.ssrf``, shared with notifier's webhooks).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

# The address rules themselves are shared with notifier; imported here under their old names.
from afo_common.ssrf import IpAddress as IpAddress
from afo_common.ssrf import Judge as Judge
from afo_common.ssrf import embedded_ipv4 as embedded_ipv4
from afo_common.ssrf import refusal as refusal
from afo_gateway.domain.errors import UrlNotAllowed

MAX_REDIRECTS = 3
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class FetchTarget:
    url: str
    scheme: str
    host: str   # as DNS knows it: lowercase, IPv6 literals without brackets
    port: int

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


@dataclass(frozen=True)
class FetchedPage:
    url: str                 # where the bytes came from, after redirects
    content_type: str | None
    data: bytes

    @property
    def name(self) -> str:
        """A name for the document: the last segment of the path, else the host."""
        parts = urlsplit(self.url)
        segment = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
        return segment or parts.hostname or "page"


def fetch_target(url: str) -> FetchTarget:
    """The URL's scheme, host and port, or ``UrlNotAllowed``: http and https only, a host, no credentials."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UrlNotAllowed(f"not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise UrlNotAllowed("only http and https URLs can be fetched")
    if not parts.hostname:
        raise UrlNotAllowed("the URL has no host")
    if parts.username is not None or parts.password is not None:
        # They would be sent to the site; a knowledge base is no place for credentials.
        raise UrlNotAllowed("a URL with a user name or password cannot be fetched")
    try:
        # As DNS and the Host header spell it: an internationalised name in its ASCII (IDNA) form.
        host = parts.hostname.encode("idna").decode("ascii") if not parts.hostname.isascii() else parts.hostname
    except UnicodeError as exc:
        raise UrlNotAllowed(f"the host {parts.hostname!r} is not a valid name") from exc
    return FetchTarget(parts.geturl(), scheme, host.lower(), port or _DEFAULT_PORTS[scheme])


def vet(host: str, addresses: list[IpAddress], judge: Judge | None = refusal) -> IpAddress:
    """The address to connect to: the first, once ``judge`` (None: any address, for development) has
    refused none of them; else ``UrlNotAllowed``."""
    if not addresses:
        raise UrlNotAllowed(f"{host} has no address")
    if judge is None:
        return addresses[0]
    for address in addresses:
        if (reason := judge(address)) is not None:
            raise UrlNotAllowed(f"{host} resolves to {reason}; only public addresses can be fetched")
    return addresses[0]
