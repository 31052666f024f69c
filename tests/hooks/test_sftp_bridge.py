"""Airflow's SFTPHook / SFTPOperator on an ``actito_sftp`` connection (``ActitoSftpHook.get_sftp_hook``), against
real OpenSSH servers: files really move with key and password auth; a server whose key is not pinned is refused
(nothing added to any known_hosts, whatever SSH extras the connection holds); several pins; the allow-list and
connect_timeout apply; the deferrable path (which would hand the connection to the SSH provider) is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import asyncssh
import paramiko
import pytest
from airflow.providers.sftp.exceptions import SFTPOperationError
from airflow.providers.sftp.operators.sftp import SFTPOperator

from airflow_provider_actito_sftp.exceptions import (
    AuthenticationError,
    ConnectionConfigError,
    HostKeyError,
    RemoteConnectError,
    SftpSubsystemError,
    TargetNotAllowedError,
)
from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from airflow_provider_actito_sftp.hooks.sftp_bridge import PinnedSFTPHook
from airflow_provider_actito_sftp.ssh.host_keys import fingerprint
from partner_sandbox.sshd import SftpUser, SshServer, chown_tree, remove_server, running_as_root, start_sshd
from tests.conftest import ConnectionFactory
from tests.support.rogue_ssh import SilentServer, call_bounded

AUTHS = [
    "ssh_key",
    pytest.param(
        "password",
        marks=pytest.mark.skipif(not running_as_root(), reason="sshd checks other users' passwords only as root"),
    ),
]


@pytest.fixture
def remote(sshd: SshServer, tmp_path: Path) -> Path:
    """A folder on the real server of this test alone (the server is not chrooted: its path is the local one)."""
    return sshd.make_folder(f"sftp_bridge/{tmp_path.name}")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HOME: whatever reads or writes ~/.ssh would show there."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    return folder


def _connection(make_connection: ConnectionFactory, sshd: SshServer, auth: str, **overrides: object) -> str:
    if auth == "password":
        overrides |= {"auth_type": "password", "password": sshd.user.password, "ssh_private_key": None}
    return make_connection("bridge", **overrides)


def _fingerprint_of(public_line: str) -> str:
    return fingerprint(asyncssh.import_public_key(public_line))


def _sshd_log(server: SshServer) -> str:
    return server.log_path.read_text(errors="replace")


@pytest.mark.parametrize("auth", AUTHS)
def test_sftp_operator_puts_a_file(
    make_connection: ConnectionFactory, sshd: SshServer, remote: Path, tmp_path: Path, home: Path, auth: str
):
    local = tmp_path / "segment.csv"
    local.write_bytes(b"id;email\n1;a@example.com\n")
    operator = SFTPOperator(
        task_id="put",
        sftp_hook=ActitoSftpHook(_connection(make_connection, sshd, auth)).get_sftp_hook(),
        local_filepath=str(local),
        remote_filepath=str(remote / "segment.csv"),
        operation="put",
    )
    log_before = _sshd_log(sshd)
    operator.execute({})
    assert (remote / "segment.csv").read_bytes() == b"id;email\n1;a@example.com\n"
    method = "password" if auth == "password" else "publickey"
    assert f"Accepted {method} for {sshd.user.name}" in _sshd_log(sshd)[len(log_before) :]
    assert not (home / ".ssh").exists()


@pytest.mark.parametrize("auth", AUTHS)
def test_sftp_operator_gets_a_file(
    make_connection: ConnectionFactory, sshd: SshServer, remote: Path, tmp_path: Path, auth: str
):
    (remote / "report.csv").write_bytes(b"delivered;42\n")
    chown_tree(remote, sshd.user)
    local = tmp_path / "in" / "report.csv"
    SFTPOperator(
        task_id="get",
        sftp_hook=ActitoSftpHook(_connection(make_connection, sshd, auth)).get_sftp_hook(),
        local_filepath=str(local),
        remote_filepath=str(remote / "report.csv"),
        operation="get",
        create_intermediate_dirs=True,
    ).execute({})
    assert local.read_bytes() == b"delivered;42\n"


def test_the_hook_in_a_task_moves_a_file_and_leaves_no_session_open(
    make_connection: ConnectionFactory, sshd: SshServer, remote: Path, tmp_path: Path
):
    """The README's first form: the hook built when the task runs, one SFTPHook call, its connection closed."""
    (remote / "manual.pdf").write_bytes(b"%PDF-1.7\n")
    chown_tree(remote, sshd.user)
    local = tmp_path / "manual.pdf"
    conn_id = make_connection("bridge")
    sessions_before = sshd.sessions()
    ActitoSftpHook(conn_id).get_sftp_hook().retrieve_file(str(remote / "manual.pdf"), str(local))
    assert local.read_bytes() == b"%PDF-1.7\n"
    assert sshd.wait_for_sessions_to_end(sessions_before, timeout=5) == set()


