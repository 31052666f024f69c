"""What the streaming gpg filter reports for files we cannot decrypt, checked with the real gpg."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.exceptions import GpgStreamError
from airflow_provider_actito_sftp.pgp.keys import export_newest_public_key, generate_inbound_key
from airflow_provider_actito_sftp.pgp.stream import check_decryption, decrypting, filter_file
from airflow_provider_actito_sftp.transfer.options import SignaturePolicy
from tests.support.partner_gpg import PartnerGpg

SYMMETRIC = (
    r"^encrypted with a passphrase \(symmetric\), not to our PGP key: ask the partner to encrypt to our public key$"
)
PLAINTEXT = os.urandom(50_000)


@pytest.fixture(autouse=True)
def _no_pinentry_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """gpg asks its agent for the passphrase: with no display or tty to show a pinentry on, it fails at once."""
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "GPG_TTY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def inbound() -> tuple[str, str, str]:
    """Our inbound secret keys, their public key and fingerprint."""
    armored, info = generate_inbound_key("partner")
    return armored, export_newest_public_key(armored)[0], info.fingerprint


@pytest.fixture
def partner() -> Iterator[PartnerGpg]:
    with PartnerGpg() as keyring:
        yield keyring


def _partner_encrypts(partner: PartnerGpg, tmp_path: Path, *options: str, recipient_key: str = "") -> Path:
    """Encrypt :data:`PLAINTEXT` as the partner would, with the given gpg options."""
    source, destination = tmp_path / "customers.csv", tmp_path / "customers.csv.pgp"
    source.write_bytes(PLAINTEXT)
    recipient: list[str] = []
    if recipient_key:
        (tmp_path / "recipient.asc").write_text(recipient_key)
        recipient = ["--encrypt", "--recipient-file", str(tmp_path / "recipient.asc")]
    command = ["gpg", "--homedir", str(partner.home), "--batch", "--yes", "--pinentry-mode", "loopback"]
    subprocess.run(
        [*command, *options, *recipient, "--output", str(destination), str(source)],
        capture_output=True,
        timeout=120,
        check=True,
    )
    return destination


def _decrypt(secret_keys: str, message: Path) -> tuple[str | None, bytes]:
    """Decrypt through :func:`decrypting`; return the decrypting key's fingerprint and the plaintext."""

    async def run() -> tuple[str | None, bytes]:
        sink = io.BytesIO()
        async with decrypting(secret_keys) as gpg:
            with message.open("rb") as source:
                outcome = await asyncio.wait_for(filter_file(gpg, source, sink), timeout=120)
        return check_decryption(outcome, SignaturePolicy.IGNORE, None), sink.getvalue()

    return asyncio.run(run())


@pytest.mark.parametrize("armor", [False, True])
def test_passphrase_encrypted_file_is_reported_as_such(
    armor: bool, inbound: tuple[str, str, str], partner: PartnerGpg, tmp_path: Path
):
    options = ["--passphrase", "partner secret", "--symmetric", *(["--armor"] if armor else [])]
    message = _partner_encrypts(partner, tmp_path, *options)
    with pytest.raises(GpgStreamError, match=SYMMETRIC):
        _decrypt(inbound[0], message)


def test_passphrase_and_a_foreign_key_is_reported_as_passphrase_encrypted(
    inbound: tuple[str, str, str], partner: PartnerGpg, tmp_path: Path
):
    foreign = partner.export_public(partner.generate("Someone else <else@example.com>"))
    message = _partner_encrypts(partner, tmp_path, "--passphrase", "x", "--symmetric", recipient_key=foreign)
    with pytest.raises(GpgStreamError, match=SYMMETRIC):
        _decrypt(inbound[0], message)


def test_passphrase_and_our_key_decrypts_with_our_key(
    inbound: tuple[str, str, str], partner: PartnerGpg, tmp_path: Path
):
    message = _partner_encrypts(partner, tmp_path, "--passphrase", "x", "--symmetric", recipient_key=inbound[1])
    assert _decrypt(inbound[0], message) == (inbound[2], PLAINTEXT)


def test_other_failures_keep_their_messages(inbound: tuple[str, str, str], partner: PartnerGpg, tmp_path: Path):
    foreign = partner.export_public(partner.generate("Someone else <else@example.com>"))
    with pytest.raises(GpgStreamError, match=r"^not encrypted to any of our inbound PGP keys"):
        _decrypt(inbound[0], _partner_encrypts(partner, tmp_path, recipient_key=foreign))
    plaintext = tmp_path / "plain.csv"
    plaintext.write_bytes(PLAINTEXT)
    with pytest.raises(GpgStreamError, match=r"^not PGP-encrypted data"):
        _decrypt(inbound[0], plaintext)
    tampered = _partner_encrypts(partner, tmp_path, "--compress-algo", "none", recipient_key=inbound[1])
    data = bytearray(tampered.read_bytes())
    data[len(data) // 2] ^= 0x55
    tampered.write_bytes(bytes(data))
    with pytest.raises(GpgStreamError, match=r"integrity check failed|tampered") as raised:
        _decrypt(inbound[0], tampered)
    assert "passphrase" not in str(raised.value)
