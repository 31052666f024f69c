"""``actito-sftp ssh-key``, ``pgp-key`` and ``partner-key``: refusals and the rotation's options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.connection.store import ConnectionStore
from partner_sandbox.gpg import PartnerGpg
from tests.cli.support import CreateConnection, RunCli


def test_key_generation_over_existing_keys_is_refused(run_cli: RunCli, create_connection: CreateConnection):
    create_connection("regen")
    assert "use `ssh-key rotate`" in run_cli("ssh-key", "generate", "regen", expect=1).stderr
    run_cli("pgp-key", "generate", "regen")
    assert "use `pgp-key rotate`" in run_cli("pgp-key", "generate", "regen", expect=1).stderr
    newest = json.loads(run_cli("pgp-key", "list", "regen", "--json").stdout)[0]["fingerprint"]
    assert "is the newest inbound key" in run_cli("pgp-key", "retire", "regen", newest, expect=1).stderr
    run_cli("connection", "delete", "regen", "--yes")


def test_ssh_key_rotation_restart_and_force(run_cli: RunCli, create_connection: CreateConnection):
    active = json.loads(create_connection("rotating", "--json").stdout)["ssh_key"]["public_key"]
    first = json.loads(run_cli("ssh-key", "rotate", "rotating", "--json").stdout)
    restarted = json.loads(run_cli("ssh-key", "rotate", "rotating", "--restart", "--json").stdout)
    assert (first["state"], restarted["state"]) == ("pending", "pending")
    assert restarted["public_key"] != first["public_key"]
    keys = json.loads(run_cli("ssh-key", "public", "rotating", "--json").stdout)
    assert (keys["public_key"], keys["pending"]["public_key"]) == (active, restarted["public_key"])
    pending_text = run_cli("ssh-key", "public", "rotating").stdout
    assert pending_text.splitlines() == [active, restarted["public_key"]]
    forced = run_cli("ssh-key", "rotate", "rotating", "--force")
    assert f"Activated {restarted['fingerprint']}" in forced.stdout
    keys = json.loads(run_cli("ssh-key", "public", "rotating", "--json").stdout)
    assert (keys["public_key"], keys["pending"]) == (restarted["public_key"], None)
    run_cli("connection", "delete", "rotating", "--yes")


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("secret", "secret (private) key"),
        ("sign-only", "no usable encryption"),
        ("expired", "expired on"),
        ("revoked", "is revoked"),
        ("two", "the key file holds 2 public keys, but a connection takes exactly one"),
        ("garbage", "no OpenPGP key found"),
    ],
)
def test_partner_key_refusals(
    kind: str, message: str, run_cli: RunCli, create_connection: CreateConnection, tmp_path: Path
):
    name = f"pk_{kind.replace('-', '_')}"
    create_connection(name)
    with PartnerGpg() as partner:
        if kind == "secret":
            text = partner.export_secret(partner.generate())
        elif kind == "sign-only":
            text = partner.export_public(partner.generate(usage="sign"))
        elif kind == "expired":
            text = partner.export_public(partner.generate(expires="1d", faked_time="20200101T000000"))
        elif kind == "revoked":
            fingerprint = partner.generate()
            partner.revoke(fingerprint)
            text = partner.export_public(fingerprint)
        elif kind == "two":
            text = partner.export_public(partner.generate("A <a@example.com>"), partner.generate("B <b@example.com>"))
        else:
            text = "this is not a key\n"
    key_file = tmp_path / "partner.asc"
    key_file.write_text(text)
    result = run_cli("partner-key", "set", name, str(key_file), expect=1)
    assert message in result.stderr
    assert result.stderr.count("\n") == 1  # one line
    assert ConnectionStore().get(name).extra.get("partner_pgp_public_key") is None
    assert "has no partner key" in run_cli("partner-key", "show", name, expect=1).stderr
    run_cli("connection", "delete", name, "--yes")


def test_our_ssh_public_key_in_both_formats(run_cli: RunCli, create_connection: CreateConnection, tmp_path: Path):
    """`ssh-key public` hands out the authorized_keys line, or with --format rfc4716 the SSH2 block ProFTPD
    needs: the same key either way, printed or written to --output."""
    import asyncssh

    create_connection("formats")
    shown = json.loads(run_cli("ssh-key", "public", "formats", "--json").stdout)
    line = shown["public_key"]
    assert line.startswith("ssh-ed25519 ")
    assert shown["public_key_rfc4716"].startswith("---- BEGIN SSH2 PUBLIC KEY ----\n")
    printed = run_cli("ssh-key", "public", "formats", "--format", "rfc4716").stdout
    assert printed == shown["public_key_rfc4716"]
    written = tmp_path / "formats.rfc4716.pub"
    run_cli("ssh-key", "public", "formats", "--format", "rfc4716", "--output", str(written))
    assert written.read_text() == printed
    assert asyncssh.import_public_key(written.read_text()).export_public_key().decode().strip() == line
    assert "Invalid value for '--format'" in run_cli("ssh-key", "public", "formats", "--format", "x", expect=2).stderr
    run_cli("connection", "delete", "formats", "--yes")


def test_a_binary_partner_key_file_is_accepted(run_cli: RunCli, create_connection: CreateConnection, tmp_path: Path):
    """A `.gpg` key file (binary, as `gpg --export` writes it): set, stored armored, encrypted to."""
    import subprocess

    create_connection("binary_key")
    with PartnerGpg() as partner:
        fingerprint = partner.generate("Binary <binary@example.com>")
        key_file = tmp_path / "partner.gpg"
        key_file.write_bytes(
            subprocess.run(
                ["gpg", "--homedir", str(partner.home), "--batch", "--export", fingerprint],
                capture_output=True,
                check=True,
                timeout=60,
            ).stdout
        )
        armored = partner.export_public(fingerprint)
    shown = json.loads(run_cli("partner-key", "set", "binary_key", str(key_file), "--json").stdout)
    assert shown["fingerprint"] == fingerprint
    stored = ConnectionStore().get("binary_key").extra["partner_pgp_public_key"]
    assert stored == armored
    run_cli("connection", "delete", "binary_key", "--yes")


def test_a_huge_key_file_is_refused_before_it_is_read(
    run_cli: RunCli, create_connection: CreateConnection, tmp_path: Path
):
    create_connection("huge_key")
    huge = tmp_path / "partner.asc"
    huge.write_bytes(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n" + b"A" * (50 * 1024 * 1024))
    refused = run_cli("partner-key", "set", "huge_key", str(huge), expect=1)
    assert "is larger than 512 KiB: not one partner public key" in refused.stderr
    assert "partner_pgp_public_key" not in ConnectionStore().get("huge_key").extra
    run_cli("connection", "delete", "huge_key", "--yes")


def test_partner_key_remove_refused_while_outbound_pgp_is_on(
    run_cli: RunCli, create_connection: CreateConnection, tmp_path: Path
):
    """Removal never makes uploads go out unencrypted: refused while outbound PGP is on, then done once it is off."""
    create_connection("drop_key")
    assert "has no partner key to remove" in run_cli("partner-key", "remove", "drop_key", expect=1).stderr
    with PartnerGpg() as partner:
        fingerprint = partner.generate("Dropped <dropped@example.com>")
        (tmp_path / "partner.asc").write_text(partner.export_public(fingerprint))
    run_cli("partner-key", "set", "drop_key", str(tmp_path / "partner.asc"))
    run_cli("policy", "drop_key", "--outbound-pgp")
    refused = run_cli("partner-key", "remove", "drop_key", expect=1).stderr
    assert "turn off outbound PGP encryption first (`actito-sftp policy drop_key --no-outbound-pgp`)" in refused
    assert ConnectionStore().get("drop_key").extra["partner_pgp_public_key"]
    run_cli("policy", "drop_key", "--no-outbound-pgp")
    removed = run_cli("partner-key", "remove", "drop_key")
    assert removed.stdout.strip() == f"Partner key removed ({fingerprint})."
    assert "partner_pgp_public_key" not in ConnectionStore().get("drop_key").extra
    assert "has no partner key" in run_cli("partner-key", "show", "drop_key", expect=1).stderr
    assert "without the partner's public key" in run_cli("policy", "drop_key", "--outbound-pgp", expect=1).stderr
    run_cli("connection", "delete", "drop_key", "--yes")
