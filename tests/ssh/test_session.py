"""open_session against real OpenSSH servers: host key pinning before authentication, both auth types."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from airflow_provider_actito_sftp.connection.settings import parse_connection
from airflow_provider_actito_sftp.exceptions import (
    AuthenticationError,
    HostKeyError,
    RemoteConnectError,
    RemoteLocationError,
)
from airflow_provider_actito_sftp.ssh.host_keys import fingerprint
from airflow_provider_actito_sftp.ssh.session import AsyncSftpSession, open_session
from partner_sandbox.sshd import SshServer, running_as_root
from tests.conftest import ConnectionFactory


def _fingerprint_of(public_line: str) -> str:
    return fingerprint(asyncssh.import_public_key(public_line))


def _sshd_log(server: SshServer) -> str:
    return server.log_path.read_text(errors="replace")


def _in_session(conn_id: str, work: Callable[[AsyncSftpSession], Awaitable[Any]]) -> Any:
    """Open one session for the connection (as the hook does), run ``work`` on it, close it."""
    from airflow.sdk import BaseHook

    settings = parse_connection(BaseHook.get_connection(conn_id))

    async def run() -> Any:
        async with open_session(settings) as session:
            return await work(session)

    return asyncio.run(run())


async def _host_key(session: AsyncSftpSession) -> str:
    return session.host_key_fingerprint


class TestHostKeyPinning:
    def test_pinned_key_connects_and_reports_fingerprint(self, make_connection: ConnectionFactory, sshd: SshServer):
        assert _in_session(make_connection(), _host_key) == _fingerprint_of(sshd.host_key_line)

    def test_changed_host_key_is_refused_before_authentication(
        self, make_connection: ConnectionFactory, sshd: SshServer, impostor_sshd: SshServer
    ):
        # The connection pins the real server's key but the "network" leads to the impostor.
        conn_id = make_connection(port=impostor_sshd.port)
        log_before = _sshd_log(impostor_sshd)
        with pytest.raises(HostKeyError) as refused:
            _in_session(conn_id, _host_key)
        message = str(refused.value)
        assert _fingerprint_of(impostor_sshd.host_key_line) in message
        assert _fingerprint_of(sshd.host_key_line) in message
        assert conn_id in message
        # The impostor never saw an authentication attempt: we hung up during key exchange.
        new_log = _sshd_log(impostor_sshd)[len(log_before) :]
        assert "Accepted publickey" not in new_log
        assert "Failed publickey" not in new_log
        assert "Postponed publickey" not in new_log

    def test_missing_pin_is_refused_and_shows_offered_fingerprint(
        self, make_connection: ConnectionFactory, sshd: SshServer
    ):
        conn_id = make_connection(host_key=None)
        with pytest.raises(HostKeyError, match="no host key is pinned") as refused:
            _in_session(conn_id, _host_key)
        assert _fingerprint_of(sshd.host_key_line) in str(refused.value)

    def test_pin_of_another_key_type_is_refused(self, make_connection: ConnectionFactory, tmp_path: Path):
        rsa_path = tmp_path / "other_rsa"
        subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(rsa_path)], check=True)
        conn_id = make_connection(host_key=Path(f"{rsa_path}.pub").read_text())
        with pytest.raises(HostKeyError, match="Refusing to connect"):
            _in_session(conn_id, _host_key)

    def test_known_hosts_line_is_accepted_as_pin(self, make_connection: ConnectionFactory, sshd: SshServer):
        conn_id = make_connection(host_key=f"# partner key\n[127.0.0.1]:{sshd.port} {sshd.host_key_line}\n")
        assert _in_session(conn_id, _host_key) == _fingerprint_of(sshd.host_key_line)


class TestAuthentication:
    def test_ssh_key_auth_against_real_sshd(self, make_connection: ConnectionFactory, sshd: SshServer):
        assert _in_session(make_connection(), lambda session: session.list_location("inbound")) == []
        assert f"Accepted publickey for {sshd.user.name}" in _sshd_log(sshd)

    def test_unauthorised_key_is_refused(self, make_connection: ConnectionFactory):
        stranger = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
        conn_id = make_connection(ssh_private_key=stranger)
        with pytest.raises(AuthenticationError, match="refused SSH key authentication") as refused:
            _in_session(conn_id, _host_key)
        assert "BEGIN OPENSSH PRIVATE KEY" not in str(refused.value)

    @pytest.mark.skipif(not running_as_root(), reason="sshd checks other users' passwords only as root")
    def test_password_auth_against_real_sshd(self, make_connection: ConnectionFactory, sshd: SshServer):
        conn_id = make_connection(auth_type="password", password=sshd.user.password, ssh_private_key=None)
        assert _in_session(conn_id, lambda session: session.list_location("outbound")) == []
        assert f"Accepted password for {sshd.user.name}" in _sshd_log(sshd)

    @pytest.mark.skipif(not running_as_root(), reason="sshd checks other users' passwords only as root")
    def test_wrong_password_is_refused(self, make_connection: ConnectionFactory, sshd: SshServer):
        conn_id = make_connection(auth_type="password", password="not-the-password", ssh_private_key=None)
        with pytest.raises(AuthenticationError, match="refused password authentication") as refused:
            _in_session(conn_id, _host_key)
        assert "not-the-password" not in str(refused.value)

    def test_password_auth_in_process_server(self, make_connection: ConnectionFactory, tmp_path: Path):
        """Password auth where sshd cannot check passwords (non-root runs) — runs everywhere."""
        from partner_sandbox.inprocess_server import start_password_server

        (tmp_path / "in").mkdir()
        server = start_password_server(tmp_path, "partner", "s3cret-pass")
        try:
            conn_id = make_connection(
                host=server.host,
                port=server.port,
                login="partner",
                auth_type="password",
                password="s3cret-pass",
                ssh_private_key=None,
                host_key=server.host_key_line,
                locations={"inbound": "/in"},
            )
            assert _in_session(conn_id, lambda session: session.list_location("inbound")) == []
        finally:
            server.stop()

    def test_unreachable_server_is_a_clear_error(self, make_connection: ConnectionFactory):
        from partner_sandbox.sshd import free_port

        conn_id = make_connection(port=free_port(), connect_timeout=5)
        with pytest.raises(RemoteConnectError, match=f"{conn_id!r}: cannot reach 127.0.0.1:"):
            _in_session(conn_id, _host_key)


def test_one_session_serves_many_calls(make_connection: ConnectionFactory, sshd: SshServer):
    """One SSH connection and SFTP channel carry every call made on a session: one authentication."""

    async def many_listings(session: AsyncSftpSession) -> None:
        for _ in range(20):
            await session.list_location("inbound")
            await session.list_location("outbound")

    accepted_before = _sshd_log(sshd).count("Accepted publickey")
    _in_session(make_connection(), many_listings)
    assert _sshd_log(sshd).count("Accepted publickey") == accepted_before + 1


def test_a_session_reconnects_in_place_once_for_callers_who_saw_the_same_cut(
    make_connection: ConnectionFactory, sshd: SshServer
):
    """Issue 22: a cut connection is replaced in the same session object (what the hook closes), by one new
    connection whoever asks; the dead one's requests fail as lost."""

    async def cut_then_reconnect(session: AsyncSftpSession) -> tuple[int, bool, list[str]]:
        dead = session.ssh
        dead.abort()  # the network fault
        with pytest.raises(RemoteLocationError, match="the connection was lost"):
            await session.list_location("inbound")
        await asyncio.gather(*(session.reconnect(0) for _ in range(3)))  # three files saw generation 0 fail
        await session.reconnect(0)  # a late one: the session moved on
        names = [entry.name for entry in await session.list_location("inbound")]
        return session.generation, session.ssh is dead, names

    accepted_before = _sshd_log(sshd).count("Accepted publickey")
    generation, same, _ = _in_session(make_connection(), cut_then_reconnect)
    assert (generation, same) == (1, False)
    assert _sshd_log(sshd).count("Accepted publickey") == accepted_before + 2


