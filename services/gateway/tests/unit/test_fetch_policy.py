"""The SSRF guard's rules: which URLs are fetched, and which resolved addresses the gateway connects to."""

import ipaddress

import pytest

from afo_gateway.domain.errors import UrlNotAllowed
from afo_gateway.domain.fetch_policy import FetchedPage, fetch_target, refusal, vet

PUBLIC = ipaddress.ip_address("93.184.216.34")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "0.0.0.0",
        "100.64.0.1", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "192.0.2.1",
        "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "fec0::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",   # IPv4-mapped
        "2002:7f00:1::", "2002:a9fe:a9fe::1",                              # 6to4 of 127.0.0.1, 169.254.169.254
        "64:ff9b::7f00:1", "64:ff9b::a00:1",                               # NAT64 of 127.0.0.1, 10.0.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",                            # Teredo, client 127.0.0.1
    ],
)
def test_every_kind_of_non_public_address_is_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8",
                                     "2002:808:808::1", "64:ff9b::808:808"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_one_private_address_among_public_ones_refuses_the_name() -> None:
    with pytest.raises(UrlNotAllowed, match=r"10\.0\.0\.7 is a private address"):
        vet("mixed.example", [PUBLIC, ipaddress.ip_address("10.0.0.7")])
    assert vet("public.example", [PUBLIC]) == PUBLIC
    assert vet("dev.example", [ipaddress.ip_address("127.0.0.1")], None) == ipaddress.ip_address("127.0.0.1")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("gopher://example.com/", "only http and https"),
        ("ftp://example.com/a.pdf", "only http and https"),
        ("http:///path", "no host"),
        ("https://user:secret@example.com/", "user name or password"),
        ("http://example.com:99999/", "not a valid URL"),
    ],
)
def test_urls_that_are_not_plain_web_addresses_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UrlNotAllowed, match=reason):
        fetch_target(url)


def test_a_target_knows_its_host_header_and_default_port() -> None:
    assert fetch_target("https://Docs.Example.com/a?b=1").host_header == "docs.example.com"
    assert fetch_target("http://docs.example.com:8080/").host_header == "docs.example.com:8080"
    assert fetch_target("http://[::1]:8080/").host == "::1"
    assert fetch_target("http://[::1]:8080/").host_header == "[::1]:8080"
    assert fetch_target("https://bücher.example/").host == "xn--bcher-kva.example"


def test_a_fetched_page_is_named_by_its_path() -> None:
    assert FetchedPage("https://example.com/docs/pricing%20plans", None, b"").name == "pricing plans"
    assert FetchedPage("https://example.com/", None, b"").name == "example.com"