def test_a_folder_put_concurrently_uses_pinned_worker_connections(
    make_connection: ConnectionFactory, sshd: SshServer, remote: Path, tmp_path: Path
):
    """SFTPHook opens one more connection per worker (``_build_worker_hook``): those are pinned too."""
    source = tmp_path / "batch"
    source.mkdir()
    for number in range(4):
        (source / f"part-{number}.csv").write_text(f"part {number}\n")
    hook = ActitoSftpHook(make_connection("bridge")).get_sftp_hook()
    assert isinstance(hook._build_worker_hook(), PinnedSFTPHook)
    sessions_before = sshd.sessions()
    SFTPOperator(
        task_id="put_folder",
        sftp_hook=hook,
        local_filepath=str(source),
        remote_filepath=str(remote / "batch"),
        operation="put",
        concurrency=2,
    ).execute({})
    assert sorted(path.read_text() for path in (remote / "batch").iterdir()) == [f"part {n}\n" for n in range(4)]
    # SFTPHook closes only its workers' SFTP clients: their SSH connections must close with them, not linger
    assert sshd.wait_for_sessions_to_end(sessions_before, timeout=5) == set()


def test_an_impostor_is_refused_and_nothing_is_added_to_known_hosts(
    make_connection: ConnectionFactory, sshd: SshServer, impostor_sshd: SshServer, tmp_path: Path, home: Path
):
    """The connection pins the real server's key, the "network" leads to the impostor, and the connection also
    holds the SSH provider's extras that would turn checking off: SSHHook never reads them."""
    conn_id = make_connection(
        "bridge", port=impostor_sshd.port, no_host_key_check=True, allow_host_key_change=True, look_for_keys=True
    )
    local = tmp_path / "secret.csv"
    local.write_text("not for the impostor\n")
    hook = ActitoSftpHook(conn_id).get_sftp_hook()
    log_before = _sshd_log(impostor_sshd)
    with pytest.raises(SFTPOperationError) as refused:
        SFTPOperator(
            task_id="put",
            sftp_hook=hook,
            local_filepath=str(local),
            remote_filepath=str(impostor_sshd.data_root / "secret.csv"),
            operation="put",
        ).execute({})
    assert isinstance(refused.value.__cause__, HostKeyError)
    message = str(refused.value)
    assert f"the server offered {_fingerprint_of(impostor_sshd.host_key_line)}" in message
    assert f"the pinned host key is {_fingerprint_of(sshd.host_key_line)}" in message
    assert "man-in-the-middle" in message
    assert not (impostor_sshd.data_root / "secret.csv").exists()
    new_log = _sshd_log(impostor_sshd)[len(log_before) :]
    assert "publickey" not in new_log
    assert "password" not in new_log
    assert not (home / ".ssh").exists()
    assert not hook.no_host_key_check
    assert not hook.allow_host_key_change


def test_pins_of_several_types_are_negotiated(make_connection: ConnectionFactory, multi_key_sshd: SshServer):
    """Pins of several types, the server's ed25519 key not among them: only the pinned types are negotiated (the
    server shows its RSA or ECDSA key, not the ed25519 one it would prefer)."""
    lines = multi_key_sshd.host_key_lines
    pins = "\n".join([lines["rsa"], lines["ecdsa"]])
    hook = ActitoSftpHook(make_connection("bridge", port=multi_key_sshd.port, host_key=pins)).get_sftp_hook()
    with hook.get_managed_conn() as sftp:
        shown = sftp.get_channel().get_transport().get_remote_server_key()
        assert sftp.listdir(str(multi_key_sshd.data_root)) == []
    assert isinstance(shown, (paramiko.RSAKey, paramiko.ECDSAKey))
    assert shown.fingerprint in {_fingerprint_of(lines["rsa"]), _fingerprint_of(lines["ecdsa"])}


def test_two_pins_of_one_type_either_matches(
    make_connection: ConnectionFactory, multi_key_sshd: SshServer, impostor_sshd: SshServer
):
    """A partner moving to a new key: the old and the new ed25519 keys pinned, the server holds one of them."""
    pins = "\n".join([impostor_sshd.host_key_line, multi_key_sshd.host_key_lines["ed25519"]])
    hook = ActitoSftpHook(make_connection("bridge", port=multi_key_sshd.port, host_key=pins)).get_sftp_hook()
    assert hook.test_connection() == (True, "Connection successfully tested")


def test_the_allow_list_applies_before_any_packet(make_connection: ConnectionFactory, monkeypatch: pytest.MonkeyPatch):
    listener = SilentServer()
    try:
        monkeypatch.setenv("AIRFLOW__ACTITO_SFTP__ALLOWED_TARGETS", f"127.0.0.1:{listener.port + 1}")
        hook = ActitoSftpHook(make_connection("bridge", port=listener.port)).get_sftp_hook()
        with pytest.raises(TargetNotAllowedError, match=f"127.0.0.1:{listener.port} is not allowed"):
            hook.get_conn()
        assert listener.connections == 0
    finally:
        listener.close()


def test_connect_timeout_bounds_a_silent_server(make_connection: ConnectionFactory):
    listener = SilentServer()
    try:
        hook = ActitoSftpHook(make_connection("bridge", port=listener.port, connect_timeout=1)).get_sftp_hook()
        with pytest.raises(RemoteConnectError, match=f"'bridge': cannot reach 127.0.0.1:{listener.port}"):
            call_bounded(hook.get_conn, 60)
        assert listener.connections == 1
    finally:
        listener.close()


