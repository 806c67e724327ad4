"""The pieces of NATS security that need no running platform: JWTs of the auth callout, the credential
file, the generated server configuration, TLS on the client and a real TLS connection."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import os
import stat
import subprocess
import time
from pathlib import Path

import nats
import nats.errors
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from afo_common.nats_security.client import NatsAuth
from afo_common.nats_security.credentials import CALLOUT_ISSUER, NatsCredentials
from afo_common.nats_security.jwt import (
    AuthorizationRequest,
    InvalidJwt,
    authorization_response,
    decode,
    encode,
    user_jwt,
)
from afo_common.nats_security.keys import new_seed, public_key
from afo_common.nats_security.permissions import integrator_permissions
from afo_common.nats_security.server_config import ServerTls, authorization_block, key_variable, local_server_config
from afo_common.settings import ServiceSettings
from afo_testkit.nats import nats_server, nats_server_binary


def server_request(user_nkey: str, user: str = "evc_1", password: str = "evs_x") -> str:
    """An authorization request as nats-server 2.15 sends it (same claims, signed by a server key)."""
    claims = {"aud": "nats-authorization-request", "sub": public_key(new_seed("account")),
              "nats": {"server_id": {"id": "NSERVER", "name": "n"}, "user_nkey": user_nkey,
                       "client_info": {"host": "127.0.0.1", "id": 7, "user": user, "kind": "Client"},
                       "connect_opts": {"user": user, "pass": password, "protocol": 1},
                       "type": "authorization_request", "version": 2}}
    return encode(claims, new_seed("server"))


def test_a_jwt_round_trips_and_a_tampered_or_expired_one_is_refused() -> None:
    seed = new_seed("account")
    token = encode({"sub": "x", "exp": int(time.time()) + 60}, seed)
    claims = decode(token)
    assert claims["iss"] == public_key(seed) and claims["sub"] == "x" and claims["jti"]
    header, _body, signature = token.split(".")
    forged = json.dumps({**claims, "sub": "y"}).encode()
    with pytest.raises(InvalidJwt):
        decode(f"{header}.{base64.urlsafe_b64encode(forged).rstrip(b'=').decode()}.{signature}")
    with pytest.raises(InvalidJwt, match="expired"):
        decode(encode({"sub": "x", "exp": int(time.time()) - 1}, seed))


def test_the_callout_answers_with_a_user_jwt_bound_to_the_request() -> None:
    issuer = new_seed("account")
    user_nkey = public_key(new_seed("user"))
    request = AuthorizationRequest.from_jwt(server_request(user_nkey))
    assert (request.user, request.password, request.client_id, request.server_id) == ("evc_1", "evs_x", 7, "NSERVER")

    token = user_jwt(request, "evc_1", integrator_permissions("ten_a"), issuer, time.time() + 60)
    response = decode(authorization_response(request, issuer, user=token).decode())
    assert (response["sub"], response["aud"]) == (user_nkey, "NSERVER")
    assert response["nats"]["type"] == "authorization_response"
    user = decode(response["nats"]["jwt"])
    assert (user["sub"], user["aud"], user["name"]) == (user_nkey, "INTEGRATORS", "evc_1")
    assert user["nats"]["sub"] == {"allow": ["afo.ten_a.>"]} and user["nats"]["pub"] == {"deny": [">"]}

    refusal = decode(authorization_response(request, issuer, error="no").decode())
    assert refusal["nats"]["error"] == "no" and "jwt" not in refusal["nats"]


def test_a_request_not_signed_by_a_server_key_is_refused() -> None:
    claims = {"aud": "nats-authorization-request", "nats": {"user_nkey": public_key(new_seed("user")),
                                                            "type": "authorization_request"}}
    with pytest.raises(InvalidJwt):
        AuthorizationRequest.from_jwt(encode(claims, new_seed("account")))


def test_credentials_are_created_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "home" / "nats" / "credentials.json"
    first = NatsCredentials.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert NatsCredentials.load_or_create(path) == first
    assert first.seed(CALLOUT_ISSUER).startswith("SA") and first.seed("gateway").startswith("SU")
    assert len(set(first.seeds.values())) == len(first.seeds)


def test_nats_server_accepts_the_generated_configuration_with_keys_and_with_variables(tmp_path: Path) -> None:
    credentials = NatsCredentials.generate()
    local = tmp_path / "local.conf"
    local.write_text(local_server_config(credentials.public_keys(), host="127.0.0.1", port=4999,
                                         store_dir=tmp_path / "js"))
    variables = tmp_path / "variables.conf"
    keys = {user: f"${key_variable(user)}" for user in credentials.seeds}
    variables.write_text(authorization_block(keys))
    env = {**os.environ, **{key_variable(user): key for user, key in credentials.public_keys().items()}}
    for config in (local, variables):
        checked = subprocess.run([str(nats_server_binary()), "-t", "-c", str(config)], capture_output=True,
                                 text=True, env=env, check=False)
        assert checked.returncode == 0, checked.stderr


def test_settings_carry_the_seed_inbox_prefix_and_tls_to_both_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    seed = new_seed("user")
    monkeypatch.setenv("AFO_NATS_NKEY_SEED", seed)
    monkeypatch.setenv("AFO_NATS_TLS_CA_FILE", "/ca.pem")
    settings = ServiceSettings.for_service("notifier")
    auth = settings.nats_auth()
    assert auth == NatsAuth(user="notifier", nkey_seed=seed, tls_ca_file=Path("/ca.pem"))
    assert seed not in repr(settings)
    options = NatsAuth(user="notifier", nkey_seed=seed).connect_options()
    assert options == {"inbox_prefix": "_INBOX_notifier", "nkeys_seed_str": seed}
    broker = NatsAuth(user="notifier", nkey_seed=seed).broker_options()
    assert broker["inbox_prefix"] == "_INBOX_notifier" and broker["security"].seed == seed


def make_certificates(folder: Path) -> ServerTls:
    """A self-signed CA and a server certificate for 127.0.0.1 signed by it."""
    def key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    now = dt.datetime.now(dt.UTC)
    ca_key, server_key = key(), key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "afo test ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
              .issuer_name(ca_name).public_key(server_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
    paths = ServerTls(folder / "server.pem", folder / "server-key.pem", folder / "ca.pem")
    paths.cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths.key_file.write_bytes(server_key.private_bytes(serialization.Encoding.PEM,
                                                        serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
    assert paths.ca_file is not None
    paths.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return paths


async def test_a_real_tls_connection_with_the_configured_ca(tmp_path: Path) -> None:
    tls = make_certificates(tmp_path)
    credentials = NatsCredentials.generate()
    async with nats_server(tmp_path, credentials=credentials, tls=tls) as server:
        assert "tls {" in (tmp_path / "nats-server.conf").read_text()
        client = await nats.connect(server.url, **server.connect_options("admin"))
        try:
            assert client.is_connected and server.url.startswith("tls://")
            await client.flush()
        finally:
            await client.close()
        untrusting = NatsAuth(user="admin", nkey_seed=credentials.seed("admin"))  # no CA: verification fails
        with pytest.raises((OSError, nats.errors.Error, TimeoutError)):
            await nats.connect(server.url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=3,
                               **untrusting.connect_options())