class TestSshLibraryLogging:
    @pytest.fixture(autouse=True)
    def _library_logger_unset(self, monkeypatch: pytest.MonkeyPatch):
        """Each case starts as a fresh task process does: nobody has set asyncssh's level."""
        monkeypatch.setattr(logging.getLogger("asyncssh"), "level", logging.NOTSET)
        monkeypatch.delenv("AIRFLOW__LOGGING__NAMESPACE_LEVELS", raising=False)

    def test_a_session_leaves_asyncssh_at_warning(
        self, make_connection: ConnectionFactory, caplog: pytest.LogCaptureFixture
    ):
        caplog.set_level(logging.INFO)
        caplog.set_level(logging.INFO, logger="airflow_provider_actito_sftp")
        _in_session(make_connection(), _host_key)
        assert logging.getLogger("asyncssh").level == logging.WARNING
        assert [record.getMessage() for record in caplog.records if record.name.startswith("asyncssh")] == []
        assert any(record.name.startswith("airflow_provider_actito_sftp") for record in caplog.records)

    def test_a_level_the_deployment_chose_wins(
        self, make_connection: ConnectionFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ):
        conn_id = make_connection()
        caplog.set_level(logging.INFO)
        monkeypatch.setenv("AIRFLOW__LOGGING__NAMESPACE_LEVELS", "asyncssh=info")
        _in_session(conn_id, _host_key)
        assert logging.getLogger("asyncssh").level == logging.NOTSET
        assert any("[conn=" in record.getMessage() for record in caplog.records if record.name == "asyncssh")
        monkeypatch.delenv("AIRFLOW__LOGGING__NAMESPACE_LEVELS")
        logging.getLogger("asyncssh").setLevel(logging.DEBUG)
        _in_session(conn_id, _host_key)
        assert logging.getLogger("asyncssh").level == logging.DEBUG


