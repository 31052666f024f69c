"""Download one remote file, decrypting on the fly, into a staged (not yet published) local file.

The remote file is read through one open handle: the first block is kept so the caller can decide
(PGP or not, which local name) without a second request; after the last block the handle's
attributes are read again, and a file whose size or modification time changed, or that gave fewer or
more bytes than listed, is refused before anything is published (:class:`RemoteChangedError`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO, Any

import asyncssh

from airflow_provider_actito_sftp.exceptions import (
    GpgIntegrityError,
    GpgStreamError,
    OutputLimitError,
    RemoteChangedError,
    SequoiaDecryptError,
)
from airflow_provider_actito_sftp.pgp.sequoia import sequoia_decrypt_stream, sequoia_installed
from airflow_provider_actito_sftp.pgp.stream import DecryptOptions, decrypt_stream
from airflow_provider_actito_sftp.ssh.session import mtime_ns_of
from airflow_provider_actito_sftp.transfer.destinations import Destination, StagedFile
from airflow_provider_actito_sftp.transfer.options import DEFAULT_MAX_EXPANSION_RATIO, DEFAULT_MAX_FILE_SIZE
from airflow_provider_actito_sftp.transfer.progress import Progress
from airflow_provider_actito_sftp.transfer.streams import read_in_order

log = logging.getLogger(__name__)

EXPANSION_FLOOR = 16 << 20  # the ratio applies only past 16 MiB of output
SMALL_FILE = 1 << 20  # plaintext files up to this size are staged from memory in one worker-thread step


@dataclass(frozen=True)
class OutputLimits:
    """Caps on what one file may produce locally.

    :param max_file_size: bytes of plaintext per file (None: no cap).
    :param max_expansion_ratio: plaintext bytes per remote byte once past 16 MiB (None: no check).
    """

    max_file_size: int | None = DEFAULT_MAX_FILE_SIZE
    max_expansion_ratio: float | None = DEFAULT_MAX_EXPANSION_RATIO

    def check(self, written: int, remote_size: int) -> None:
        if self.max_file_size is not None and written > self.max_file_size:
            raise OutputLimitError(f"the file produces more than max_file_size={self.max_file_size} bytes; refused")
        ratio = self.max_expansion_ratio
        if ratio is not None and written > EXPANSION_FLOOR and written > ratio * max(remote_size, 1):
            raise OutputLimitError(
                f"{remote_size} bytes on the server decompress to more than {written} bytes "
                f"(over max_expansion_ratio={ratio:g}): a decompression bomb? refused"
            )


@dataclass(frozen=True)
class Expected:
    """What the listing said about the file: the download must match it exactly."""

    size: int
    mtime_ns: int


class RemoteSource:
    """An open remote file read once, in order; :meth:`head` peeks at the first block."""

    def __init__(self, remote: asyncssh.SFTPClientFile, expected: Expected) -> None:
        self._remote = remote
        self.expected = expected
        self._attributes: asyncio.Future[asyncssh.SFTPAttrs] | None = None
        self._blocks = self._all_blocks()
        self._head: bytes | None = None

    def _all_blocks(self) -> AsyncIterator[bytes]:
        """The file from its first byte (:class:`~.reconnect.ResumableSource` reads on after a cut)."""
        return read_in_order(self._remote, self.expected.size, on_last_request=self._ask_attributes)

    def _ask_attributes(self) -> None:
        """Send the handle's fstat right behind the last read request: answered after the read (a server
        handles one file's requests in order), it saves the check of :meth:`verify_unchanged` a round trip."""
        self._drop_attributes()
        self._attributes = asyncio.ensure_future(self._remote.stat())
        self._attributes.add_done_callback(_retrieved)  # never "exception was never retrieved" if unused

    def _drop_attributes(self) -> None:
        self._attributes = None  # a stale answer (a rewind): not used

    async def head(self) -> bytes:
        """The first block (b"" for an empty file); it is still yielded by :meth:`blocks`."""
        if self._head is None:
            self._head = await anext(self._blocks, b"")
        return self._head

    async def blocks(self) -> AsyncIterator[bytes]:
        head = await self.head()
        if head:
            yield head
        async for block in self._blocks:
            yield block

    def rewind(self) -> None:
        """Read the file again from its first byte (through the same open handle)."""
        self._drop_attributes()
        self._blocks = self._all_blocks()
        self._head = None

    async def verify_unchanged(self, read_bytes: int) -> None:
        """Raise :class:`RemoteChangedError` unless the file is still exactly as listed."""
        asked, self._attributes = self._attributes, None
        attrs = await (asked if asked is not None else self._remote.stat())
        now = Expected(attrs.size or 0, mtime_ns_of(attrs))
        if read_bytes != self.expected.size or now != self.expected:
            raise RemoteChangedError(
                f"changed while being read (listed {self.expected.size} bytes, read {read_bytes}, "
                f"now {now.size} bytes{', modified again' if now.mtime_ns != self.expected.mtime_ns else ''}): "
                "still being written? It is left on the server for a later run"
            )


