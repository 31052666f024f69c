"""PGP encryption and decryption of local files with exactly the configured keys.

A thin synchronous wrapper over the transfer engine's gpg filter
(:mod:`~airflow_provider_actito_sftp.pgp.stream`), so files on disk get the same checks as
files streamed over SFTP: a fresh GNUPGHOME per call, success only on an integrity-checked decryption,
and output moved into place only after gpg reports success.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_actito_sftp.exceptions import ActitoSftpError, GpgStreamError
from airflow_provider_actito_sftp.pgp.stream import check_decryption, decrypting, encrypting, filter_file
from airflow_provider_actito_sftp.transfer.options import SignaturePolicy


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

    async def run() -> str | None:
        async with decrypting(armored_secret_keys) as gpg:
            with source.open("rb") as encrypted, partial.open("wb") as plaintext:
                outcome = await filter_file(gpg, encrypted, plaintext)
        return check_decryption(outcome, SignaturePolicy.IGNORE, None)

    partial = _partial_path(destination)
    try:
        fingerprint = asyncio.run(run())
        os.replace(partial, destination)
    except GpgStreamError as e:
        raise PgpDecryptError(f"{what}: {e}") from e
    finally:
        partial.unlink(missing_ok=True)
    return DecryptResult(key_fingerprint=fingerprint)


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

    async def run() -> str:
        async with encrypting(armored_public_key, armor=armor, compress=compress) as (gpg, fingerprint):
            with source.open("rb") as plaintext, partial.open("wb") as encrypted:
                outcome = await filter_file(gpg, plaintext, encrypted)
        if outcome.returncode != 0 or not outcome.has("END_ENCRYPTION"):
            raise GpgStreamError(f"gpg could not encrypt (exit {outcome.returncode})")
        return fingerprint

    partial = _partial_path(destination)
    try:
        fingerprint = asyncio.run(run())
        os.replace(partial, destination)
    except GpgStreamError as e:
        raise PgpEncryptError(f"{what}: {e}") from e
    finally:
        partial.unlink(missing_ok=True)
    return fingerprint


def _partial_path(destination: Path) -> Path:
    return destination.with_name(f".{destination.name}.partial")
