"""PGP encryption and decryption of files with exactly the configured keys.

Each call works in a fresh temporary GNUPGHOME holding only the keys it needs: our inbound secret keys
to decrypt, the partner's public key to encrypt. Output is written under a temporary name and moved
into place only after gpg reports success, so a failed or tampered file never leaves output behind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_actito_sftp.exceptions import ActitoSftpError
from airflow_provider_actito_sftp.keys.gnupg_home import temporary_gnupg_home


class PgpDecryptError(ActitoSftpError):
    """A file could not be decrypted (not PGP, wrong key, tampered or truncated). No output remains."""


class PgpEncryptError(ActitoSftpError):
    """A file could not be encrypted. No output remains."""


@dataclass(frozen=True)
class DecryptResult:
    """What gpg reported for a successful decryption."""

    key_fingerprint: str | None


def decrypt_file(source: Path, destination: Path, armored_secret_keys: str, *, what: str) -> DecryptResult:
    """Decrypt ``source`` into ``destination`` with our inbound secret keys.

    :param what: how to name the file in errors, e.g. ``"connection 'x', location 'inbound', file 'a.pgp'"``.
    :raises PgpDecryptError: gpg did not report a complete, integrity-checked decryption.
    """
    partial = _partial_path(destination)
    try:
        with temporary_gnupg_home() as gpg:
            gpg.import_keys(armored_secret_keys)
            if not gpg.list_keys(secret=True):
                raise PgpDecryptError(f"{what}: no inbound PGP secret key is configured")
            with source.open("rb") as encrypted:
                result = gpg.decrypt_file(encrypted, output=str(partial))
        if not result.ok or "DECRYPTION_OKAY" not in _status_lines(result):
            raise PgpDecryptError(f"{what}: {_describe_decrypt_failure(result)}")
        os.replace(partial, destination)
        return DecryptResult(key_fingerprint=_decryption_key(_status_lines(result)))
    finally:
        partial.unlink(missing_ok=True)


def encrypt_file(
    source: Path,
    destination: Path,
    armored_public_key: str,
    *,
    armor: bool = False,
    compress: bool = False,
    what: str,
) -> str:
    """Encrypt ``source`` to the partner's public key into ``destination``.

    :param compress: zlib-compress first; leave off for data that is already compressed.
    :return: the fingerprint of the key encrypted to.
    :raises PgpEncryptError: gpg failed.
    """
    partial = _partial_path(destination)
    try:
        with temporary_gnupg_home() as gpg:
            imported = gpg.import_keys(armored_public_key)
            if len(imported.fingerprints) != 1:
                raise PgpEncryptError(f"{what}: expected one partner public key, found {len(imported.fingerprints)}")
            fingerprint: str = imported.fingerprints[0]
            # The home holds only this key, so trusting it trusts nothing else.
            gpg.trust_keys([fingerprint], "TRUST_ULTIMATE")
            extra_args = ["--compress-algo", "zlib", "-z", "6"] if compress else ["--compress-algo", "none"]
            with source.open("rb") as plaintext:
                result = gpg.encrypt_file(
                    plaintext, recipients=[fingerprint], output=str(partial), armor=armor, extra_args=extra_args
                )
        if not result.ok:
            raise PgpEncryptError(f"{what}: gpg could not encrypt: {result.status}")
        os.replace(partial, destination)
        return fingerprint
    finally:
        partial.unlink(missing_ok=True)


def _partial_path(destination: Path) -> Path:
    return destination.with_name(f".{destination.name}.partial")


def _status_lines(result: object) -> str:
    return str(getattr(result, "stderr", ""))


def _decryption_key(status: str) -> str | None:
    """The primary-key fingerprint from gpg's ``DECRYPTION_KEY <subkey> <primary> ...`` status line."""
    for line in status.splitlines():
        words = line.split()
        if words[:2] == ["[GNUPG:]", "DECRYPTION_KEY"] and len(words) >= 4:
            return words[3]
    return None


def _describe_decrypt_failure(result: object) -> str:
    status = _status_lines(result)
    if "NO_SECKEY" in status:
        return "not encrypted to any of our inbound PGP keys (was it encrypted to a retired or foreign key?)"
    if "BADMDC" in status or "integrity" in status.lower():
        return "integrity check failed: the file was modified or corrupted"
    if "NODATA" in status:
        return "not PGP data (the file is plaintext or damaged)"
    if "BEGIN_DECRYPTION" in status:
        return "decryption failed before the integrity check completed: the file is truncated, corrupted or tampered"
    if "DECRYPTION_FAILED" in status:
        return "decryption failed (truncated, tampered or not encrypted to our key)"
    return f"gpg could not decrypt it ({getattr(result, 'status', 'unknown status')})"
