"""The server-side request forgery guard shared by every service that connects to a URL a tenant gave
(the gateway's page fetcher, notifier's webhooks): which resolved addresses are public, and the system
resolver that gives every address of a name.

Addresses are judged after resolution, never by the text of the host, so decimal, octal and hex spellings of
127.0.0.1 and names that resolve to it all meet the same check. IPv6 addresses that carry an IPv4 address
(IPv4-mapped, 6to4, Teredo, NAT64) are judged by that address."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Judge = Callable[[IpAddress], str | None]
Resolver = Callable[[str, int], Awaitable[list[IpAddress]]]
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for, where it stands for one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client behind the relay, where the packets end up
    if any(address in net for net in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: IpAddress) -> str | None:
    """Why nothing may connect to ``address`` for a tenant; None when it is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            reason = refusal(inner)
            return f"{reason} (inside {address})" if reason else None
    for flag, reason in (("is_loopback", "a loopback address"), ("is_unspecified", "the unspecified address"),
                         ("is_link_local", "a link-local address"), ("is_multicast", "a multicast address"),
                         ("is_private", "a private address"), ("is_reserved", "a reserved address")):
        if getattr(address, flag):
            return f"{address} is {reason}"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return f"{address} is a site-local address"
    if not address.is_global:
        return f"{address} is not a public address"  # e.g. carrier-grade NAT, 100.64.0.0/10
    return None


def literal_address(host: str) -> IpAddress | None:
    """The address a host names when it is an IP literal (brackets stripped), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


async def resolve(host: str, port: int) -> list[IpAddress]:
    """Every address the system resolver gives for ``host`` (without a scope id: it does not change
    what kind of address it is)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IpAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses
