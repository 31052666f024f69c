"""Fast ordered reads from and pipelined writes to an SFTP file over one asyncssh session.

Reads keep many SFTP requests in flight (``read_parallel``) and hand blocks on in file order; writes
gather data into large pieces and keep a few in flight. Memory is bounded by the requests in flight,
not the file size.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncssh

READ_REQUESTS_IN_FLIGHT = 32
WRITE_CHUNK = 4 << 20
WRITES_IN_FLIGHT = 4


def open_for_reading(sftp: asyncssh.SFTPClient, path: bytes) -> Any:
    """Open a remote file for :func:`read_in_order` (as an async context manager)."""
    return sftp.open(path, "rb", max_requests=READ_REQUESTS_IN_FLIGHT)


async def read_in_order(remote: asyncssh.SFTPClientFile, size: int) -> AsyncIterator[bytes]:
    """Yield the first ``size`` bytes of an open file in order, in blocks, with reads pipelined.

    It stops early if the file is shorter (the caller compares what it got with ``size``).
    """
    pending: dict[int, bytes] = {}
    next_offset = 0
    async for offset, data in await remote.read_parallel(size, 0):
        pending[offset] = data
        while next_offset in pending:
            block = pending.pop(next_offset)
            next_offset += len(block)
            yield block
    if pending:
        raise asyncssh.SFTPFailure(f"the server returned a gap at offset {next_offset}")


class PipelinedWriter:
    """Writes sequential data to an open SFTP file in :data:`WRITE_CHUNK` pieces (smaller writes are
    gathered), with a bounded number of writes in flight.

    :param remote: the file, open for writing.
    """

    def __init__(self, remote: asyncssh.SFTPClientFile) -> None:
        self._remote = remote
        self._slots = asyncio.Semaphore(WRITES_IN_FLIGHT)
        self._tasks: set[asyncio.Task[None]] = set()
        self._errors: list[BaseException] = []
        self._pending = bytearray()
        self.offset = 0  # bytes handed to the server so far

    async def write(self, data: bytes) -> None:
        """Append ``data``; raise the error of an earlier write, if any.

        :param data: the next bytes of the file.
        """
        if self._errors:
            raise self._errors[0]
        if not self._pending and len(data) >= WRITE_CHUNK:
            await self._send(data)  # a full piece already: no copy
            return
        self._pending += data
        if len(self._pending) >= WRITE_CHUNK:
            await self._send_pending()

    async def _send_pending(self) -> None:
        data = bytes(self._pending)
        self._pending.clear()
        await self._send(data)

    async def _send(self, data: bytes) -> None:
        await self._slots.acquire()
        task = asyncio.ensure_future(self._write_at(data, self.offset))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self.offset += len(data)

    async def _write_at(self, data: bytes, offset: int) -> None:
        try:
            await self._remote.write(data, offset)
        except BaseException as e:
            self._errors.append(e)
        finally:
            self._slots.release()

    async def flush(self) -> None:
        """Send what is gathered, wait for every write; raise the first error."""
        if self._pending and not self._errors:
            await self._send_pending()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._errors:
            raise self._errors[0]

    async def abort(self) -> None:
        """Cancel the writes in flight and drop what is gathered."""
        self._pending.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
