"""A userspace WAN link between TCP clients and one server on 127.0.0.1, in its own process (issue 22).

    python -m benchmarks.wan_link --target-port 2222 --delay-ms 25 --rate-mbit 200 [--status-file F]

This kernel has no ``netem``, so the link is a TCP proxy. It listens on a free 127.0.0.1 port (printed as
stdout's first line), forwards every connection to 127.0.0.1:``--target-port`` and serves until SIGTERM.

The model (``../shared/notes/wan-baselines.md``), per direction, shared by every connection as on one link:
a chunk read at time t leaves at ``done = max(t, previous done) + len / rate`` (serialisation) and is written
to the other side at ``done + delay`` (propagation), order preserved. Reading stops while more than
``QUEUE_SECONDS`` of serialisation waits (the bottleneck's buffer; TCP flow control then slows the sender)
or while the receiving socket does not take data. A new connection pays one round trip (the TCP handshake)
before the client's first byte is read and 1.5 before the server is connected. ``--rate-mbit 0`` is no cap.

Byte counters per connection and direction (bytes delivered, i.e. that crossed the link) are written as
JSON to ``--status-file`` whenever a connection ends and at SIGTERM, and printed on stderr at SIGTERM.
``--cut-after-bytes N`` aborts the first connection once N bytes went server -> client (a resume test's cut).

Measured capacity (2-core AMD EPYC, 2026-12-06, while other jobs ran): raw TCP through it (Python sender and
sink in other processes, no delay, no cap) ~1.1 GB/s up and ~0.95 GB/s down; at 25 ms / 1 Gbit/s, 122 MB/s each
way (the cap). ``ssh -c aes128-gcm@openssh.com`` piping 1 GiB of /dev/zero: no delay or cap 139 MB/s up and
306 MB/s down (direct to the sshd 215 / 270: ssh, sshd and the proxy share 2 cores); at 25 ms / 1 Gbit/s, four
streams 116 MB/s up and 122 MB/s down with the proxy at 23-33% of one core, one stream 36-37 MB/s (OpenSSH's
2 MiB channel window over 50 ms, not the proxy); at 25 ms / 200 Mbit/s, 25 MB/s each way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QUEUE_SECONDS = 0.02  # the bottleneck's buffer, in seconds of serialisation
WRITE_HIGH, WRITE_LOW = 1 << 20, 256 << 10  # a socket's write buffer that pauses the sender's reading


class Marker:
    """A half-close (EOF) or a close (CLOSE), carried through the link like data."""

    def __init__(self, name: str) -> None:
        self.name = name


EOF, CLOSE = Marker("EOF"), Marker("CLOSE")
Item = bytes | Marker


class Side(asyncio.Protocol):
    """One TCP end of a proxied connection (the client's or the server's)."""

    def __init__(self, pair: Pair, name: str) -> None:
        self.pair = pair
        self.name = name  # "client" or "server"
        self.transport: asyncio.Transport | None = None
        self.pending: list[Item] = []  # delivered before this side was connected
        self.pauses: set[str] = set()
        self.lost = False
        self.eof_in = self.eof_out = False  # EOF received from this socket / written to it

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=WRITE_HIGH, low=WRITE_LOW)
        if self.name == "client":
            self.pause("handshake")
            self.pair.accepted()
        for item in self.pending:
            self.pair.write(self, item)
        self.pending.clear()

    def data_received(self, data: bytes) -> None:
        self.pair.link.direction(self).send(self, data)

    def eof_received(self) -> bool:
        self.eof_in = True
        self.pair.link.direction(self).send(self, EOF)
        self.close_if_done()
        return True  # half-close: the other direction may still carry data

    def close_if_done(self) -> None:
        """Both halves closed: asyncio does not close a half-closed transport by itself."""
        if self.eof_in and self.eof_out and self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.pair.link.direction(self).send(self, CLOSE)
        self.pair.ended()

    def pause_writing(self) -> None:
        self.pair.other(self).pause("peer")

    def resume_writing(self) -> None:
        self.pair.other(self).resume("peer")

    def pause(self, reason: str) -> None:
        if not self.pauses and self.transport is not None and not self.lost:
            self.transport.pause_reading()
        self.pauses.add(reason)

    def resume(self, reason: str) -> None:
        if reason in self.pauses:
            self.pauses.discard(reason)
            if not self.pauses and self.transport is not None and not self.lost:
                self.transport.resume_reading()


class Direction:
    """One direction of the link: its serialisation clock and its queue of chunks in flight."""

    def __init__(self, loop: asyncio.AbstractEventLoop, rate: float, delay: float) -> None:
        self.loop, self.rate, self.delay = loop, rate, delay
        self.busy_until = 0.0
        self.flight: deque[tuple[float, Side, Item]] = deque()
        self.timer: asyncio.TimerHandle | None = None
        self.waiting: set[Side] = set()  # sources paused because the bottleneck's buffer is full
        self.resume_timer: asyncio.TimerHandle | None = None

    def send(self, source: Side, item: Item) -> None:
        now = self.loop.time()
        size = len(item) if isinstance(item, bytes) else 0
        self.busy_until = max(now, self.busy_until) + (size / self.rate if self.rate else 0.0)
        arrival = self.busy_until + self.delay
        if arrival <= now and not self.flight:
            source.pair.write(source.pair.other(source), item)
            return
        self.flight.append((arrival, source, item))
        if self.busy_until - now > QUEUE_SECONDS and item is not CLOSE:
            source.pause("queue")
            self.waiting.add(source)
            self._arm_resume()
        if self.timer is None:
            self.timer = self.loop.call_at(arrival, self._deliver)

    def _deliver(self) -> None:
        self.timer = None
        now = self.loop.time()
        while self.flight and self.flight[0][0] <= now:
            _, source, item = self.flight.popleft()
            source.pair.write(source.pair.other(source), item)
        if self.flight:
            self.timer = self.loop.call_at(self.flight[0][0], self._deliver)

    def _arm_resume(self) -> None:
        if self.resume_timer is None:
            self.resume_timer = self.loop.call_at(self.busy_until - QUEUE_SECONDS, self._resume)

    def _resume(self) -> None:
        self.resume_timer = None
        if self.busy_until - self.loop.time() > QUEUE_SECONDS:
            self._arm_resume()
            return
        waiting, self.waiting = self.waiting, set()
        for source in waiting:
            source.resume("queue")


class Pair:
    """A proxied connection: the client's side, the server's side, and what crossed in each direction."""

    def __init__(self, link: Link, number: int) -> None:
        self.link, self.number = link, number
        self.client, self.server = Side(self, "client"), Side(self, "server")
        self.bytes = {"client_to_server": 0, "server_to_client": 0}
        self.cut = False
        self.done = False

    def other(self, side: Side) -> Side:
        return self.server if side is self.client else self.client

    def accepted(self) -> None:
        """The handshake's round trip: the client's first bytes are read after it, the server is reached 0.5 later."""
        loop, delay = self.link.loop, self.link.delay
        loop.call_later(2 * delay, self.client.resume, "handshake")
        loop.call_later(3 * delay, lambda: loop.create_task(self._connect()))

    async def _connect(self) -> None:
        try:
            await self.link.loop.create_connection(lambda: self.server, "127.0.0.1", self.link.target_port)
        except OSError as e:
            print(f"wan_link: connection {self.number}: cannot reach the target: {e}", file=sys.stderr, flush=True)
            if self.client.transport is not None:
                self.client.transport.close()

    def write(self, target: Side, item: Item) -> None:
        if target.transport is None:
            if not target.lost:
                target.pending.append(item)
            return
        if target.lost or target.transport.is_closing():
            return
        if item is CLOSE:
            target.transport.close()
        elif isinstance(item, Marker):  # EOF
            try:
                target.transport.write_eof()
            except OSError:  # the peer is already gone
                target.transport.abort()
                return
            target.eof_out = True
            target.close_if_done()
        else:
            target.transport.write(item)
            key = "server_to_client" if target is self.client else "client_to_server"
            self.bytes[key] += len(item)
            if key == "server_to_client" and self.link.cut_due(self):
                self.cut = True
                for side in (self.client, self.server):
                    if side.transport is not None:
                        side.transport.abort()

    def ended(self) -> None:
        if self.client.lost and (self.server.lost or self.server.transport is None) and not self.done:
            self.done = True
            self.link.write_status()


class Link:
    """The listening proxy: every accepted connection becomes a Pair over the two shared Directions."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.loop = asyncio.get_running_loop()
        self.target_port: int = args.target_port
        self.delay = args.delay_ms / 1000
        rate = args.rate_mbit * 1e6 / 8
        self.up = Direction(self.loop, rate, self.delay)  # client -> server
        self.down = Direction(self.loop, rate, self.delay)  # server -> client
        self.status_file: Path | None = args.status_file
        self.cut_after: int | None = args.cut_after_bytes
        self.pairs: list[Pair] = []

    def direction(self, source: Side) -> Direction:
        return self.up if source.name == "client" else self.down

    def new_client(self) -> Side:
        pair = Pair(self, len(self.pairs) + 1)
        self.pairs.append(pair)
        return pair.client

    def cut_due(self, pair: Pair) -> bool:
        if self.cut_after is None or pair.bytes["server_to_client"] < self.cut_after:
            return False
        self.cut_after = None  # once
        return True

    def status(self) -> dict[str, Any]:
        connections = [{"id": p.number, **p.bytes, "open": not p.done, "cut": p.cut} for p in self.pairs]
        totals = {key: sum(p.bytes[key] for p in self.pairs) for key in ("client_to_server", "server_to_client")}
        return {"connections": connections, "totals": totals}

    def write_status(self) -> None:
        if self.status_file is None:
            return
        partial = self.status_file.with_name(self.status_file.name + ".tmp")
        partial.write_text(json.dumps(self.status()))
        os.replace(partial, self.status_file)


