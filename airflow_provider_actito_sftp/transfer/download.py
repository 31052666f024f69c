"""Download one remote file, decrypting on the fly, into a staged (not yet published) local file."""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass
from typing import IO, Any

from airflow_provider_actito_sftp.session import AsyncSftpSession
from airflow_provider_actito_sftp.transfer.destinations import Destination, StagedFile
from airflow_provider_actito_sftp.transfer.gpg_stream import GpgStreamError, check_decryption, decrypting
from airflow_provider_actito_sftp.transfer.options import SignaturePolicy
from airflow_provider_actito_sftp.transfer.progress import Progress
from airflow_provider_actito_sftp.transfer.streams import read_in_order


@dataclass
class Downloaded:
    """A downloaded file, staged and ready to publish."""

    staged: StagedFile
    wire_bytes: int
    plaintext_bytes: int
    sha256: str
    pgp_fingerprint: str | None
    seconds: float


@dataclass(frozen=True)
class DecryptOptions:
    """How to decrypt inbound files.

    :param secret_keys: our armored inbound secret keys.
    :param partner_public_key: the partner's key, for signature checks.
    :param partner_fingerprint: its primary fingerprint.
    """

    secret_keys: str
    signature_policy: SignaturePolicy = SignaturePolicy.IGNORE
    partner_public_key: str | None = None
    partner_fingerprint: str | None = None


async def download(
    session: AsyncSftpSession,
    remote_path: bytes,
    size: int,
    destination: Destination,
    final_name: str,
    *,
    decrypt: DecryptOptions | None,
    label: str,
) -> Downloaded:
    """Stream ``remote_path`` into a staged file in ``destination`` (decrypting when ``decrypt`` is set).

    Nothing is published here; on any failure the staged file is removed and the error propagates.
    """
    handle, staged = destination.open_partial(final_name)
    progress = Progress(label, size)
    digest = hashlib.sha256()
    try:
        with handle:
            if decrypt is None:
                fingerprint = None
                async for block in read_in_order(session.sftp, remote_path):
                    progress.advance(len(block))
                    digest.update(block)
                    handle.write(block)
                plaintext_bytes = progress.done
            else:
                fingerprint, plaintext_bytes = await _download_decrypting(
                    session, remote_path, handle, digest, progress, decrypt
                )
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        destination.discard(staged)
        raise
    progress.finish()
    return Downloaded(staged, progress.done, plaintext_bytes, digest.hexdigest(), fingerprint, progress.elapsed())


async def _download_decrypting(
    session: AsyncSftpSession,
    remote_path: bytes,
    handle: IO[bytes],
    digest: Any,
    progress: Progress,
    options: DecryptOptions,
) -> tuple[str | None, int]:
    verify_key = options.partner_public_key if options.signature_policy is not SignaturePolicy.IGNORE else None
    async with decrypting(options.secret_keys, partner_public_key=verify_key) as gpg:

        async def feed() -> None:
            try:
                async for block in read_in_order(session.sftp, remote_path):
                    progress.advance(len(block))
                    await gpg.write(block)
            except (BrokenPipeError, ConnectionResetError):
                pass  # gpg stopped reading: its status says why
            finally:
                await gpg.close_input()

        async def drain() -> int:
            total = 0
            write = handle.write
            while chunk := await gpg.read():
                digest.update(chunk)
                write(chunk)
                total += len(chunk)
            return total

        _, plaintext_bytes = await asyncio.gather(feed(), drain())
        outcome = await gpg.finish()
    fingerprint = check_decryption(outcome, options.signature_policy, options.partner_fingerprint)
    return fingerprint, plaintext_bytes


__all__ = ["DecryptOptions", "Downloaded", "GpgStreamError", "download"]
