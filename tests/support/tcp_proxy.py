"""A TCP proxy on 127.0.0.1 that forwards to a real server and cuts connections on demand.

``proxy.cut_next(upstream=N)`` makes the next connection die (both sockets closed, like a network
fault) once N bytes went from the client to the server; ``downstream=N`` counts the other way.
Connections with no cut planned are forwarded untouched. ``proxy.traffic`` counts the bytes each connection
carried each way, in the order they were accepted, and :meth:`TcpProxy.total` all of them once
:meth:`TcpProxy.wait_closed` says every connection is over (a clean run measured, to aim a cut at one protocol
message). Everything runs on daemon threads and stops with :meth:`TcpProxy.close`.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Cut:
    """Close the connection after this many bytes in a direction (None: no limit that way)."""

    upstream: int | None = None
    downstream: int | None = None


@dataclass
class Traffic:
    """Bytes one connection carried: client to server (upstream) and server to client (downstream)."""

    upstream: int = 0
    downstream: int = 0

    def add(self, direction: str, size: int) -> None:
        if direction == "upstream":
            self.upstream += size
        else:
            self.downstream += size


class TcpProxy:
    """Forward 127.0.0.1:<port> to ``target_host:target_port``.

    :param target_host: a loopback address.
    :param target_port: the real server's port.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.host = "127.0.0.1"
        self.port: int = self._listener.getsockname()[1]
        self._plan: deque[Cut] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.connections = 0
        self.connections_open = 0
        self.cuts_done = 0
        self.traffic: list[Traffic] = []  # one per connection accepted, in order
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def cut_next(self, *, upstream: int | None = None, downstream: int | None = None) -> None:
        """Plan a cut for the next connection that is accepted (plans queue up in order)."""
        with self._lock:
            self._plan.append(Cut(upstream, downstream))

    def clear(self) -> None:
        with self._lock:
            self._plan.clear()

    def wait_closed(self, timeout: float = 10.0) -> None:
        """Wait until every accepted connection is over (both sockets closed, every byte counted).

        :param timeout: seconds before the test fails.
        """
        deadline = time.monotonic() + timeout
        while self.connections_open and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not self.connections_open, "a forwarded connection did not close"

    def total(self) -> Traffic:
        """The bytes every connection carried each way, added up."""
        with self._lock:
            return Traffic(sum(t.upstream for t in self.traffic), sum(t.downstream for t in self.traffic))

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                cut = self._plan.popleft() if self._plan else Cut()
                self.connections += 1
                self.connections_open += 1
                traffic = Traffic()
                self.traffic.append(traffic)
            threading.Thread(target=self._forward, args=(client, cut, traffic), daemon=True).start()

    def _forward(self, client: socket.socket, cut: Cut, traffic: Traffic) -> None:
        try:
            self._pump(client, cut, traffic)
        finally:
            with self._lock:
                self.connections_open -= 1

    def _pump(self, client: socket.socket, cut: Cut, traffic: Traffic) -> None:
        try:
            server = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        budget = {client: cut.upstream, server: cut.downstream}
        peer = {client: server, server: client}
        direction = {client: "upstream", server: "downstream"}
        try:
            while not self._stopping.is_set():
                readable, _, _ = select.select([client, server], [], [], 0.2)
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    limit = budget[source]
                    if limit is not None and len(data) >= limit:
                        peer[source].sendall(data[:limit])
                        traffic.add(direction[source], limit)
                        with self._lock:
                            self.cuts_done += 1
                        return
                    if limit is not None:
                        budget[source] = limit - len(data)
                    peer[source].sendall(data)
                    traffic.add(direction[source], len(data))
        except OSError:
            return
        finally:
            for sock in (client, server):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
