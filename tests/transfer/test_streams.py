"""Ordered reads and gathered, pipelined writes, against a fake SFTP file (the real server is in the
importer, exporter and fault tests)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncssh
import pytest

from airflow_provider_actito_sftp.transfer.streams import WRITE_CHUNK, PipelinedWriter, read_in_order


class FakeRemote:
    """Records writes by offset; can fail at a given offset; serves reads in a given (shuffled) order."""

    def __init__(self, fail_at: int | None = None, replies: list[tuple[int, bytes]] | None = None) -> None:
        self.writes: list[tuple[int, bytes]] = []
        self.fail_at = fail_at
        self.replies = replies or []

    async def write(self, data: bytes, offset: int) -> None:
        await asyncio.sleep(0)
        if offset == self.fail_at:
            raise asyncssh.SFTPFailure("disk quota exceeded")
        self.writes.append((offset, data))

    async def read_parallel(self, size: int, offset: int) -> AsyncIterator[tuple[int, bytes]]:
        return self._replies()

    async def _replies(self) -> AsyncIterator[tuple[int, bytes]]:
        for reply in self.replies:
            yield reply

    def content(self) -> bytes:
        return b"".join(data for _, data in sorted(self.writes))


def test_small_writes_are_gathered_into_full_pieces():
    remote = FakeRemote()
    pieces = [bytes([n]) * (WRITE_CHUNK // 3 + 1) for n in range(7)]

    async def run() -> int:
        writer = PipelinedWriter(remote)
        for piece in pieces:
            await writer.write(piece)
        await writer.flush()
        return writer.offset

    assert asyncio.run(run()) == sum(map(len, pieces))
    assert remote.content() == b"".join(pieces)
    sizes = [len(data) for _, data in sorted(remote.writes)]
    assert all(size >= WRITE_CHUNK for size in sizes[:-1])
    assert len(sizes) == 3


def test_a_full_piece_is_sent_as_it_is():
    remote = FakeRemote()
    piece = b"x" * WRITE_CHUNK

    async def run() -> None:
        writer = PipelinedWriter(remote)
        await writer.write(piece)
        await writer.flush()

    asyncio.run(run())
    assert remote.writes == [(0, piece)]
    assert remote.writes[0][1] is piece


def test_a_failed_write_is_raised_by_a_later_write_or_by_flush():
    remote = FakeRemote(fail_at=0)

    async def run() -> None:
        writer = PipelinedWriter(remote)
        await writer.write(b"x" * WRITE_CHUNK)
        await asyncio.sleep(0.01)
        with pytest.raises(asyncssh.SFTPFailure):
            await writer.write(b"y")
        with pytest.raises(asyncssh.SFTPFailure):
            await writer.flush()

    asyncio.run(run())


def test_abort_drops_what_is_gathered():
    remote = FakeRemote()

    async def run() -> None:
        writer = PipelinedWriter(remote)
        await writer.write(b"partial")
        await writer.abort()
        await writer.flush()

    asyncio.run(run())
    assert remote.writes == []


def test_reads_are_handed_on_in_file_order():
    remote = FakeRemote(replies=[(3, b"def"), (6, b"g"), (0, b"abc")])

    async def run() -> list[bytes]:
        return [block async for block in read_in_order(remote, 7)]

    assert asyncio.run(run()) == [b"abc", b"def", b"g"]


def test_a_gap_in_the_replies_is_an_error():
    remote = FakeRemote(replies=[(0, b"abc"), (6, b"g")])

    async def run() -> list[bytes]:
        return [block async for block in read_in_order(remote, 7)]

    with pytest.raises(asyncssh.SFTPFailure, match="gap at offset 3"):
        asyncio.run(run())
