"""ActitoSftpHook against real OpenSSH servers: host key pinning, both auth types, locations, Test button."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import asyncssh
import pytest

from airflow_provider_actito_sftp.exceptions import (
    AuthenticationError,
    HostKeyError,
    RemoteConnectError,
    UnknownLocationError,
)
from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from airflow_provider_actito_sftp.ssh.host_keys import fingerprint
from tests.conftest import ConnectionFactory
from tests.support.sshd import SshServer, chown_tree, running_as_root


def _fingerprint_of(public_line: str) -> str:
    return fingerprint(asyncssh.import_public_key(public_line))


def _sshd_log(server: SshServer) -> str:
    return server.log_path.read_text(errors="replace")


class TestHostKeyPinning:
    def test_pinned_key_connects_and_reports_fingerprint(self, make_connection: ConnectionFactory, sshd: SshServer):
        with ActitoSftpHook(make_connection()) as session:
            assert session.host_key_fingerprint == _fingerprint_of(sshd.host_key_line)

    def test_changed_host_key_is_refused_before_authentication(
        self, make_connection: ConnectionFactory, sshd: SshServer, impostor_sshd: SshServer
    ):
        # The connection pins the real server's key but the "network" leads to the impostor.
        conn_id = make_connection(port=impostor_sshd.port)
        log_before = _sshd_log(impostor_sshd)
        with pytest.raises(HostKeyError) as refused:
            ActitoSftpHook(conn_id).get_conn()
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
            ActitoSftpHook(conn_id).get_conn()
        assert _fingerprint_of(sshd.host_key_line) in str(refused.value)

    def test_pin_of_another_key_type_is_refused(self, make_connection: ConnectionFactory, tmp_path: Path):
        rsa_path = tmp_path / "other_rsa"
        subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(rsa_path)], check=True)
        conn_id = make_connection(host_key=Path(f"{rsa_path}.pub").read_text())
        with pytest.raises(HostKeyError, match="Refusing to connect"):
            ActitoSftpHook(conn_id).get_conn()

    def test_known_hosts_line_is_accepted_as_pin(self, make_connection: ConnectionFactory, sshd: SshServer):
        conn_id = make_connection(host_key=f"# partner key\n[127.0.0.1]:{sshd.port} {sshd.host_key_line}\n")
        with ActitoSftpHook(conn_id) as session:
            assert session.host_key_fingerprint == _fingerprint_of(sshd.host_key_line)


class TestAuthentication:
    def test_ssh_key_auth_against_real_sshd(self, make_connection: ConnectionFactory, sshd: SshServer):
        with ActitoSftpHook(make_connection()) as session:
            assert session.list_location("inbound") == []
        assert f"Accepted publickey for {sshd.user.name}" in _sshd_log(sshd)

    def test_unauthorised_key_is_refused(self, make_connection: ConnectionFactory):
        stranger = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
        conn_id = make_connection(ssh_private_key=stranger)
        with pytest.raises(AuthenticationError, match="refused ssh_key authentication") as refused:
            ActitoSftpHook(conn_id).get_conn()
        assert "BEGIN OPENSSH PRIVATE KEY" not in str(refused.value)

    @pytest.mark.skipif(not running_as_root(), reason="sshd checks other users' passwords only as root")
    def test_password_auth_against_real_sshd(self, make_connection: ConnectionFactory, sshd: SshServer):
        conn_id = make_connection(auth_type="password", password=sshd.user.password, ssh_private_key=None)
        with ActitoSftpHook(conn_id) as session:
            assert session.list_location("outbound") == []
        assert f"Accepted password for {sshd.user.name}" in _sshd_log(sshd)

    @pytest.mark.skipif(not running_as_root(), reason="sshd checks other users' passwords only as root")
    def test_wrong_password_is_refused(self, make_connection: ConnectionFactory, sshd: SshServer):
        conn_id = make_connection(auth_type="password", password="not-the-password", ssh_private_key=None)
        with pytest.raises(AuthenticationError, match="refused password authentication") as refused:
            ActitoSftpHook(conn_id).get_conn()
        assert "not-the-password" not in str(refused.value)

    def test_password_auth_in_process_server(self, make_connection: ConnectionFactory, tmp_path: Path):
        """Password auth where sshd cannot check passwords (non-root runs) — runs everywhere."""
        from tests.support.inprocess_server import start_password_server

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
            with ActitoSftpHook(conn_id) as session:
                assert session.list_location("inbound") == []
        finally:
            server.stop()

    def test_unreachable_server_is_a_clear_error(self, make_connection: ConnectionFactory):
        from tests.support.sshd import free_port

        conn_id = make_connection(port=free_port(), connect_timeout=5)
        with pytest.raises(RemoteConnectError, match=f"{conn_id!r}: cannot reach 127.0.0.1:"):
            ActitoSftpHook(conn_id).get_conn()


class TestLocations:
    def test_listing_returns_name_size_mtime_and_kind(
        self, make_connection: ConnectionFactory, sshd: SshServer, locations: dict[str, str]
    ):
        folder = Path(locations["inbound"]) / "listing"
        folder.mkdir()
        (folder / "customers.csv").write_bytes(b"id;email\n1;a@example.com\n")
        (folder / "empty.csv").write_bytes(b"")
        (folder / "sub").mkdir()
        mtime = time.time() - 3600
        os.utime(folder / "customers.csv", (mtime, mtime))
        chown_tree(folder, sshd.user)
        conn_id = make_connection(locations={"listing": str(folder)})
        with ActitoSftpHook(conn_id) as session:
            entries = session.list_location("listing")
        assert [entry.name for entry in entries] == ["customers.csv", "empty.csv", "sub"]
        customers, empty, sub = entries
        assert customers.size == 25
        assert customers.path == f"{folder}/customers.csv"
        assert abs(customers.mtime.timestamp() - int(mtime)) < 1
        assert customers.is_file
        assert not customers.is_dir
        assert empty.size == 0
        assert sub.is_dir
        assert not sub.is_file

    def test_unknown_location_lists_known_names(self, make_connection: ConnectionFactory):
        with ActitoSftpHook(make_connection()) as session, pytest.raises(UnknownLocationError) as unknown:
            session.list_location("inbox")
        assert str(unknown.value) == (
            "Connection 'actito_test': unknown location 'inbox'; known locations: 'inbound', 'outbound'"
        )

    def test_session_cannot_be_used_after_close(self, make_connection: ConnectionFactory):
        with ActitoSftpHook(make_connection()) as session:
            session.list_location("inbound")
        with pytest.raises(RuntimeError, match="this session is closed"):
            session.list_location("inbound")

    def test_one_session_serves_many_calls(self, make_connection: ConnectionFactory, sshd: SshServer):
        accepted_before = _sshd_log(sshd).count("Accepted publickey")
        with ActitoSftpHook(make_connection()) as session:
            for _ in range(20):
                session.list_location("inbound")
                session.list_location("outbound")
        assert _sshd_log(sshd).count("Accepted publickey") == accepted_before + 1


class TestTestConnection:
    def test_success_reports_fingerprint_and_locations(
        self, make_connection: ConnectionFactory, sshd: SshServer, locations: dict[str, str]
    ):
        ok, message = ActitoSftpHook(make_connection()).test_connection()
        assert ok, message
        assert _fingerprint_of(sshd.host_key_line) in message
        assert f"inbound ({locations['inbound']})" in message
        assert f"outbound ({locations['outbound']})" in message

    def test_missing_location_folder_fails_with_its_name(
        self, make_connection: ConnectionFactory, locations: dict[str, str]
    ):
        conn_id = make_connection(locations={**locations, "archive": "/no/such/archive"})
        ok, message = ActitoSftpHook(conn_id).test_connection()
        assert not ok
        assert message == (
            "Connection 'actito_test', location 'archive' (/no/such/archive): the folder does not exist on the server"
        )

    def test_location_that_is_a_file_fails(self, make_connection: ConnectionFactory, sshd: SshServer):
        file_path = sshd.data_root / "not-a-folder.txt"
        file_path.write_text("x")
        conn_id = make_connection(locations={"inbound": str(file_path)})
        ok, message = ActitoSftpHook(conn_id).test_connection()
        assert not ok
        assert message.endswith("is not a folder")

    def test_unreadable_location_fails(self, make_connection: ConnectionFactory, sshd: SshServer):
        if not running_as_root():
            pytest.skip("needs a folder the test user cannot read, which only root can arrange")
        locked = sshd.data_root / "locked"
        locked.mkdir(mode=0o700, exist_ok=True)  # owned by root, unreadable for the test user
        conn_id = make_connection(locations={"locked": str(locked)})
        ok, message = ActitoSftpHook(conn_id).test_connection()
        assert not ok
        assert "location 'locked'" in message
        assert "permission denied" in message

    def test_host_key_mismatch_fails(self, make_connection: ConnectionFactory, impostor_sshd: SshServer):
        ok, message = ActitoSftpHook(make_connection(port=impostor_sshd.port)).test_connection()
        assert not ok
        assert _fingerprint_of(impostor_sshd.host_key_line) in message

    def test_invalid_field_fails_with_field_name(self, make_connection: ConnectionFactory):
        ok, message = ActitoSftpHook(make_connection(port=70000)).test_connection()
        assert not ok
        assert message == "Connection 'actito_test', field 'port': expected an integer from 1 to 65535, got 70000"


class TestConnectionStoredInMetadataDb:
    def test_hook_reads_a_db_connection_whose_secrets_are_encrypted_at_rest(
        self,
        airflow_db: Path,
        sshd: SshServer,
        client_key: str,
        locations: dict[str, str],
        monkeypatch: pytest.MonkeyPatch,
    ):
        # Outside a task, Airflow reads the metadata DB only in server processes (API server, scheduler),
        # which is where the UI "Test" button and the setup CLI run.
        monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")
        import json

        from airflow.models import Connection
        from airflow.utils.session import create_session
        from sqlalchemy import text

        extra = {
            "entity": "acme",
            "ssh_private_key": client_key,
            "host_key": sshd.host_key_line,
            "locations": locations,
        }
        with create_session() as db:
            db.query(Connection).filter(Connection.conn_id == "actito_db_conn").delete()
            db.add(
                Connection(
                    conn_id="actito_db_conn",
                    conn_type="actito_sftp",
                    host=sshd.host,
                    port=sshd.port,
                    login=sshd.user.name,
                    extra=json.dumps(extra),
                )
            )
        with create_session() as db:
            stored_extra, encrypted = db.execute(
                text("SELECT extra, is_extra_encrypted FROM connection WHERE conn_id = 'actito_db_conn'")
            ).one()
        assert encrypted
        assert "PRIVATE KEY" not in stored_extra
        with ActitoSftpHook("actito_db_conn") as session:
            assert session.settings.entity == "acme"
            assert session.list_location("outbound") == []
