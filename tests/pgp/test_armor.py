"""Partner key files as gpg, Sequoia's ``sq`` and ``rnp`` write them, armored or binary: read as the same key."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.exceptions import PgpKeyError
from airflow_provider_actito_sftp.pgp.armor import key_file_text
from airflow_provider_actito_sftp.pgp.keys import validate_partner_key
from partner_sandbox.gpg import PartnerGpg

RUN = {"capture_output": True, "check": True, "timeout": 120}


def test_a_binary_gpg_export_becomes_gpgs_own_armored_text(tmp_path: Path):
    with PartnerGpg() as partner:
        fingerprint = partner.generate("Binary <binary@example.com>")
        armored = partner.export_public(fingerprint)
        binary = subprocess.run(
            ["gpg", "--homedir", str(partner.home), "--batch", "--export", fingerprint], **RUN
        ).stdout
    assert binary[:1] != b"-"
    assert key_file_text(binary) == armored  # byte for byte: the same base64 lines and CRC-24
    assert validate_partner_key(key_file_text(binary)).fingerprint == fingerprint


@pytest.mark.parametrize("tool", ["sq", "rnp"])
def test_binary_keys_made_by_sequoia_and_rnp_are_accepted(tool: str, tmp_path: Path):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (.ci/run installs it)")
    cert = tmp_path / "cert.pgp"
    if tool == "sq":
        key = tmp_path / "key.pgp"
        subprocess.run(["sq", "key", "generate", "--userid", "<sq@example.com>", "--export", str(key)], **RUN)
        subprocess.run(["sq", "key", "extract-cert", "--binary", "--output", str(cert), str(key)], **RUN)
    else:
        home = tmp_path / "rnp"
        home.mkdir(mode=0o700)
        rnpkeys = ["rnpkeys", "--homedir", str(home)]
        subprocess.run([*rnpkeys, "--generate-key", "--userid", "rnp <rnp@example.com>", "--password", ""], **RUN)
        armored = subprocess.run([*rnpkeys, "--export-key", "rnp@example.com"], **RUN).stdout
        (tmp_path / "cert.asc").write_bytes(armored)
        subprocess.run(["rnp", "--dearmor", str(tmp_path / "cert.asc"), "--output", str(cert)], **RUN)
    data = cert.read_bytes()
    assert not data.startswith(b"-----")
    info = validate_partner_key(key_file_text(data))
    assert info.can_encrypt


def test_armored_text_is_kept_and_a_byte_order_mark_ignored():
    armored = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nabc\n-----END PGP PUBLIC KEY BLOCK-----\n"
    assert key_file_text(armored.encode()) == armored
    assert key_file_text(b"\xef\xbb\xbf" + armored.encode()) == armored


def test_a_binary_secret_key_is_refused_as_a_secret_key():
    with PartnerGpg() as partner:
        fingerprint = partner.generate()
        binary = subprocess.run(
            [
                "gpg",
                "--homedir",
                str(partner.home),
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
                "--export-secret-keys",
                fingerprint,
            ],
            **RUN,
        ).stdout
    text = key_file_text(binary)
    assert text.startswith("-----BEGIN PGP PRIVATE KEY BLOCK-----\n")
    with pytest.raises(PgpKeyError, match=r"secret \(private\) key"):
        validate_partner_key(text)


@pytest.mark.parametrize("data", [b"", b"name;email\n", b"\x00\x01\x02", "naïve\n".encode("latin-1")])
def test_anything_else_is_no_key_and_never_quoted(data: bytes):
    with pytest.raises(PgpKeyError, match="no OpenPGP key found") as refused:
        key_file_text(data)
    assert "name;email" not in str(refused.value)
