"""Upload one local file, encrypting on the fly, under a lock suffix, then rename it into place.

An upload that fails removes its partial file: its lock file (or, without a lock, the file it began under its final
name). When the failure was a cut, that connection is gone and the lock file stays, logged by name; the task's
retry writes over it (its lock name is truncated on open) and renames it into place. (Reconnecting in place to
remove it at once was tried for issue 26 and withdrawn: the batch's other uploads then went on over the new
connection, and the fault tests found a delivered file missing after such a round.)
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import IO, Any

import asyncssh

from airflow_provider_actito_sftp.exceptions import ActitoSftpError, ExportRefusedError, RemoteExistsError
from airflow_provider_actito_sftp.pgp.stream import EncryptOptions, encrypt_stream
from airflow_provider_actito_sftp.ssh.session import AsyncSftpSession
from airflow_provider_actito_sftp.transfer.progress import Progress
from airflow_provider_actito_sftp.transfer.streams import WRITE_CHUNK, PipelinedWriter
from airflow_provider_actito_sftp.transfer.upload_channels import MULTI_CHANNEL_SIZE, ExtraChannels

log = logging.getLogger(__name__)

COMPRESSION_SAMPLE = 256 * 1024  # bytes of the file tried with zlib to decide whether gpg compresses

COMPRESSED_SUFFIXES = (
    ".gz",
    ".tgz",
    ".zip",
    ".bz2",
    ".xz",
    ".zst",
    ".7z",
    ".rar",
    ".lz4",
    ".br",
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".webp",
    ".mp3",
    ".mp4",
    ".pdf",
    ".parquet",
    ".avro",
    ".orc",
)


@dataclass
class Uploaded:
    """A file the server holds in full (under its lock name until renamed)."""

    wire_bytes: int
    plaintext_bytes: int
    sha256: str
    pgp_fingerprint: str | None


def should_compress(name: str, sample: bytes) -> bool:
    """Compress only data that compresses: skip known compressed formats and incompressible samples.

    :param name: the file's name (or a label ending with it).
    :param sample: the start of the file.
    """
    if name.lower().endswith(COMPRESSED_SUFFIXES):
        return False
    if not sample:
        return False
    return len(zlib.compress(sample, 1)) < 0.9 * len(sample)


async def upload(
    session: AsyncSftpSession,
    source: IO[bytes],
    source_size: int | None,
    final_path: bytes,
    *,
    lock_suffix: str | None,
    replace: bool,
    encrypt: EncryptOptions | None,
    label: str,
    on_verified: Callable[[Uploaded], None] | None = None,
) -> Uploaded:
    """Write ``source`` to ``final_path``; with a lock suffix the partner never sees a partial file there.

    :param replace: overwrite an existing remote file (atomically with ``posix-rename@openssh.com``).
    :param on_verified: called once the server holds every byte, before the final rename: a rename whose
        reply is lost still leaves a record of what was delivered.
    :raises RemoteExistsError: the target exists and ``replace`` is false.
    """
    sftp = session.sftp
    if not replace and await sftp.exists(final_path):
        raise RemoteExistsError("the remote file already exists (overwrite='fail')")
    write_path = final_path + lock_suffix.encode() if lock_suffix else final_path
    progress = Progress(label, source_size)
    digest = hashlib.sha256()
    opened = False  # without a lock, the final name is ours to remove only once we opened (truncated) it
    try:
        remote = await _create(sftp, write_path, session.settings.username)
        opened = True
        async with remote:
            writer = PipelinedWriter(remote)
            extra = ExtraChannels(session, write_path, writer)
            if source_size is not None and source_size >= MULTI_CHANNEL_SIZE:
                extra.start()
            try:
                first = await _read(source)
                blocks = _hashed_blocks(source, first, digest, progress)
                fingerprint = await _write(blocks, writer, encrypt, sample=first, label=label)
                await writer.flush()
            except BaseException:
                await writer.abort()
                raise
            finally:
                await extra.close()
        written = writer.offset
        remote_size = (await sftp.stat(write_path)).size
        if remote_size != written:
            raise ActitoSftpError(f"the server stored {remote_size} bytes but {written} were sent")
        uploaded = Uploaded(written, progress.done, digest.hexdigest(), fingerprint)
        if on_verified is not None:
            on_verified(uploaded)
        if lock_suffix:
            await _rename_into_place(sftp, write_path, final_path, replace=replace)
    except BaseException:
        if lock_suffix or opened:
            await remove_partial(session, write_path)
        raise
    progress.finish()
    return uploaded


async def _write(
    blocks: AsyncIterator[bytes], writer: PipelinedWriter, encrypt: EncryptOptions | None, *, sample: bytes, label: str
) -> str | None:
    """Send ``blocks``, encrypted when ``encrypt`` is set; return the fingerprint encrypted to.

    :param sample: the first block, to decide whether gpg compresses.
    :param label: the file's name, ditto (known compressed formats are not compressed again).
    """
    if encrypt is None:
        async for block in blocks:
            await writer.write(block)
        return None
    compress = should_compress(label, sample[:COMPRESSION_SAMPLE])
    return await encrypt_stream(blocks, writer.write, encrypt, compress=compress)


async def _hashed_blocks(source: IO[bytes], first: bytes, digest: Any, progress: Progress) -> AsyncIterator[bytes]:
    """Yield ``first``, then the rest of ``source``, each block hashed (in the reading thread) and counted."""
    digest.update(first)
    block = first
    while block:
        progress.advance(len(block))
        yield block
        block = await _read(source, digest)


async def _read(source: IO[bytes], digest: Any = None) -> bytes:
    """Read the next chunk off the event loop: sources may be slow (object storage, network disks).

    :param digest: also hashed there (hashlib releases the GIL: the event loop moves data meanwhile).
    """
    return await asyncio.to_thread(_read_chunk, source, digest)


def _read_chunk(source: IO[bytes], digest: Any) -> bytes:
    block = source.read(WRITE_CHUNK)
    if digest is not None:
        digest.update(block)
    return block


async def _create(sftp: asyncssh.SFTPClient, path: bytes, username: str) -> asyncssh.SFTPClientFile:
    """Open ``path`` for writing (created, or truncated).

    :raises ExportRefusedError: the server forbids it (a read-only folder, e.g. a chroot's root): not retried.
    """
    try:
        return await sftp.open(path, "wb")
    except asyncssh.SFTPPermissionDenied as e:
        raise ExportRefusedError(
            f"the server refuses to create {path.decode(errors='replace')!r} ({e.reason or 'permission denied'}): "
            f"user {username!r} may not write it there (a read-only folder, e.g. a chroot's root, or another user's "
            "file of that name); point the location at a folder the user may write to (in a chroot, a writable "
            "subfolder), or ask the partner for write access"
        ) from e


async def _rename_into_place(sftp: asyncssh.SFTPClient, temporary: bytes, final: bytes, *, replace: bool) -> None:
    try:
        await _rename(sftp, temporary, final, replace=replace)
    except (asyncssh.SFTPPermissionDenied, asyncssh.SFTPOpUnsupported) as e:
        raise ExportRefusedError(
            f"the server refuses to rename the uploaded {temporary.decode(errors='replace')!r} into place "
            f"({e.reason or type(e).__name__}): on a server that forbids renames, set outbound_lock to false "
            "(the partner may then see the file while it is written)"
        ) from e


async def _rename(sftp: asyncssh.SFTPClient, temporary: bytes, final: bytes, *, replace: bool) -> None:
    if not replace:
        # Plain SFTP rename refuses to overwrite: a file that appeared meanwhile is not clobbered.
        await sftp.rename(temporary, final)
        return
    try:
        await sftp.posix_rename(temporary, final)  # atomic replace (OpenSSH extension)
    except asyncssh.SFTPOpUnsupported:
        if await sftp.exists(final):
            try:
                await sftp.remove(final)
            except (asyncssh.SFTPPermissionDenied, asyncssh.SFTPOpUnsupported) as e:
                raise ExportRefusedError(
                    f"the server refuses to delete the existing {final.decode(errors='replace')!r} to replace it "
                    f"({e.reason or type(e).__name__}): ask the partner to remove it, or export under another name"
                ) from e
        await sftp.rename(temporary, final)


async def remove_partial(session: AsyncSftpSession, path: bytes) -> None:
    """Remove a failed upload's partial file at ``path`` over the session's connection. Never raises: what cannot be
    removed (the connection was cut) is logged by name.

    :param session: the job's session.
    :param path: the lock file (or, without a lock, the final name the upload began).
    """
    try:
        await _remove(session.sftp, path)
    except (asyncssh.Error, OSError) as e:
        _left_behind(path, e)


async def _remove(sftp: asyncssh.SFTPClient, path: bytes) -> None:
    try:
        await sftp.remove(path)
    except asyncssh.SFTPNoSuchFile:
        return


def _left_behind(path: bytes, error: BaseException) -> None:
    log.error(
        "Could not remove the partial upload %s: %s; the next export of this file writes over it, or remove it by hand",
        path.decode(errors="replace"),
        error,
    )


__all__ = ["COMPRESSED_SUFFIXES", "EncryptOptions", "Uploaded", "should_compress", "upload"]
