"""Encrypt or decrypt a local file with the transfer engine's gpg stream, for tests.

Output goes to a hidden partial file, renamed into place only once gpg's report was accepted: on any
failure no output remains.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from airflow_provider_actito_sftp.exceptions import ActitoSftpError, GpgStreamError
from airflow_provider_actito_sftp.pgp.stream import (
    PIPE_CHUNK,
    DecryptOptions,
    EncryptOptions,
    Sink,
    decrypt_stream,
    encrypt_stream,
)

T = TypeVar("T")


class PgpDecryptError(ActitoSftpError):
    """A file could not be decrypted (not PGP, wrong key, tampered or truncated). No output remains."""


class PgpEncryptError(ActitoSftpError):
    """A file could not be encrypted. No output remains."""


def decrypt_file(source: Path, destination: Path, armored_secret_keys: str, *, what: str) -> str | None:
    """Decrypt ``source`` into ``destination`` with our inbound secret keys; return the decrypting key.

    :param what: how to name the file in errors, e.g. ``"file 'a.pgp'"``.
    :raises PgpDecryptError: gpg did not report a complete, integrity-checked decryption.
    """
    options = DecryptOptions(armored_secret_keys)
    return _into(destination, PgpDecryptError, what, lambda sink: decrypt_stream(_blocks_of(source), sink, options))


def encrypt_file(
    source: Path, destination: Path, armored_public_key: str, *, armor: bool = False, compress: bool = False, what: str
) -> str:
    """Encrypt ``source`` to the partner's public key into ``destination``; return the key's fingerprint.

    :raises PgpEncryptError: gpg failed.
    """
    options = EncryptOptions(armored_public_key, armor=armor)
    return _into(
        destination,
        PgpEncryptError,
        what,
        lambda sink: encrypt_stream(_blocks_of(source), sink, options, compress=compress),
    )


def _into(
    destination: Path, error: type[ActitoSftpError], what: str, stream: Callable[[Sink], Coroutine[Any, Any, T]]
) -> T:
    """Run ``stream`` into a partial file; publish it as ``destination`` if it returns."""
    partial = destination.with_name(f".{destination.name}.partial")
    try:
        with partial.open("wb") as output:
            result = asyncio.run(stream(output.write))
        os.replace(partial, destination)
    except GpgStreamError as e:
        raise error(f"{what}: {e}") from e
    finally:
        partial.unlink(missing_ok=True)
    return result


async def _blocks_of(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as source:
        while block := await asyncio.to_thread(source.read, PIPE_CHUNK):
            yield block


def sq_file_gpg_cannot_read(cert: Path, source: Path, destination: Path, armored_secret_keys: str) -> Path:
    """``sq encrypt`` with its defaults until gpg 2.2 cannot read the result: sq pads by a random amount, and
    gpg reads some padded files (most under ~200 kB) fine. Raises if ten tries all read."""
    import tempfile

    from partner_sandbox.openpgp_tools import PartnerSq

    with tempfile.TemporaryDirectory(prefix="sq-partner-") as work:
        sq = PartnerSq(Path(work) / "sq")
        for _ in range(10):
            destination.unlink(missing_ok=True)
            sq.encrypt(cert, source, destination)
            try:
                decrypt_file(destination, Path(work) / "gpg-view", armored_secret_keys, what="probe")
            except PgpDecryptError:
                return destination
    raise AssertionError("gpg read ten padded sq files: no file to test the fallback with")