def _retrieved(answer: asyncio.Future[asyncssh.SFTPAttrs]) -> None:
    if not answer.cancelled():
        answer.exception()


@dataclass
class Downloaded:
    """A downloaded file, staged and ready to publish."""

    staged: StagedFile
    wire_bytes: int
    plaintext_bytes: int
    sha256: str
    pgp_fingerprint: str | None


async def download(
    source: RemoteSource,
    destination: Destination,
    final_name: str,
    *,
    decrypt: DecryptOptions | None,
    limits: OutputLimits,
    label: str,
) -> Downloaded:
    """Stream ``source`` into a staged file in ``destination`` (decrypting when ``decrypt`` is set).

    A plaintext file of at most :data:`SMALL_FILE` bytes is read into memory and written, fsynced and
    closed in one worker thread: creating a file is the slowest step of a small import on some disks, and
    the event loop moves other files meanwhile. Nothing is published here; on any failure the staged
    file is removed and the error propagates.
    """
    progress = Progress(label, source.expected.size)
    sink = _Sink(limits, source.expected.size)
    if decrypt is None and source.expected.size <= SMALL_FILE:
        async for block in _counted(source.blocks(), progress):
            sink.write(block)
        await source.verify_unchanged(progress.done)
        staged = await asyncio.to_thread(destination.write_durably, final_name, sink.take_content())
        fingerprint = None
    else:
        handle, staged = destination.open_partial(final_name)
        try:
            with handle:
                sink.handle = handle
                if decrypt is None:
                    fingerprint = None
                    async for block in _counted(source.blocks(), progress):
                        sink.write(block)
                else:
                    fingerprint, progress = await _decrypt(source, sink, decrypt, progress)
                handle.flush()
                durable = asyncio.ensure_future(asyncio.to_thread(os.fsync, handle.fileno()))  # beside the check
                try:
                    await source.verify_unchanged(progress.done)
                finally:
                    await asyncio.gather(durable, return_exceptions=True)
                await durable  # its error, if any, once the file is known unchanged
        except BaseException:
            destination.discard(staged)
            raise
    progress.finish()
    return Downloaded(staged, progress.done, sink.written, sink.digest.hexdigest(), fingerprint)


async def _decrypt(
    source: RemoteSource, sink: _Sink, decrypt: DecryptOptions, progress: Progress
) -> tuple[str | None, Progress]:
    """Decrypt with gpg; where gpg opened our key but could not confirm the data (Sequoia's padding, or a
    damaged file) and ``sq`` is installed, read the file again and let ``sq`` decide. Return the decrypting
    key and the pass that counted."""
    try:
        return await decrypt_stream(_counted(source.blocks(), progress), sink.write, decrypt), progress
    except GpgIntegrityError as gpg_error:
        if not sequoia_installed():
            raise
        why = "cannot read what follows the data (Sequoia's padding?)" if gpg_error.padding else "finds it damaged"
        log.warning("%s: gpg %s; Sequoia's sq reads it again for a second opinion", progress.label, why)
        source.rewind()
        sink.restart()
        again = Progress(f"{progress.label} (with sq)", source.expected.size)
        try:
            await sequoia_decrypt_stream(_counted(source.blocks(), again), sink.write, decrypt)
        except SequoiaDecryptError:
            if gpg_error.padding:
                raise  # sq's reason is the real one
            raise gpg_error from None  # both found it damaged: gpg's words
        return gpg_error.decrypting_fingerprint, again


class _Sink:
    """The local side: hash, size cap, then write to ``handle`` (or keep in memory while it is None)."""

    def __init__(self, limits: OutputLimits, remote_size: int) -> None:
        self._limits = limits
        self._remote_size = remote_size
        self._content: list[bytes] = []
        self.handle: IO[bytes] | None = None
        self.digest: Any = hashlib.sha256()
        self.written = 0

    def write(self, block: bytes) -> None:
        self.written += len(block)
        self._limits.check(self.written, self._remote_size)
        self.digest.update(block)
        if self.handle is None:
            self._content.append(block)
        else:
            self.handle.write(block)

    def restart(self) -> None:
        """Forget what was written (the staged file is emptied): the file is decrypted again."""
        assert self.handle is not None
        self.handle.seek(0)
        self.handle.truncate()
        self.digest, self.written = hashlib.sha256(), 0

    def take_content(self) -> bytes:
        """What was kept in memory, handed over once."""
        content, self._content = b"".join(self._content), []
        return content


async def _counted(blocks: AsyncIterator[bytes], progress: Progress) -> AsyncIterator[bytes]:
    """Pass ``blocks`` on, counting them in ``progress`` (a cut connection raises from them: the file fails)."""
    async for block in blocks:
        progress.advance(len(block))
        yield block


__all__ = [
    "DecryptOptions",
    "Downloaded",
    "Expected",
    "GpgStreamError",
    "OutputLimitError",
    "OutputLimits",
    "RemoteChangedError",
    "RemoteSource",
    "download",
]
