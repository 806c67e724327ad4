"""AFO_VAULT_KEY's format and the sealing itself (``domain/vault.py``)."""

import base64

import pytest

from afo_gateway.domain.vault import DEFAULT_KEY_ID, Keyring, Undecryptable, VaultKeyError, parse_keys

K1, K2 = bytes(32), bytes(range(32))


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_keys_are_listed_current_first_and_a_bare_key_is_k0() -> None:
    assert list(parse_keys(f" new:{b64(K2)} , old:{b64(K1)}")) == ["new", "old"]
    assert parse_keys(b64(K1)) == {DEFAULT_KEY_ID: K1}
    # As `afo vault rotate` writes $AFO_HOME/vault.key: v<UTC time><4 hex>.
    assert list(parse_keys(f"v20261202211500ab12:{b64(K2)},v20261101000000cd34:{b64(K1)}")) == [
        "v20261202211500ab12", "v20261101000000cd34"]


@pytest.mark.parametrize("raw", ["", "k1:not base64!", f"k1:{b64(bytes(16))}", f"k 1:{b64(K1)}",
                                 f"k1:{b64(K1)},k1:{b64(K2)}"])
def test_a_malformed_setting_is_refused(raw: str) -> None:
    with pytest.raises(VaultKeyError):
        parse_keys(raw)


def test_a_record_opens_only_for_its_tenant_and_provider_and_nonces_differ() -> None:
    ring = Keyring({"k1": K1})
    sealed = ring.seal("ten_a", "openai", {"api_key": "sk-123"})
    again = ring.seal("ten_a", "openai", {"api_key": "sk-123"})

    assert ring.open("ten_a", "openai", sealed) == {"api_key": "sk-123"}
    assert sealed.nonce != again.nonce and sealed.ciphertext != again.ciphertext
    for tenant, provider in [("ten_b", "openai"), ("ten_a", "deepgram")]:
        with pytest.raises(Undecryptable):
            ring.open(tenant, provider, sealed)
    with pytest.raises(Undecryptable):
        Keyring({"k2": K2}).open("ten_a", "openai", sealed)
