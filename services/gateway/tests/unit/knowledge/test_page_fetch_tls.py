"""Over HTTPS the fetcher connects to the vetted address yet still sends the name as SNI and checks the
certificate against the name (not the address), on a real local TLS server."""

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from afo_gateway.adapters.page_fetcher import PageFetcher
from afo_gateway.domain.errors import UrlUnreachable
from afo_gateway.domain.fetch_policy import IpAddress, refusal

LOCAL = ipaddress.ip_address("127.0.0.1")


def certificates(folder: Path, name: str) -> tuple[Path, Path, Path]:
    """A CA, and a certificate it signed for the DNS name ``name`` only: (ca, cert, key) files."""
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "afo fetch test ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
          .not_valid_after(now + dt.timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


@pytest.fixture
async def tls_site(tmp_path: Path) -> AsyncIterator[tuple[int, ssl.SSLContext, list[str]]]:
    """An HTTPS site for docs.example on 127.0.0.1; yields its port, a context trusting its CA, and the
    SNI names it was asked for."""
    ca, cert, key = certificates(tmp_path, "docs.example")
    names: list[str] = []
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)

    def record(sslobj: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> None:
        names.append(name or "")

    server_context.sni_callback = record

    async def page(request: Request) -> Response:
        return Response(b"# Docs\n", headers={"content-type": "text/markdown"})

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(Starlette(routes=[Route("/", page)]), log_level="warning", lifespan="off",
                            ssl_certfile=str(cert), ssl_keyfile=str(key))
    config.load()
    config.ssl = server_context  # with the SNI recorder
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            raise RuntimeError("the TLS site did not start") from task.exception()
        await asyncio.sleep(0.01)
    yield sock.getsockname()[1], ssl.create_default_context(cafile=str(ca)), names
    # Not gracefully: the server side of a refused handshake would otherwise be waited for until it times out.
    server.should_exit = server.force_exit = True
    await task


def fetcher(context: ssl.SSLContext) -> PageFetcher:
    async def resolve(host: str, port: int) -> list[IpAddress]:
        return [LOCAL]  # every name is the local site

    return PageFetcher(max_bytes=1024, timeout_s=5, allow_private=False, resolver=resolve,
                       judge=lambda a: None if a == LOCAL else refusal(a), tls=context)


async def test_https_sends_the_name_as_sni_and_checks_the_certificate_against_it(
        tls_site: tuple[int, ssl.SSLContext, list[str]]) -> None:
    port, context, names = tls_site

    page = await fetcher(context).fetch(f"https://docs.example:{port}/")

    assert page.data == b"# Docs\n" and names == ["docs.example"]


async def test_a_certificate_for_another_name_is_refused(tls_site: tuple[int, ssl.SSLContext, list[str]]) -> None:
    port, context, names = tls_site

    with pytest.raises(UrlUnreachable, match="ConnectError"):
        await fetcher(context).fetch(f"https://evil.example:{port}/")

    assert names == ["evil.example"]
