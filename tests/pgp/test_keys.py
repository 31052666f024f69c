"""Inbound key generation/rotation/retirement and partner-key validation, checked against the gpg CLI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airflow_provider_actito_sftp import private_tmp
from airflow_provider_actito_sftp.exceptions import PgpKeyError
from airflow_provider_actito_sftp.pgp.keys import (
    PgpKeyType,
    add_inbound_key,
    describe_secret_keys,
    export_newest_public_key,
    generate_inbound_key,
    retire_inbound_keys,
    validate_partner_key,
)
from partner_sandbox.gpg import PartnerGpg


@pytest.fixture
def partner():
    with PartnerGpg() as keyring:
        yield keyring


@pytest.mark.parametrize(
    ("key_type", "algorithm"),
    [(PgpKeyType.ED25519, "ed25519"), (PgpKeyType.RSA3072, "rsa3072")],
)
def test_generated_inbound_key(key_type: PgpKeyType, algorithm: str):
    armored, info = generate_inbound_key("partner", key_type, expires="2y")
    assert armored.startswith("-----BEGIN PGP PRIVATE KEY BLOCK-----")
    assert info.algorithm == algorithm
    assert info.can_encrypt
    assert info.expires is not None
    assert 729 <= (info.expires - info.created).days <= 731
    assert "Actito SFTP inbound (partner)" in info.user_id
    assert [key.fingerprint for key in describe_secret_keys(armored)] == [info.fingerprint]


def test_rotation_keeps_old_keys_and_hands_out_the_newest():
    first, first_info = generate_inbound_key("partner")
    both, second_info = add_inbound_key("partner", first)
    assert [key.fingerprint for key in describe_secret_keys(both)] == [second_info.fingerprint, first_info.fingerprint]
    public, handed_out = export_newest_public_key(both)
    assert handed_out.fingerprint == second_info.fingerprint
    assert "PRIVATE" not in public
    remaining, retired = retire_inbound_keys(both)
    assert [key.fingerprint for key in retired] == [first_info.fingerprint]
    assert [key.fingerprint for key in describe_secret_keys(remaining)] == [second_info.fingerprint]


def test_retiring_the_newest_key_is_refused():
    first, _ = generate_inbound_key("partner")
    both, newest = add_inbound_key("partner", first)
    with pytest.raises(PgpKeyError, match="is the newest inbound key"):
        retire_inbound_keys(both, [newest.fingerprint])
    with pytest.raises(PgpKeyError, match="no inbound key with fingerprint ABC"):
        retire_inbound_keys(both, ["abc"])


def test_every_operation_uses_a_fresh_home_that_is_removed(monkeypatch: pytest.MonkeyPatch):
    homes: list[Path] = []
    original = private_tmp.tempfile.mkdtemp

    def recording_mkdtemp(*args: object, **kwargs: object) -> str:
        path = original(*args, **kwargs)  # type: ignore[arg-type]
        homes.append(Path(path))
        return path

    monkeypatch.setattr(private_tmp.tempfile, "mkdtemp", recording_mkdtemp)
    armored, _ = generate_inbound_key("partner")
    describe_secret_keys(armored)
    assert len(homes) == 2
    assert len(set(homes)) == 2
    assert not any(home.exists() for home in homes)
    # No gpg-agent is left running for those homes.
    agents = [
        (Path("/proc") / pid / "cmdline").read_bytes()
        for pid in os.listdir("/proc")
        if pid.isdigit() and (Path("/proc") / pid / "cmdline").exists()
    ]
    assert not [cmd for cmd in agents if b"gpg-agent" in cmd and any(str(home).encode() in cmd for home in homes)]


class TestPartnerKeyValidation:
    def test_valid_key_shows_fingerprint_and_expiry(self, partner: PartnerGpg):
        fingerprint = partner.generate()
        info = validate_partner_key(partner.export_public(fingerprint))
        assert info.fingerprint == fingerprint
        assert info.can_encrypt
        assert info.expires is not None

    def test_secret_key_is_refused(self, partner: PartnerGpg):
        fingerprint = partner.generate()
        with pytest.raises(PgpKeyError, match="secret \\(private\\) key") as refused:
            validate_partner_key(partner.export_secret(fingerprint))
        assert "BEGIN" not in str(refused.value)

    def test_key_that_cannot_encrypt_is_refused(self, partner: PartnerGpg):
        fingerprint = partner.generate(usage="sign-only")
        with pytest.raises(PgpKeyError, match="no usable encryption"):
            validate_partner_key(partner.export_public(fingerprint))

    def test_expired_key_is_refused(self, partner: PartnerGpg):
        fingerprint = partner.generate(expires="1d", faked_time="20200101T000000")
        with pytest.raises(PgpKeyError, match="expired on 2020-01-02"):
            validate_partner_key(partner.export_public(fingerprint))

    def test_revoked_key_is_refused(self, partner: PartnerGpg):
        fingerprint = partner.generate()
        partner.revoke(fingerprint)
        with pytest.raises(PgpKeyError, match="is revoked"):
            validate_partner_key(partner.export_public(fingerprint))

    def test_more_than_one_key_is_refused_naming_each_so_the_user_can_pick(self, partner: PartnerGpg):
        first = partner.generate("One <one@example.com>")
        second = partner.generate("Two <two@example.com>", expires="1d", faked_time="20200101T000000")
        third = partner.generate("Three <three@example.com>", usage="sign-only")
        with pytest.raises(PgpKeyError) as refused:
            validate_partner_key(partner.export_public(first, second, third))
        assert str(refused.value) == (
            "the key file holds 3 public keys, but a connection takes exactly one (the key uploads are encrypted "
            f'to): {first} "One <one@example.com>" (can encrypt); {second} "Two <two@example.com>" (expired on '
            f'2020-01-02); {third} "Three <three@example.com>" (signing only: cannot encrypt). Ask the partner '
            "which one to use, and give only that one (`gpg --armor --export <fingerprint>` exports one key)"
        )

    @pytest.mark.parametrize("garbage", ["", "hello", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnope\n"])
    def test_garbage_is_refused(self, garbage: str):
        with pytest.raises(PgpKeyError, match="no OpenPGP key found"):
            validate_partner_key(garbage)

    def test_key_expiring_soon_is_accepted_with_a_warning(self, partner: PartnerGpg):
        from airflow_provider_actito_sftp.pgp.keys import expiry_warning

        fingerprint = partner.generate(expires="10d")
        info = validate_partner_key(partner.export_public(fingerprint))
        warning = expiry_warning(info)
        assert warning is not None
        assert fingerprint in warning
        assert "less than 30 days" in warning


def test_python_gnupg_debug_logging_never_carries_key_material(caplog: pytest.LogCaptureFixture, tmp_path: Path):
    """python-gnupg logs imported key data at DEBUG; our filter drops those records."""
    import logging

    from tests.support.pgp_files import decrypt_file

    caplog.set_level(logging.DEBUG)
    armored, _ = generate_inbound_key("partner")
    public, _ = export_newest_public_key(armored)
    plaintext = tmp_path / "p.csv"
    plaintext.write_text("id;secret-row-content\n")
    with PartnerGpg() as partner:
        partner.encrypt_to(public, plaintext, tmp_path / "p.pgp")
    decrypt_file(tmp_path / "p.pgp", tmp_path / "out.csv", armored, what="file 'p.pgp'")
    body_lines = [line for line in armored.splitlines() if len(line) > 20 and not line.startswith("-----")]
    assert body_lines
    assert not any(line[:40] in caplog.text for line in body_lines)
    assert "secret-row-content" not in caplog.text
    assert "PRIVATE KEY" not in caplog.text
