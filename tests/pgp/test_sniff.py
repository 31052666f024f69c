"""Decrypt, import as it is, or refuse: a file's first packets against the inbound policy (no gpg runs but one)."""

from __future__ import annotations

import os
import time
from types import SimpleNamespace

import pytest

from airflow_provider_actito_sftp.exceptions import ImportRefusedError
from airflow_provider_actito_sftp.pgp.packets import PgpKind, sniff
from airflow_provider_actito_sftp.pgp.sniff import DecryptionKeys, decide_decryption
from airflow_provider_actito_sftp.pgp.stream import DecryptOptions
from airflow_provider_actito_sftp.pgp.verdict import SignaturePolicy

PLAINTEXT = b"id;email\n1;a@example.com\n"
ARMORED = b"-----BEGIN PGP MESSAGE-----\n\nhF4DAAAAAAAAAAASAQdA\n"
_ENCRYPTED_DATA = bytes([0xD2, 40, 1]) + os.urandom(39)  # integrity-protected data (SEIPD v1)
# A v3 session key for an RSA key (a 268-octet body: two length octets), then the data.
TO_A_KEY = bytes([0xC1, 192, 76, 3]) + os.urandom(8) + b"\x01" + (2048).to_bytes(2, "big") + b"\xff" * 256
TO_A_KEY += _ENCRYPTED_DATA
# A v4 passphrase session key (AES-256, iterated and salted S2K), then the data.
SYMMETRIC = bytes([0xC3, 13, 4, 9, 3, 8]) + b"\x01" * 8 + b"\x60" + _ENCRYPTED_DATA
_LITERAL_BODY = b"b\x05a.csv" + int(time.time()).to_bytes(4, "big") + b"id;email\n"
LITERAL = bytes([0xCB, len(_LITERAL_BODY)]) + _LITERAL_BODY
OPTIONS = DecryptOptions("armored secret keys")


class Options:
    """Stands for :class:`DecryptionKeys`: counts how often the keys are asked for."""

    def __init__(self, options: DecryptOptions | None) -> None:
        self.options, self.calls = options, 0

    def __call__(self) -> DecryptOptions | None:
        self.calls += 1
        return self.options


def _decide(head: bytes, *, required: bool, options: DecryptOptions | None) -> DecryptOptions | None:
    return decide_decryption(head, len(head), pgp_required=required, options=Options(options))


def test_the_sample_heads_are_what_they_stand_for():
    kinds = [sniff(head, len(head)).kind for head in (PLAINTEXT, ARMORED, TO_A_KEY, SYMMETRIC, LITERAL)]
    expected = [PgpKind.NOT_PGP, PgpKind.ARMORED, PgpKind.PUBLIC_KEY_ENCRYPTED, PgpKind.SYMMETRIC]
    assert kinds == [*expected, PgpKind.UNENCRYPTED_PGP]


def test_plaintext_is_imported_as_it_is_unless_pgp_is_required_and_the_keys_are_not_asked_for():
    options = Options(OPTIONS)
    assert decide_decryption(PLAINTEXT, len(PLAINTEXT), pgp_required=False, options=options) is None
    assert options.calls == 0
    with pytest.raises(ImportRefusedError, match=r"^not PGP-encrypted, but the inbound policy requires PGP$"):
        _decide(PLAINTEXT, required=True, options=OPTIONS)


@pytest.mark.parametrize("head", [TO_A_KEY, ARMORED], ids=["binary", "armored"])
def test_a_message_to_a_key_is_decrypted_with_our_keys(head: bytes):
    assert _decide(head, required=False, options=OPTIONS) is OPTIONS
    assert _decide(head, required=True, options=OPTIONS) is OPTIONS


WINDOWS_ARMOR = {  # the armored message as Windows tools save text (issue 26.6)
    "utf-8-bom": b"\xef\xbb\xbf" + ARMORED,
    "utf-16-le": b"\xff\xfe" + ARMORED.decode().encode("utf-16-le"),
    "utf-16-be": b"\xfe\xff" + ARMORED.decode().encode("utf-16-be"),
}


@pytest.mark.parametrize("head", list(WINDOWS_ARMOR.values()), ids=list(WINDOWS_ARMOR))
def test_armor_a_windows_tool_wrote_is_decrypted_not_called_unencrypted(head: bytes):
    assert _decide(head, required=True, options=OPTIONS) is OPTIONS
    assert _decide(head, required=False, options=None) is None  # PGP optional, no key pair: as it is


def test_a_message_to_a_key_without_our_key_pair():
    assert _decide(ARMORED, required=False, options=None) is None  # PGP optional: imported as it is
    with pytest.raises(ImportRefusedError, match="no inbound key pair is configured"):
        _decide(ARMORED, required=True, options=None)


@pytest.mark.parametrize(("required", "options"), [(True, None), (True, OPTIONS), (False, OPTIONS)])
def test_a_passphrase_message_is_refused_where_pgp_is_expected(required: bool, options: DecryptOptions | None):
    with pytest.raises(ImportRefusedError, match=r"^encrypted with a passphrase \(symmetric\)"):
        _decide(SYMMETRIC, required=required, options=options)


def test_a_passphrase_message_is_imported_as_it_is_where_pgp_is_not_used():
    assert _decide(SYMMETRIC, required=False, options=None) is None


def test_signed_or_compressed_but_not_encrypted_says_so():
    with pytest.raises(ImportRefusedError, match=r"\(signed or compressed PGP data, but not encrypted\)"):
        _decide(LITERAL, required=True, options=OPTIONS)
    assert _decide(LITERAL, required=False, options=OPTIONS) is None


def test_decryption_keys_are_built_once_and_only_with_an_inbound_key():
    assert DecryptionKeys(SimpleNamespace(inbound_pgp_private_keys=None), SignaturePolicy.ACCEPT)() is None
    keys = SimpleNamespace(inbound_pgp_private_keys="armored", partner_pgp_public_key="not a key")
    decryption_keys = DecryptionKeys(keys, SignaturePolicy.REQUIRE)
    built = decryption_keys()
    # A partner key that does not validate has no fingerprint: every signature then fails the policy.
    assert built == DecryptOptions("armored", SignaturePolicy.REQUIRE, "not a key", None)
    assert decryption_keys() is built