async def serve(args: argparse.Namespace) -> None:
    link = Link(args)
    server = await link.loop.create_server(link.new_client, "127.0.0.1", args.port)
    print(server.sockets[0].getsockname()[1], flush=True)
    stopped = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        link.loop.add_signal_handler(signum, stopped.set)
    await stopped.wait()
    server.close()
    link.write_status()
    print(json.dumps(link.status()), file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target-port", type=int, required=True, help="the server's port on 127.0.0.1")
    parser.add_argument("--delay-ms", type=float, default=25.0, help="one-way delay, each direction")
    parser.add_argument("--rate-mbit", type=float, default=200.0, help="bandwidth each way, 10**6 bit/s (0: none)")
    parser.add_argument("--port", type=int, default=0, help="where to listen (default: a free port)")
    parser.add_argument("--status-file", type=Path, help="the byte counters, as JSON, rewritten as connections end")
    parser.add_argument("--cut-after-bytes", type=int, help="abort the first connection after N bytes to the client")
    return parser.parse_args(argv)


@dataclass
class LinkProcess:
    """A running ``python -m benchmarks.wan_link`` (for the benchmark, which runs the provider in its own
    process: a proxy there would share its GIL)."""

    process: subprocess.Popen[str]
    port: int
    status_file: Path

    def stop(self) -> dict[str, Any]:
        """Stop it (SIGTERM, by pid) and return its byte counters."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        status: dict[str, Any] = json.loads(self.status_file.read_text()) if self.status_file.exists() else {}
        return status


def start_link(
    target_port: int, delay_ms: float, rate_mbit: float, status_file: Path, cut_after_bytes: int | None = None
) -> LinkProcess:
    """Start the link in a new process and wait for its port.

    :param target_port: the server behind it, on 127.0.0.1.
    :param delay_ms: one-way delay, each direction.
    :param rate_mbit: bandwidth each way (10**6 bit/s); 0 for no cap.
    :param status_file: where it writes its byte counters.
    :param cut_after_bytes: abort the first connection once this many bytes went to its client.
    """
    command = [sys.executable, "-m", "benchmarks.wan_link", "--target-port", str(target_port)]
    command += ["--delay-ms", str(delay_ms), "--rate-mbit", str(rate_mbit), "--status-file", str(status_file)]
    if cut_after_bytes is not None:
        command += ["--cut-after-bytes", str(cut_after_bytes)]
    with status_file.with_suffix(".log").open("w") as log:  # its stderr: errors, the counters at exit
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, text=True, cwd=Path(__file__).parents[1]
        )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.isdigit():
        process.kill()
        raise RuntimeError(f"wan_link did not start (exit {process.wait()}): {line!r}")
    return LinkProcess(process, int(line), status_file)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.monotonic()
    asyncio.run(serve(args))
    print(f"wan_link: served {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
