"""Fast ordered reads from and pipelined writes to an SFTP file over one asyncssh session.

Reads keep SFTP requests in flight and hand blocks on in file order. How many bytes are in flight adapts
to the link (:class:`ReadPacer`): twice the bandwidth-delay product measured as the file is read, at
least :data:`MIN_READ_AHEAD` and at most :data:`MAX_READ_AHEAD` bytes per file. Files read at once share
the link, so each one's measured rate, and thus what it keeps in flight, shrinks as more files move:
together they keep about twice the link's bandwidth-delay product in flight. Writes gather data into
large pieces and keep a few in flight. Memory is bounded by the bytes in flight, not the file size.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncssh

from airflow_provider_actito_sftp.ssh.protocol import is_transport_error

log = logging.getLogger(__name__)

MIN_READ_AHEAD = 2 << 20  # bytes in flight per file when the link is fast and near (loopback, LAN)
MAX_READ_AHEAD = 16 << 20  # the most per file: 2.5x the bandwidth-delay product of 1 Gbit/s at 50 ms
READ_BLOCK = 256 << 10  # bytes per read request, or the server's limit if lower
WRITE_CHUNK = 4 << 20
WRITES_IN_FLIGHT = 4


def open_for_reading(sftp: asyncssh.SFTPClient, path: bytes) -> Any:
    """Open a remote file for :func:`read_in_order` (as an async context manager)."""
    return sftp.open(path, "rb")


_BACKGROUND: set[asyncio.Task[None]] = set()


async def close_quietly(remote: asyncssh.SFTPClientFile) -> None:
    """Close a handle whose reading failed (the failure is what counts, not the close's)."""
    with contextlib.suppress(asyncssh.Error, OSError):
        await remote.close()


def close_in_background(remote: asyncssh.SFTPClientFile, what: str) -> None:
    """Close a handle that was read to the end and checked (its fstat answered after the last read): the
    close is sent now and goes out with the next request (the stage rename) instead of costing a round trip
    of its own. Its answer is not waited for: closing a file that was only read cannot change what was read;
    a refusal is logged, a lost connection fails the next request anyway."""

    def closed(task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if isinstance(error, asyncssh.SFTPError) and not is_transport_error(error):
            log.warning("%s: the server refused to close the file after reading it: %s", what, error)

    task = asyncio.ensure_future(remote.close())
    _BACKGROUND.add(task)  # a strong reference until it is done (the loop keeps only weak ones)
    task.add_done_callback(_BACKGROUND.discard)
    task.add_done_callback(closed)


class ReadPacer:
    """Decides how many bytes one file keeps in flight: ``2 x rate x min_rtt``, clamped.

    ``min_rtt`` is the shortest time a request took to be answered (the path's delay without queues);
    ``rate`` is what arrived in the last few round trips. While the link is not full, every round trip
    lets the file ask for up to twice as much as before; once it is full, the answers queue, the rate
    stops rising and so does what is in flight.
    """

    def __init__(self) -> None:
        self.min_rtt = float("inf")
        self._arrivals: deque[tuple[float, int]] = deque()
        self._arrived = 0

    def answered(self, sent_at: float, size: int) -> None:
        now = time.monotonic()
        self.min_rtt = min(self.min_rtt, now - sent_at)
        self._arrivals.append((now, size))
        self._arrived += size
        horizon = now - max(4 * self.min_rtt, 0.02)
        while self._arrivals and self._arrivals[0][0] < horizon:
            self._arrived -= self._arrivals.popleft()[1]

    def read_ahead(self) -> int:
        if not self._arrivals:
            return MIN_READ_AHEAD
        span = max(4 * self.min_rtt, 0.02)
        rate = self._arrived / span
        return int(min(MAX_READ_AHEAD, max(MIN_READ_AHEAD, 2 * rate * self.min_rtt)))


async def read_in_order(
    remote: asyncssh.SFTPClientFile, size: int, start: int = 0, on_last_request: Callable[[], None] | None = None
) -> AsyncIterator[bytes]:
    """Yield the first ``size`` bytes of an open file in order, in blocks, with reads pipelined.

    It stops early if the file is shorter (the caller compares what it got with ``size``).

    :param start: the offset to begin at (bytes before it are not read: a resumed download).
    :param on_last_request: called once the last read request is sent, so that a request about the same
        handle (its attributes) can go right behind it: a server answers the requests of one file in order.
    """
    block = min(READ_BLOCK, getattr(remote, "read_len", 0) or READ_BLOCK)
    pacer = ReadPacer()
    requests: deque[tuple[int, float, asyncio.Future[bytes]]] = deque()
    next_request, in_flight = start, 0
    if on_last_request is not None and next_request >= size:
        on_last_request()
    try:
        while requests or next_request < size:
            while next_request < size and (not requests or in_flight < pacer.read_ahead()):
                length = min(block, size - next_request)
                requests.append(
                    (next_request, time.monotonic(), asyncio.ensure_future(remote.read(length, next_request)))
                )
                next_request += length
                in_flight += length
                if on_last_request is not None and next_request >= size:
                    on_last_request()
            offset, sent_at, reply = requests.popleft()
            data = await reply
            asked = min(block, size - offset)
            in_flight -= asked
            pacer.answered(sent_at, len(data))
            if data:
                yield data
            if len(data) < asked:  # the file ends here (shorter than listed): the caller sees the count
                return
    finally:
        for _, _, reply in requests:
            reply.cancel()
        if requests:
            await asyncio.gather(*(reply for _, _, reply in requests), return_exceptions=True)


class PipelinedWriter:
    """Writes sequential data to an open SFTP file in :data:`WRITE_CHUNK` pieces (smaller writes are
    gathered), with a bounded number of writes in flight (at most :data:`WRITES_IN_FLIGHT` x
    :data:`WRITE_CHUNK` bytes held).

    The file may be open on several SFTP channels of the connection (:meth:`add_handle`): each piece goes
    to the handle with the fewest writes in flight. A server grants each channel its own flow-control
    window (OpenSSH: 2 MiB), so far from the server more channels carry more bytes per round trip.

    :param remote: the file, open for writing.
    """

    def __init__(self, remote: asyncssh.SFTPClientFile) -> None:
        self._handles: dict[asyncssh.SFTPClientFile, int] = {remote: 0}  # handle -> its writes in flight
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

    def add_handle(self, remote: asyncssh.SFTPClientFile) -> None:
        """Let later pieces also go through ``remote``: the same file, open for writing on another channel."""
        self._handles.setdefault(remote, 0)

    def remove_handle(self, remote: asyncssh.SFTPClientFile) -> None:
        """Send no more pieces through ``remote`` (the first handle always stays)."""
        if len(self._handles) > 1:
            self._handles.pop(remote, None)

    async def _send(self, data: bytes) -> None:
        await self._slots.acquire()
        remote = min(self._handles, key=self._handles.__getitem__)
        self._handles[remote] += 1
        task = asyncio.ensure_future(self._write_at(remote, data, self.offset))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self.offset += len(data)

    async def _write_at(self, remote: asyncssh.SFTPClientFile, data: bytes, offset: int) -> None:
        try:
            await remote.write(data, offset)
        except BaseException as e:
            self._errors.append(e)
        finally:
            if remote in self._handles:
                self._handles[remote] -= 1
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
