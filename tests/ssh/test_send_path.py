"""The two changes to asyncssh's send path: one socket write per loop turn, and no empty IGNORE packet before
each packet unless the cipher is CBC. Unit tests on fakes, then a real session through sshd."""

from __future__ import annotations

import asyncio
from pathlib import Path

from airflow_provider_actito_sftp.ssh.send_path import MSG_IGNORE, _IgnorePacketFilter, lighten_send_path
from airflow_provider_actito_sftp.transfer.remote_folder import RemoteFolder
from tests.conftest import ConnectionFactory
from tests.ssh.test_session import _in_session

EMPTY = b"\x00\x00\x00\x00"


class FakeConnection:
    def __init__(self, cipher: str) -> None:
        self.cipher = cipher
        self.sent: list[bytes] = []
        self.packets: list[tuple[int, tuple[bytes, ...]]] = []

    def _send(self, data: bytes) -> None:
        self.sent.append(data)

    def send_packet(self, pkttype: int, *args: bytes) -> None:
        self.packets.append((pkttype, args))

    def get_extra_info(self, name: str) -> str:
        assert name == "send_cipher"
        return self.cipher


def test_writes_of_one_loop_turn_leave_in_one_send_in_order():
    connection = FakeConnection("aes128-gcm@openssh.com")

    async def run() -> list[bytes]:
        lighten_send_path(connection)
        for piece in (b"a", b"bc", b"d"):
            connection._send(piece)
        assert connection.sent == []  # nothing before the turn ends
        await asyncio.sleep(0)
        connection._send(b"e")
        await asyncio.sleep(0)
        return connection.sent

    assert asyncio.run(run()) == [b"abcd", b"e"]


def test_empty_ignore_packets_are_dropped_under_aead_and_kept_under_cbc():
    for cipher, kept in (("aes128-gcm@openssh.com", False), ("chacha20-poly1305@openssh.com", False),
                         ("aes256-ctr", False), ("aes128-cbc", True)):  # fmt: skip
        connection = FakeConnection(cipher)
        send = _IgnorePacketFilter(connection.send_packet, connection).send_packet
        send(MSG_IGNORE, EMPTY)
        send(94, b"data")  # CHANNEL_DATA always goes
        send(MSG_IGNORE, b"\x00\x00\x00\x01x")  # an IGNORE with content is not asyncssh's padding: kept
        expected = [(94, (b"data",)), (MSG_IGNORE, (b"\x00\x00\x00\x01x",))]
        assert connection.packets == ([(MSG_IGNORE, (EMPTY,))] if kept else []) + expected, cipher


def test_a_session_with_the_lighter_send_path_moves_files_intact(
    make_connection: ConnectionFactory, folders: dict[str, Path]
):
    conn_id = make_connection(locations={"inbound": str(folders["inbound"])})
    content = {f"f{n}.csv": bytes([n]) * (n * 1000 + 1) for n in range(40)}
    for name, data in content.items():
        (folders["inbound"] / name).write_bytes(data)

    async def read_all(session) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
        folder = RemoteFolder(session, "inbound")

        async def one(name: str) -> bytes:
            async with session.sftp.open(folder.file(name), "rb") as handle:
                return bytes(await handle.read())

        names = list(content)
        return dict(zip(names, await asyncio.gather(*(one(name) for name in names)), strict=True))

    assert _in_session(conn_id, read_all) == content
