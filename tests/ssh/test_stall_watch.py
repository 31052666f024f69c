"""A session whose SFTP server stops answering ends in words, whether keepalives are on or off; keepalives count
any packet from the server as its answer (tinysshd answers them with SSH_MSG_UNIMPLEMENTED)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncssh
import pytest

from airflow_provider_actito_sftp.ssh import stall_watch
from partner_sandbox.inprocess_server import start_password_server
from tests.support.rogue_ssh import call_bounded


class _HangingStat(asyncssh.SFTPServer):
    """An SFTP server that starts, then never answers a STAT: its SSH layer (and keepalives) stay alive."""

    async def stat(self, path: bytes) -> asyncssh.SFTPAttrs:  # type: ignore[override]
        await asyncio.sleep(3600)
        raise AssertionError("never answered")


@pytest.mark.parametrize("keepalive_interval", [0, 30])
def test_a_server_whose_sftp_stops_answering_ends_the_session(
    make_connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keepalive_interval: int
):
    from airflow_provider_actito_sftp.hooks import ActitoSftpHook

    monkeypatch.setattr(stall_watch, "STALL_TIMEOUT", 1.0)
    server = start_password_server(tmp_path, "partner", "pw-for-the-hanging-server", _HangingStat)
    try:
        conn_id = make_connection(
            "hanging_sftp",
            host=server.host,
            port=server.port,
            login="partner",
            password="pw-for-the-hanging-server",
            auth_type="password",
            ssh_private_key=None,
            host_key=server.host_key_line,
            locations={"inbound": "/"},
            keepalive_interval=keepalive_interval,
        )
        problems = call_bounded(ActitoSftpHook(conn_id).check_on_server, 60).problems
    finally:
        server.stop()
    assert problems == [
        f"Connection {conn_id!r}, location 'inbound' (/): the connection was lost: the SFTP server at "
        f"{server.host}:{server.port} did not answer a request for 1 s"
    ]


def test_a_pipelined_transfer_that_keeps_answering_is_never_cut(
    make_connection, sshd, folders: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Only the oldest pending request counts: a transfer whose requests are answered, however many are in
    flight and however long it lasts in all, is not taken for a stall."""
    from airflow_provider_actito_sftp.hooks import ActitoSftpHook
    from partner_sandbox.sshd import chown_tree

    monkeypatch.setattr(stall_watch, "STALL_TIMEOUT", 0.5)
    (folders["inbound"] / "big.bin").write_bytes(b"x" * (64 * 1024 * 1024))
    chown_tree(folders["inbound"], sshd.user)
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    result = ActitoSftpHook(conn_id).import_files(
        "inbound", str(tmp_path / "landing"), owner="a" * 12, min_age=0, after_import="delete"
    )
    assert [record.plaintext_bytes for record in result.imported] == [64 * 1024 * 1024]
    assert not result.failed


# --- keepalives: any packet from the server counts as its answer ----------------------------------------------


class _KeepaliveCounter:
    """What asyncssh keeps per connection: a count of unanswered keepalives, and the timer it restarts on every
    byte received."""

    def __init__(self) -> None:
        self._keepalive_count = 0
        self.restarts = 0

    def _reset_keepalive_timer(self) -> None:
        self.restarts += 1


def test_anything_received_clears_the_count_of_unanswered_keepalives():
    connection = _KeepaliveCounter()
    stall_watch.count_any_reply_as_alive(connection)
    connection._keepalive_count = 3  # three keepalives unanswered: the next interval would end the session
    connection._reset_keepalive_timer()  # what asyncssh calls when bytes arrive (tinysshd: SSH_MSG_UNIMPLEMENTED)
    assert (connection._keepalive_count, connection.restarts) == (0, 1)


def test_an_asyncssh_without_that_layout_is_left_as_it_is():
    class Elsewhere:
        def _reset_keepalive_timer(self) -> None:
            pass

    connection = Elsewhere()
    restart = connection._reset_keepalive_timer
    stall_watch.count_any_reply_as_alive(connection)
    assert connection._reset_keepalive_timer == restart


def test_asyncssh_still_restarts_its_keepalive_timer_on_every_byte_received():
    """The layout count_any_reply_as_alive relies on, read from the asyncssh installed: when an upgrade changes it,
    this fails here rather than tinysshd sessions ending again after four keepalive intervals."""
    import inspect

    from asyncssh.connection import SSHConnection

    assert "self._reset_keepalive_timer()" in inspect.getsource(SSHConnection._recv_data)
    assert "self._keepalive_count += 1" in inspect.getsource(SSHConnection._keepalive_timer_callback)
    assert "self._keepalive_count = 0" in inspect.getsource(SSHConnection._make_keepalive_request)
