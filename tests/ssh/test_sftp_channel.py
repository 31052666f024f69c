"""The SFTP channel opens with a receive window sized for far servers (real sshd)."""

from __future__ import annotations

from airflow_provider_actito_sftp.ssh.session import AsyncSftpSession
from airflow_provider_actito_sftp.ssh.sftp_channel import RECEIVE_WINDOW
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