def test_connect_timeout_bounds_the_sftp_start(make_connection: ConnectionFactory, mute_sftp_sshd: SshServer):
    conn_id = make_connection(
        "bridge", port=mute_sftp_sshd.port, host_key=mute_sftp_sshd.host_key_line, connect_timeout=2
    )
    hook = ActitoSftpHook(conn_id).get_sftp_hook()
    with pytest.raises(SftpSubsystemError, match="did not start its SFTP subsystem within 2 s"):
        call_bounded(hook.get_conn, 60)


def test_the_deferrable_path_is_refused(make_connection: ConnectionFactory, tmp_path: Path):
    """Its trigger would build the SSH provider's async hook on the connection's extras: the hook has no
    connection id to hand it, so the operator refuses before anything is sent."""
    (tmp_path / "a.csv").write_text("a\n")
    operator = SFTPOperator(
        task_id="put",
        sftp_hook=ActitoSftpHook(make_connection("bridge")).get_sftp_hook(),
        local_filepath=str(tmp_path / "a.csv"),
        remote_filepath="/tmp/a.csv",
        operation="put",
        deferrable=True,
    )
    with pytest.raises(ValueError, match="deferrable=True requires a connection id"):
        operator.execute({})


def test_no_secret_on_the_hook(make_connection: ConnectionFactory):
    """The secrets stay in the settings: SSHHook's password, key file and key attributes are empty."""
    hook = ActitoSftpHook(make_connection("bridge", auth_type="password", password="s3cret")).get_sftp_hook()
    assert hook.password is None
    assert hook.pkey is None
    assert hook.key_file is None
    assert hook.ssh_conn_id is None
    assert hook.host_proxy_cmd is None


def test_a_server_holding_no_key_of_a_pinned_type_is_refused_naming_its_key(
    make_connection: ConnectionFactory, sshd: SshServer, multi_key_sshd: SshServer
):
    """Only the pinned types are offered, so the key exchange fails: the error names the key the server holds."""
    conn_id = make_connection("bridge", host_key=multi_key_sshd.host_key_lines["rsa"])  # sshd holds ed25519 only
    with pytest.raises(HostKeyError) as refused:
        ActitoSftpHook(conn_id).get_sftp_hook().get_conn()
    assert refused.value.offered_fingerprint == _fingerprint_of(sshd.host_key_line)
    assert refused.value.pinned_fingerprints == (_fingerprint_of(multi_key_sshd.host_key_lines["rsa"]),)


@pytest.mark.skipif(not running_as_root(), reason="sshd checks other users' passwords only as root")
def test_a_wrong_password_is_refused_without_showing_it(make_connection: ConnectionFactory, sshd: SshServer):
    conn_id = make_connection("bridge", auth_type="password", password="not-the-password-42", ssh_private_key=None)
    with pytest.raises(AuthenticationError, match="refused password authentication for user") as refused:
        ActitoSftpHook(conn_id).get_sftp_hook().get_conn()
    assert "not-the-password-42" not in str(refused.value)


def test_ciphers_paramiko_lacks_are_a_configuration_error(make_connection: ConnectionFactory):
    hook = ActitoSftpHook(make_connection("bridge", ciphers="chacha20-poly1305@openssh.com")).get_sftp_hook()
    with pytest.raises(ConnectionConfigError, match="none of the ciphers") as refused:
        hook.get_conn()
    assert refused.value.field == "ciphers"


@pytest.fixture(scope="module")
def sha1_only_sshd(sftp_user: SftpUser, client_key: str) -> Iterator[SshServer]:
    """An OpenSSH server whose only host key is RSA and signs only with SHA-1 (as OpenSSH before 7.2 did)."""
    server = start_sshd(
        sftp_user, host_key_type="rsa", extra_config=("HostKeyAlgorithms ssh-rsa", "PubkeyAcceptedAlgorithms +ssh-rsa")
    )
    server.add_authorized_key(asyncssh.import_private_key(client_key).export_public_key().decode().strip())
    yield server
    remove_server(server)


def test_sha1_host_key_signatures_are_refused_by_the_bridge_with_or_without_the_opt_in(
    make_connection: ConnectionFactory, sha1_only_sshd: SshServer
):
    """paramiko 5 has no SHA-1 ``ssh-rsa`` host key signatures at all (our sessions offer them with
    ``legacy_algorithms``): the bridge refuses such a server, naming what it lacks, either way."""
    pinned = {"port": sha1_only_sshd.port, "host_key": sha1_only_sshd.host_key_line}
    for conn_id, legacy in (("bridge", ""), ("bridge_sha1", "ssh-rsa")):
        ok, message = (
            ActitoSftpHook(make_connection(conn_id, **pinned, legacy_algorithms=legacy))
            .get_sftp_hook()
            .test_connection()
        )
        assert not ok
        assert "no SHA-1 ssh-rsa host key signatures" in message
