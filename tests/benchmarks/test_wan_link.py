"""The benchmark's WAN link emulator (``benchmarks.wan_link``): what crosses it, in its own process.

Behaviour only (bytes, order, half-close, counters, the cut); its delays and rate are the benchmark's business.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.wan_link import start_link

TIMEOUT = 10.0


def _serve(listener: socket.socket) -> None:
    """Per connection: read until EOF, then send back the bytes reversed and close."""
    while True:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            connection.settimeout(TIMEOUT)
            received = bytearray()
            while chunk := connection.recv(1 << 16):
                received += chunk
            with contextlib.suppress(OSError):  # the link cut the connection
                connection.sendall(bytes(reversed(received)))


@pytest.fixture
def target() -> Iterator[int]:
    listener = socket.create_server(("127.0.0.1", 0))
    thread = threading.Thread(target=_serve, args=(listener,), daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    listener.close()


def _exchange(port: int, payload: bytes) -> bytes:
    """Send ``payload``, half-close, and read the answer until the connection ends (closed or reset)."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as client:
        client.sendall(payload)
        client.shutdown(socket.SHUT_WR)
        answer = bytearray()
        try:
            while chunk := client.recv(1 << 16):
                answer += chunk
        except ConnectionResetError:
            pass
        return bytes(answer)


def test_bytes_cross_intact_in_order_and_are_counted_per_connection_and_direction(target: int, tmp_path: Path) -> None:
    link = start_link(target, 1, 1000, tmp_path / "status.json")
    try:
        first, second = os.urandom(3 << 20), os.urandom(1000)
        assert _exchange(link.port, first) == first[::-1]
        assert _exchange(link.port, second) == second[::-1]
    finally:
        status = link.stop()
    assert status["connections"] == [
        {"id": 1, "client_to_server": len(first), "server_to_client": len(first), "open": False, "cut": False},
        {"id": 2, "client_to_server": len(second), "server_to_client": len(second), "open": False, "cut": False},
    ]
    assert status["totals"] == {"client_to_server": len(first) + 1000, "server_to_client": len(first) + 1000}


def test_the_cut_aborts_only_the_first_connection_that_received_enough(target: int, tmp_path: Path) -> None:
    link = start_link(target, 1, 0, tmp_path / "status.json", cut_after_bytes=100_000)
    try:
        assert len(_exchange(link.port, os.urandom(1 << 20))) < 1 << 20
        payload = os.urandom(1 << 20)
        assert _exchange(link.port, payload) == payload[::-1]
    finally:
        status = link.stop()
    cut, whole = status["connections"]
    assert cut["cut"]
    assert 100_000 <= cut["server_to_client"] < 1 << 20
    assert not whole["cut"]
    assert whole["server_to_client"] == 1 << 20
