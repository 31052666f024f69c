"""The SFTP channel opens with a receive window sized for far servers (real sshd); a subsystem that answers with
text is quoted (a login script printing: the real sshd case is in tests/integration/test_interop_logins.py)."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_actito_sftp.ssh.session import AsyncSftpSession
from airflow_provider_actito_sftp.ssh.sftp_channel import PEEK_BYTES, RECEIVE_WINDOW, subsystem_text
from tests.conftest import ConnectionFactory
from tests.ssh.test_session import _in_session


async def _window(session: AsyncSftpSession) -> int:
    channel = session.sftp._handler._reader.channel  # the channel asyncssh reads SFTP answers from
    return int(channel.get_recv_window())


def test_the_sftp_channel_lets_the_server_send_a_large_window_ahead(make_connection: ConnectionFactory):
    assert RECEIVE_WINDOW >= 8 << 20  # over the bandwidth-delay product of 1 Gbit/s at 50 ms
    assert _in_session(make_connection(), _window) == RECEIVE_WINDOW


async def _lists(session: AsyncSftpSession) -> int:
    return len(await session.list_location("inbound"))


def test_the_channel_speaks_sftp(make_connection: ConnectionFactory):
    assert _in_session(make_connection(), _lists) >= 0


class _Subsystem:
    """A connection whose ``sftp`` subsystem says ``chunks`` (then nothing: EOF, or silence if ``then_silent``)."""

    def __init__(self, *chunks: bytes, then_silent: bool = False) -> None:
        self.chunks, self.then_silent = list(chunks), then_silent

    async def open_session(self, **_: object) -> tuple[object, object, object]:
        return _Writer(), self, None

    async def read(self, _: int) -> bytes:
        if self.chunks:
            return self.chunks.pop(0)
        if self.then_silent:
            await asyncio.sleep(3600)
        return b""


class _Writer:
    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("subsystem", "said"),
    [
        (_Subsystem(b"Welcome to ", b"ACME SFTP\r\nLast login: never\n"), "Welcome to ACME SFTP"),  # its first line
        (_Subsystem(b"hello"), "hello"),  # then EOF: /bin/echo as the subsystem
        (_Subsystem(b"Please wait", then_silent=True), "Please wait"),  # what came within the time
        (_Subsystem(b"\x00\x00\x00\x05\x02\x00\x00\x00\x03"), None),  # an SFTP VERSION packet: not text
        (_Subsystem(then_silent=True), None),  # a subsystem that says nothing
        (_Subsystem(b"x" * 500), "x" * PEEK_BYTES),  # quoted, not copied whole
    ],
)
def test_what_a_subsystem_says_before_any_request_is_read_when_it_is_text(subsystem: _Subsystem, said: str | None):
    assert asyncio.run(subsystem_text(subsystem, timeout=0.2)) == said  # type: ignore[arg-type]
