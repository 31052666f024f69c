"""Fast ordered reads from and pipelined writes to an SFTP file over one asyncssh session.

Reads keep many SFTP requests in flight (``read_parallel``) and hand blocks on in file order; writes
keep a few large writes in flight. Memory is bounded by the requests in flight, not the file size.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
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
    """Writes sequential chunks to an open SFTP file with a bounded number of writes in flight."""

    def __init__(self, remote: asyncssh.SFTPClientFile) -> None:
        self._remote = remote
        self._slots = asyncio.Semaphore(WRITES_IN_FLIGHT)
        self._tasks: set[asyncio.Task[None]] = set()
        self._errors: list[BaseException] = []
        self.offset = 0

    async def write(self, data: bytes) -> None:
        if self._errors:
            raise self._errors[0]
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
        """Wait for every write; raise the first error."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._errors:
            raise self._errors[0]

    async def abort(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


async def run_together(*steps: Coroutine[Any, Any, Any]) -> list[Any]:
    """Run coroutines concurrently (a producer and its consumer); if one fails, cancel the others and
    raise that first error itself (not an ExceptionGroup)."""
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
