"""Odd servers' helpers: a server on 127.0.0.1 that greets as SSH, then sends what no SSH server may (garbage
after its version line); one that accepts and never says a word (:class:`SilentServer`); and
:func:`call_bounded`, which turns a call that would hang into a failed test.

Each connection gets ``SSH-2.0-Rogue_1.0`` and then ``after_version``; the socket stays open (read and
dropped) until the client hangs up or :meth:`RogueSshServer.close`. Everything runs on daemon threads, so
code under test can run its own event loop.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# A packet whose padding covers all of it: no message type. asyncssh's parser raises a bare PacketDecodeError
# (a ValueError, no asyncssh.Error) and ends the connection with it.
EMPTY_PACKET = (12).to_bytes(4, "big") + bytes([11]) + bytes(11)
# A packet length of 4 GiB: asyncssh's ProtocolError "Max packet size exceeded".
OVERSIZED_PACKET = b"\xff" * 16


class RogueSshServer:
    """Listen on 127.0.0.1 (a free port) and answer every connection with a version line, then ``after_version``.

    :param after_version: the bytes sent right after ``SSH-2.0-Rogue_1.0\\r\\n``.
    """

    def __init__(self, after_version: bytes = EMPTY_PACKET) -> None:
        self.after_version = after_version
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.host = "127.0.0.1"
        self.port: int = self._listener.getsockname()[1]
        self.connections = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def __enter__(self) -> RogueSshServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(client,), daemon=True).start()

    def _answer(self, client: socket.socket) -> None:
        with client:
            try:
                client.sendall(b"SSH-2.0-Rogue_1.0\r\n" + self.after_version)
                client.settimeout(0.2)
                while not self._stopping.is_set():
                    try:
                        if not client.recv(4096):
                            return
                    except TimeoutError:
                        continue
            except OSError:
                return


def call_bounded(call: Callable[[], T], seconds: float = 120.0) -> T:
    """Return ``call()``, run on a daemon thread; if it has not returned within ``seconds`` (it hangs), fail.

    Not a measure of speed: the bound only turns a wait that never ends into a failed test.
    """
    outcome: list[T] = []
    raised: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as e:  # handed to the test's thread
            raised.append(e)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise AssertionError(f"still waiting after {seconds:.0f} s: an unbounded wait")
    if raised:
        raise raised[0]
    return outcome[0]


class SilentServer(RogueSshServer):
    """Listen on 127.0.0.1 (a free port), accept every connection and never send a byte: a server that stalls.

    ``connections`` counts the connections accepted; each stays open, unanswered, until :meth:`close`.
    """

    def __init__(self) -> None:
        super().__init__(after_version=b"")

    def _answer(self, client: socket.socket) -> None:
        with client:
            self._stopping.wait()