@pytest.mark.parametrize("key_type", ["ed25519", "rsa", "ecdsa"])
def test_a_session_negotiates_the_pinned_key_of_a_server_that_holds_several(
    make_connection: ConnectionFactory, multi_key_sshd: SshServer, key_type: str
):
    """Whichever of the server's keys is pinned, the session negotiates that key's algorithm and connects."""
    pinned = multi_key_sshd.host_key_lines[key_type]
    conn_id = make_connection(port=multi_key_sshd.port, host_key=pinned)
    assert _in_session(conn_id, _host_key) == _fingerprint_of(pinned)


class TestOddServers:
    """Issue 21.7 and 21.13: a server that talks garbage, and one whose SFTP subsystem never answers."""

    def test_garbage_after_the_version_is_a_worded_connect_error(self, make_connection: ConnectionFactory):
        from tests.support.rogue_ssh import RogueSshServer

        with RogueSshServer() as rogue:
            conn_id = make_connection(port=rogue.port, connect_timeout=10)
            with pytest.raises(RemoteConnectError) as refused:
                _in_session(conn_id, _host_key)
        assert str(refused.value) == (
            f"Connection {conn_id!r}: the server at 127.0.0.1:{rogue.port} broke the SSH protocol: "
            "a malformed packet (Incomplete packet)"
        )

    def test_a_server_that_never_greets_is_named_as_such_within_connect_timeout(
        self, make_connection: ConnectionFactory
    ):
        """Issue 26.5: it took the TCP connection but sent no SSH greeting (no bare "cannot reach")."""
        from tests.support.rogue_ssh import SilentServer, call_bounded

        listener = SilentServer()
        try:
            conn_id = make_connection(port=listener.port, connect_timeout=1)
            with pytest.raises(RemoteConnectError) as silent:
                call_bounded(lambda: _in_session(conn_id, _host_key))
        finally:
            listener.close()
        assert str(silent.value).startswith(
            f"Connection {conn_id!r}: the server at 127.0.0.1:{listener.port} accepted the TCP connection but sent "
            "no SSH greeting within 1 s (connect_timeout)"
        )

    def test_an_sftp_subsystem_that_never_answers_fails_within_connect_timeout(
        self, make_connection: ConnectionFactory, mute_sftp_sshd: SshServer
    ):
        from airflow_provider_actito_sftp.exceptions import SftpSubsystemError
        from tests.support.rogue_ssh import call_bounded

        conn_id = make_connection(port=mute_sftp_sshd.port, host_key=mute_sftp_sshd.host_key_line, connect_timeout=2)
        with pytest.raises(SftpSubsystemError) as silent:
            call_bounded(lambda: _in_session(conn_id, _host_key))
        assert str(silent.value) == (
            f"Connection {conn_id!r} to 127.0.0.1:{mute_sftp_sshd.port}: the server did not start its SFTP "
            "subsystem within 2 s (connect_timeout)"
        )


def test_the_connect_options_carry_no_credential(make_connection: ConnectionFactory, sshd: SshServer) -> None:
    """Our key and password are handed out by ssh/login.LoginClient as the server asks, never through asyncssh's
    options (which would also try them where the auth type does not use them)."""
    from airflow.sdk import BaseHook

    from airflow_provider_actito_sftp.ssh.session import connect_options

    conn_id = make_connection(auth_type="ssh_key_and_password", password="pw")
    options = connect_options(parse_connection(BaseHook.get_connection(conn_id)))
    assert (options["client_keys"], options["password"], options["agent_path"]) == (None, None, None)
    assert options["preferred_auth"] == "publickey,keyboard-interactive,password"


class TestLegacyAlgorithms:
    """Issue 26.2: SHA-1 host key signatures and CBC ciphers are offered only to a server whose connection accepts
    them (a real session on such servers: tests/integration/test_interop_legacy_servers.py)."""

    RSA_HOST_KEY = asyncssh.generate_private_key("ssh-rsa", key_size=2048).export_public_key().decode().strip()
    OUR_KEY = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()

    def options(self, **extra: str) -> dict[str, Any]:
        import json

        from airflow.sdk import Connection

        from airflow_provider_actito_sftp.ssh.session import connect_options

        fields = {"entity": "e", "ssh_private_key": self.OUR_KEY, "host_key": self.RSA_HOST_KEY, **extra}
        conn = Connection(conn_id="legacy", conn_type="actito_sftp", host="h", login="u", extra=json.dumps(fields))
        return connect_options(parse_connection(conn))

    def test_sha1_and_cbc_only_where_the_connection_accepts_them(self):
        plain = self.options()
        assert plain["server_host_key_algs"][:2] == ["rsa-sha2-256", "rsa-sha2-512"]  # the pinned RSA key, SHA-2
        assert "ssh-rsa" not in plain["server_host_key_algs"]
        assert not [name for name in plain["encryption_algs"] if name.endswith("-cbc")]

        legacy = self.options(legacy_algorithms="ssh-rsa,cbc", ciphers="aes256-ctr")
        assert legacy["server_host_key_algs"][-1] == "ssh-rsa"
        assert legacy["encryption_algs"] == ["aes256-ctr", "aes128-cbc", "aes192-cbc", "aes256-cbc"]
