"""We and the partner's own gpg read each other's files (through the engine's stream, on local files);
output only after gpg reports success."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.pgp.keys import generate_inbound_key
from partner_sandbox.gpg import PartnerGpg
from tests.support.pgp_files import PgpDecryptError, decrypt_file, encrypt_file, sq_file_gpg_cannot_read

WHAT = "connection 'partner', location 'inbound', file 'customers.csv.pgp'"


@pytest.fixture(scope="module")
def inbound_keys() -> tuple[str, str]:
    armored, info = generate_inbound_key("partner")
    return armored, info.fingerprint


@pytest.fixture
def partner():
    with PartnerGpg() as keyring:
        yield keyring


def _public(armored_secret: str) -> str:
    from airflow_provider_actito_sftp.pgp.keys import export_newest_public_key

    return export_newest_public_key(armored_secret)[0]


def test_partner_encrypts_we_decrypt(inbound_keys: tuple[str, str], partner: PartnerGpg, tmp_path: Path):
    plaintext = tmp_path / "customers.csv"
    plaintext.write_bytes(os.urandom(100_000))
    encrypted = tmp_path / "customers.csv.pgp"
    partner.encrypt_to(_public(inbound_keys[0]), plaintext, encrypted)
    output = tmp_path / "out.csv"
    assert decrypt_file(encrypted, output, inbound_keys[0], what=WHAT) == inbound_keys[1]
    assert output.read_bytes() == plaintext.read_bytes()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["customers.csv", "customers.csv.pgp", "out.csv"]


def test_we_encrypt_partner_decrypts(partner: PartnerGpg, tmp_path: Path):
    fingerprint = partner.generate()
    plaintext = tmp_path / "segment.csv"
    plaintext.write_text("id;email\n" * 1000)
    for armor, compress in [(False, False), (True, True)]:
        encrypted = tmp_path / f"segment-{armor}-{compress}.pgp"
        used = encrypt_file(
            plaintext, encrypted, partner.export_public(fingerprint), armor=armor, compress=compress, what=WHAT
        )
        assert used == fingerprint
        assert encrypted.read_bytes().startswith(b"-----BEGIN PGP MESSAGE") is armor
        decrypted = tmp_path / f"decrypted-{armor}-{compress}.csv"
        partner.decrypt(encrypted, decrypted)
        assert decrypted.read_bytes() == plaintext.read_bytes()


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("plaintext", "not PGP-encrypted data"),
        ("truncate", r"truncated: the file ends inside an OpenPGP packet"),
        ("flip", "truncated, corrupted or tampered|integrity check failed"),
        ("foreign", "not encrypted to any of our inbound PGP keys"),
    ],
)
def test_bad_input_fails_clearly_and_leaves_no_output(
    damage: str, reason: str, inbound_keys: tuple[str, str], partner: PartnerGpg, tmp_path: Path
):
    plaintext = tmp_path / "customers.csv"
    # Random bytes handed to gpg as is may start like a passphrase packet (seen once in a few hundred runs).
    plaintext.write_bytes(b"id;email\n" * 5_000 if damage == "plaintext" else os.urandom(50_000))
    source = tmp_path / "customers.csv.pgp"
    if damage == "plaintext":
        source.write_bytes(plaintext.read_bytes())
    elif damage == "foreign":
        foreign = partner.generate("Someone else <else@example.com>")
        partner.encrypt_to(partner.export_public(foreign), plaintext, source)
    else:
        partner.encrypt_to(_public(inbound_keys[0]), plaintext, source)
        data = bytearray(source.read_bytes())
        if damage == "truncate":
            data = data[: len(data) // 2]
        else:
            data[len(data) // 2] ^= 0x55
        source.write_bytes(bytes(data))
    output = tmp_path / "out.csv"
    with pytest.raises(PgpDecryptError, match=reason) as failed:
        decrypt_file(source, output, inbound_keys[0], what=WHAT)
    assert str(failed.value).startswith(WHAT)
    assert not output.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["customers.csv", "customers.csv.pgp"]


def test_a_cipher_gpg_does_not_know_is_named_as_such(inbound_keys: tuple[str, str], tmp_path: Path):
    """rnp --cipher SM4 (algorithm 105): refused for the real reason, not as tampered, with nothing written."""
    import shutil
    import subprocess

    if shutil.which("rnp") is None:
        pytest.skip("rnp is not installed")
    home = tmp_path / "rnp"
    home.mkdir(mode=0o700)
    public = tmp_path / "ours.asc"
    public.write_text(_public(inbound_keys[0]))
    run = {"capture_output": True, "check": True, "timeout": 120}
    subprocess.run(["rnpkeys", "--homedir", str(home), "--import", str(public)], **run)
    plaintext = tmp_path / "customers.csv"
    plaintext.write_text("id;email\n1;ada@example.com\n")
    encrypted = tmp_path / "customers.csv.pgp"
    subprocess.run(
        [
            "rnp",
            "--homedir",
            str(home),
            "--encrypt",
            str(plaintext),
            "--recipient",
            inbound_keys[1],
            "--cipher",
            "SM4",
            "--output",
            str(encrypted),
        ],
        **run,
    )
    output = tmp_path / "out.csv"
    with pytest.raises(PgpDecryptError, match="encrypted to our key, but with a cipher gpg does not support"):
        decrypt_file(encrypted, output, inbound_keys[0], what=WHAT)
    assert not output.exists()


def test_sequoias_default_padding_is_named_with_the_partners_fix(inbound_keys: tuple[str, str], tmp_path: Path):
    """`sq encrypt` pads by default and gpg 2.2 cannot read the padding: refused saying so and how the partner
    avoids it, not as "plaintext or damaged"; `--compression none` from the same partner decrypts."""
    import shutil
    import subprocess

    if shutil.which("sq") is None:
        pytest.skip("sq is not installed (.ci/run installs it)")
    cert = tmp_path / "ours.asc"
    cert.write_text(_public(inbound_keys[0]))
    plaintext = tmp_path / "customers.csv"
    plaintext.write_bytes(os.urandom(300_000))
    run = {"capture_output": True, "check": True, "timeout": 120}
    padded, plain = tmp_path / "padded.pgp", tmp_path / "plain.pgp"
    sq_file_gpg_cannot_read(cert, plaintext, padded, inbound_keys[0])  # sq pads by a random amount
    subprocess.run(
        [
            "sq",
            "encrypt",
            "--compression",
            "none",
            "--recipient-cert",
            str(cert),
            "--output",
            str(plain),
            str(plaintext),
        ],
        **run,
    )
    output = tmp_path / "out.csv"
    with pytest.raises(PgpDecryptError, match=r"most likely the padding Sequoia's `sq encrypt` adds by default"):
        decrypt_file(padded, output, inbound_keys[0], what=WHAT)
    assert not output.exists()
    assert decrypt_file(plain, output, inbound_keys[0], what=WHAT) == inbound_keys[1]
    assert output.read_bytes() == plaintext.read_bytes()
