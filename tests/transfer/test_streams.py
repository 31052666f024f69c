"""Ordered reads and gathered, pipelined writes, against a fake SFTP file (the real server is in the
importer, exporter and fault tests)."""

from __future__ import annotations

import asyncio

import asyncssh
import pytest

from airflow_provider_actito_sftp.transfer import streams
from airflow_provider_actito_sftp.transfer.streams import WRITE_CHUNK, PipelinedWriter, read_in_order


class FakeRemote:
    """Records writes by offset; can fail at a given offset."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.writes: list[tuple[int, bytes]] = []
        self.fail_at = fail_at

    async def write(self, data: bytes, offset: int) -> None:
        await asyncio.sleep(0)
        if offset == self.fail_at:
            raise asyncssh.SFTPFailure("disk quota exceeded")
        self.writes.append((offset, data))

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


class FakeFile:
    """Serves reads of ``content`` in blocks of ``read_len``, answering later offsets first (out of order)."""

    read_len = 3

    def __init__(self, content: bytes) -> None:
        self.content = content
        self.read_calls: list[tuple[int, int]] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def read(self, size: int, offset: int) -> bytes:
        self.read_calls.append((size, offset))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.001 * (len(self.content) - offset))  # later offsets answer sooner
        self.in_flight -= 1
        return self.content[offset : offset + size]


def _read_all(remote: FakeFile, size: int, start: int = 0) -> list[bytes]:
    async def run() -> list[bytes]:
        return [block async for block in read_in_order(remote, size, start)]  # type: ignore[arg-type]

    return asyncio.run(run())


def test_reads_are_handed_on_in_file_order():
    remote = FakeFile(b"abcdefg")
    assert _read_all(remote, 7) == [b"abc", b"def", b"g"]
    assert remote.most_in_flight == 3  # all asked at once, answered out of order


def test_a_resumed_read_asks_only_for_the_bytes_from_its_start():
    remote = FakeFile(b"abcdefg")
    assert _read_all(remote, 7, start=3) == [b"def", b"g"]
    assert remote.read_calls == [(3, 3), (1, 6)]


def test_a_file_shorter_than_listed_ends_the_read_early():
    remote = FakeFile(b"abcd")
    assert b"".join(_read_all(remote, 7)) == b"abcd"  # the caller compares 4 bytes with the 7 listed


def test_what_is_in_flight_is_bounded_by_the_pacer(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(streams, "MIN_READ_AHEAD", 9)
    monkeypatch.setattr(streams, "MAX_READ_AHEAD", 9)
    remote = FakeFile(bytes(range(60)))
    assert b"".join(_read_all(remote, 60)) == bytes(range(60))
    assert remote.most_in_flight == 3  # 9 bytes in blocks of 3


def test_the_pacer_keeps_twice_the_bandwidth_delay_product_in_flight_within_its_bounds(
    monkeypatch: pytest.MonkeyPatch,
):
    clock = [100.0]
    monkeypatch.setattr(streams.time, "monotonic", lambda: clock[0])
    assert streams.ReadPacer().read_ahead() == streams.MIN_READ_AHEAD  # nothing measured yet
    near = streams.ReadPacer()
    near.answered(clock[0] - 0.0002, 256 << 10)  # loopback: a fraction of a millisecond
    assert near.read_ahead() == streams.MIN_READ_AHEAD
    far = streams.ReadPacer()
    for _ in range(40):  # answers every 10 ms, each 250 KB, 50 ms after being asked: 25 MB/s
        clock[0] += 0.01
        far.answered(clock[0] - 0.05, 250_000)
    assert 2 * 25e6 * 0.05 * 0.9 <= far.read_ahead() <= 2 * 25e6 * 0.05 * 1.1
    fast = streams.ReadPacer()
    for _ in range(40):  # 1 GB/s at 100 ms: far above the cap
        clock[0] += 0.01
        fast.answered(clock[0] - 0.1, 10_000_000)
    assert fast.read_ahead() == streams.MAX_READ_AHEAD
