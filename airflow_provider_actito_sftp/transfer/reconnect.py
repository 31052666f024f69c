"""Reading a large file on after a cut: within the try (reconnect, check, read only the rest), and across tries
(the bytes an earlier try kept, :mod:`~.resume`).

A file of at least :data:`~.resume.RESUME_MIN_SIZE` bytes is read through a :class:`ResumableSource`. When the
connection is lost while it is read, the source makes the bytes kept so far durable, then reconnects the job's
session (:meth:`~.AsyncSftpSession.reconnect`: the same checks as the first connection; after 1, 2 and 4 s,
:data:`RECONNECT_ATTEMPTS` attempts per cut without progress), checks its marker again (``lstat``: a regular file
of the size and modification time listed, else the file changed: left for a later run), opens it and reads on
from the byte it had reached. The consumer (the partial file, or gpg decrypting) only waits meanwhile. Every safety
step stays: the claim, the ``lstat``, the check of the open handle after the last byte (on the new connection),
the hash of the whole plaintext. Smaller files fail on a cut, as before, and the retry reads them again.

The session is the job's: after a reconnection every file of the job works over the new connection, and the hook
closes it. Other files whose requests were pending on the dead connection fail as after any cut, and are imported by
the retry: they meet the failure at once and try to release their markers on the dead connection (left hidden, the
retry resumes them), before the first attempt's wait is over; so none of them takes a request whose reply the cut
lost (a stage rename that happened) for another try's work on the new connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import asyncssh

from airflow_provider_actito_sftp.exceptions import RemoteChangedError, RemoteConnectError
from airflow_provider_actito_sftp.ssh.protocol import is_transport_error
from airflow_provider_actito_sftp.ssh.session import AsyncSftpSession, RemoteEntry, mtime_ns_of
from airflow_provider_actito_sftp.transfer import resume
from airflow_provider_actito_sftp.transfer.download import Expected, RemoteSource
from airflow_provider_actito_sftp.transfer.remote_folder import describe, is_regular
from airflow_provider_actito_sftp.transfer.resume import KeptBytes, ResumeKey
from airflow_provider_actito_sftp.transfer.streams import open_for_reading, read_in_order

if TYPE_CHECKING:
    from airflow_provider_actito_sftp.transfer.import_state import ImportState

log = logging.getLogger(__name__)

RECONNECT_ATTEMPTS = 3  # new connections tried after a cut, while the file makes no progress (0: none)
RECONNECT_BACKOFF = (1.0, 2.0, 4.0)  # seconds before each attempt (the last repeats); never 0: see above


@contextlib.asynccontextmanager
async def source_for(
    job: ImportState, entry: RemoteEntry, current: str, handle: asyncssh.SFTPClientFile, expected: Expected
) -> AsyncIterator[RemoteSource]:
    """The source an import reads ``entry`` from, open as ``current`` (its marker, or its name with
    ``claim="none"``) through ``handle``: a :class:`ResumableSource` for a large file, else a plain one.

    On the way out the kept bytes of a large file are removed, unless the error is one a retry may get past
    (transport, this machine's I/O except a full disk): then they are made durable and left for it.
    """
    if entry.size < resume.RESUME_MIN_SIZE:
        yield RemoteSource(handle, expected)
        return
    request, what = job.request, job.report.what(entry.name)
    key = ResumeKey(request.owner, job.settings.conn_id, request.location, entry.name, entry.size, entry.mtime_ns)
    kept = await asyncio.to_thread(KeptBytes.open, key)
    source = ResumableSource(job.session, job.remote.file(current), handle, expected, kept, what)
    try:
        yield source
    except BaseException as e:
        await source.close(keep=may_resume(e))
        raise
    await source.close(keep=False)


def may_resume(error: BaseException) -> bool:
    """Whether a later try may get past ``error`` and use the bytes kept (a cut, a cancelled task; not a refusal,
    a changed file, nor a full disk, which kept bytes make worse)."""
    if not isinstance(error, Exception):
        return True  # cancelled, interrupted: the next try resumes
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return False
    return is_transport_error(error)


class ResumableSource(RemoteSource):
    """A remote file read once, in order, that reads on after a cut (see the module's docstring).

    :param session: the job's session (reconnected in place).
    :param path: the file's remote path (its marker's).
    :param remote: the handle it was opened with.
    :param expected: its size and modification time, as listed.
    :param kept: its bytes kept on local disk (None: none are kept).
    :param what: the file, for log lines.
    """

    def __init__(
        self,
        session: AsyncSftpSession,
        path: bytes,
        remote: asyncssh.SFTPClientFile,
        expected: Expected,
        kept: KeptBytes | None,
        what: str,
    ) -> None:
        self._session, self._path, self._kept, self._what = session, path, kept, what
        self._generation = session.generation  # the connection the current handle belongs to
        self._opened: list[asyncssh.SFTPClientFile] = []
        self._attempts_left = RECONNECT_ATTEMPTS
        self._last_cut = -1
        super().__init__(remote, expected)
        if kept is not None and kept.reused:
            log.warning(
                "%s: resuming at byte %d of %d from the bytes an earlier try kept; the rest is read from the server",
                what,
                kept.reused,
                expected.size,
            )

    def _all_blocks(self) -> AsyncIterator[bytes]:
        return self._kept_then_remote()

    async def _kept_then_remote(self) -> AsyncIterator[bytes]:
        """The kept bytes, then the rest from the server (kept too as they come), reading on after cuts."""
        offset, kept, size = 0, self._kept, self.expected.size
        if kept is not None and not kept.dropped:
            async for block in kept.replay():
                offset += len(block)
                yield block
        while offset < size:
            blocks = read_in_order(self._remote, size, offset, on_last_request=self._ask_attributes)
            while True:
                try:
                    block = await anext(blocks, b"")
                except Exception as e:
                    if not is_transport_error(e):
                        raise
                    await self._after_cut(e, offset)
                    break  # read on from ``offset`` through the new handle
                if not block:
                    return  # the file ended (shorter than listed: the final check says so)
                if kept is not None and kept.size == offset:
                    kept.append(block)
                    if kept.due():
                        await kept.checkpoint()
                offset += len(block)
                yield block

    async def verify_unchanged(self, read_bytes: int) -> None:
        while True:
            try:
                await super().verify_unchanged(read_bytes)
                return
            except Exception as e:
                if not is_transport_error(e):
                    raise
                await self._after_cut(e, read_bytes)

    async def _after_cut(self, error: BaseException, offset: int) -> None:
        """Keep what was read, reconnect and reopen the file (raise ``error`` when that cannot be done)."""
        if self._kept is not None:
            await self._kept.checkpoint()
        if offset > self._last_cut:  # progress since the last cut: a fresh budget of attempts
            self._attempts_left, self._last_cut = RECONNECT_ATTEMPTS, offset
        attempt = 0
        while self._attempts_left > 0:
            self._attempts_left -= 1
            attempt += 1
            await asyncio.sleep(RECONNECT_BACKOFF[min(attempt, len(RECONNECT_BACKOFF)) - 1])
            try:
                await self._session.reconnect(self._generation)
                self._generation = self._session.generation
                await self._reopen()
            except (RemoteConnectError, asyncssh.Error, OSError) as e:
                if not isinstance(e, RemoteConnectError) and not is_transport_error(e):
                    raise  # the server answered: the marker is gone (another try took it), or may not be read
                log.warning("%s: reconnecting after a cut failed (attempt %d): %s", self._what, attempt, describe(e))
                continue
            except RemoteChangedError:
                raise
            except Exception as e:  # the server's host key or our credentials changed: no more attempts
                log.error("%s: not reconnecting after a cut: %s", self._what, e)
                break
            size = self.expected.size
            log.warning("%s: resuming at byte %d of %d after a cut (attempt %d)", self._what, offset, size, attempt)
            return
        raise error

    async def _reopen(self) -> None:
        """Open the file again on the session's connection, once it is still exactly the file listed."""
        sftp = self._session.sftp
        attrs = await sftp.lstat(self._path)
        now = Expected(attrs.size or 0, mtime_ns_of(attrs))
        if not is_regular(attrs) or now != self.expected:
            raise RemoteChangedError(
                f"changed while being read (listed {self.expected.size} bytes, {now.size} bytes when reconnected "
                f"after a cut{', modified again' if now.mtime_ns != self.expected.mtime_ns else ''}): still being "
                "written? It is left on the server for a later run"
            )
        handle = await open_for_reading(sftp, self._path)
        self._opened.append(handle)
        self._remote = handle

    async def close(self, *, keep: bool) -> None:
        """Close the handles this source opened; keep the bytes for a later try (durable) or remove them."""
        for handle in self._opened:
            with contextlib.suppress(asyncssh.Error, OSError):
                await handle.close()
        if self._kept is None:
            return
        if keep:
            await self._kept.checkpoint()
            self._kept.close()
        else:
            await asyncio.to_thread(self._kept.remove)
