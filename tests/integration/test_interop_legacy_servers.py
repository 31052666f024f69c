"""The interoperability matrix, its legacy-server part (issue 26, points 2 and 4): OpenSSH servers that offer only
weaker algorithms (an RSA host key signing only with SHA-1 ``ssh-rsa``; only CBC ciphers) are set up through
``actito-sftp connection create`` without the opt-in (refused in words naming the cause and the fix) and with it
(``--legacy-algorithms``), then a real export or import runs on them. And a setup that looks like no attack: an
ed25519-only server's log shows one connection and no failed negotiation after a ``connection create``. The last
test checks the page's "legacy-servers" section says what the run measured.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from airflow_provider_actito_sftp.cli import cli
from airflow_provider_actito_sftp.exceptions import ConnectionConfigError
from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from partner_sandbox.sshd import SftpUser, SshServer, chown_tree, remove_server, start_sshd
from tests.cli.support import fingerprint_of
from tests.support.interop_cells import PLAINTEXT, export_cell, outcome_of, record_row
from tests.support.interop_matrix import Matrix, Table, check_section

LEGACY = "legacy"
MATRIX = Matrix(
    "legacy-servers",
    "tests/integration/test_interop_legacy_servers.py",
    {
        LEGACY: Table(
            "Legacy servers (weaker algorithms, accepted per connection)",
            "Weaker algorithms are never offered unless the connection accepts them for that server alone "
            "(`legacy_algorithms`: `--legacy-algorithms` in the CLI, *Legacy algorithms (weaker)* on the page). Each "
            "server set up with `actito-sftp connection create` (its host key fingerprint confirmed), then a real "
            "transfer with the connection created.",
            "Server: operation",
            ("result",),
        ),
    },
)
SHA1_ONLY = "OpenSSH, RSA host key signing only with SHA-1 (`HostKeyAlgorithms ssh-rsa`)"
CBC_ONLY = "OpenSSH, CBC ciphers only (`Ciphers aes128-cbc,aes256-cbc`)"
ED25519_ONLY = "OpenSSH, one ed25519 host key, `LogLevel VERBOSE`"

Cli = Callable[..., Result]


def _row(case: str, error: str | None, refused: str | None = None) -> None:
    record_row(MATRIX, LEGACY, case, error, refused)


def _server(sftp_user: SftpUser, **options: Any) -> Iterator[SshServer]:
    server = start_sshd(sftp_user, **options)
    try:
        yield server
    finally:
        remove_server(server)


@pytest.fixture(scope="module")
def sha1_sshd(sftp_user: SftpUser) -> Iterator[SshServer]:
    """An OpenSSH server whose only host key is RSA and signs only with SHA-1 (as OpenSSH before 7.2 did)."""
    yield from _server(
        sftp_user, host_key_type="rsa", extra_config=("HostKeyAlgorithms ssh-rsa", "PubkeyAcceptedAlgorithms +ssh-rsa")
    )


@pytest.fixture(scope="module")
def cbc_sshd(sftp_user: SftpUser) -> Iterator[SshServer]:
    """An OpenSSH server that offers only CBC ciphers."""
    yield from _server(sftp_user, extra_config=("Ciphers aes128-cbc,aes256-cbc",))


@pytest.fixture(scope="module")
def ed25519_only_sshd(sftp_user: SftpUser) -> Iterator[SshServer]:
    """An OpenSSH server with one ed25519 host key, logging each connection (``LogLevel VERBOSE``) to its file."""
    yield from _server(sftp_user)


@pytest.fixture
def run_cli(airflow_db: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """``actito-sftp`` against the test metadata DB; checks the exit code."""
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")
    runner = CliRunner()

    def run(*args: str, expect: int = 0) -> Result:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == expect, f"{args}: exit {result.exit_code}\n{result.stdout}{result.stderr}"
        return result

    return run


def _create(run_cli: Cli, conn_id: str, server: SshServer, *extra: str, expect: int = 0) -> Result:
    """``connection create`` against ``server``, its host key fingerprint confirmed, with an inbound and an outbound
    location on it."""
    folders = {name: server.make_folder(f"{conn_id}/{name}") for name in ("inbound", "outbound")}
    return run_cli(
        *("connection", "create", conn_id, "--entity", "acme", "--host", server.host, "--port", str(server.port)),
        *("--username", server.user.name, "--accept-host-key", fingerprint_of(server.host_key_line)),
        *(f"--location={name}={folder}" for name, folder in folders.items()),
        *extra,
        expect=expect,
    )


def _refusal(result: Result, server: SshServer) -> str:
    """The CLI's one-line error, without this run's port."""
    return (
        result.stderr.strip().removeprefix("actito-sftp: error: ").replace(f"{server.host}:{server.port}", "<server>")
    )


def _created(run_cli: Cli, conn_id: str, server: SshServer, *extra: str) -> str:
    """Create the connection and install its generated key on the server; returns the connection id."""
    created = json.loads(_create(run_cli, conn_id, server, *extra, "--json").stdout)
    server.add_authorized_key(created["ssh_key"]["public_key"])
    return conn_id


def test_a_server_signing_only_with_sha1(run_cli: Cli, sha1_sshd: SshServer, tmp_path: Path) -> None:
    refused = _create(run_cli, "legacy_sha1", sha1_sshd, expect=1)
    assert "Connection reset by peer" not in refused.stderr
    _row(f"{SHA1_ONLY}: connection create", _refusal(refused, sha1_sshd), "--legacy-algorithms ssh-rsa")

    conn_id = _created(run_cli, "legacy_sha1", sha1_sshd, "--legacy-algorithms", "ssh-rsa")
    _row(f"{SHA1_ONLY}: connection create --legacy-algorithms ssh-rsa, then export", export_cell(conn_id, tmp_path))
    assert len(list((sha1_sshd.data_root / "legacy_sha1" / "outbound").iterdir())) == 1

    run_cli("connection", "update", conn_id, "--legacy-algorithms", "")  # the opt-in taken back
    ok, message = ActitoSftpHook(conn_id).test_connection()
    _row(
        f"{SHA1_ONLY}: the same connection, the opt-in taken back: Test",
        None if ok else message.replace(f"{sha1_sshd.host}:{sha1_sshd.port}", "<server>"),
        "--legacy-algorithms ssh-rsa",
    )
    with pytest.raises(ConnectionConfigError) as refused_session:  # a task: the field named, not retried
        ActitoSftpHook(conn_id).list_location("outbound")
    assert (refused_session.value.field, refused_session.value.retryable) == ("legacy_algorithms", False)
    run_cli("connection", "delete", conn_id, "--yes")


def test_a_server_offering_only_cbc_ciphers(
    run_cli: Cli, cbc_sshd: SshServer, sftp_user: SftpUser, tmp_path: Path
) -> None:
    refused = _create(run_cli, "legacy_cbc", cbc_sshd, expect=1)
    assert "Connection reset by peer" not in refused.stderr
    _row(f"{CBC_ONLY}: connection create", _refusal(refused, cbc_sshd), "--legacy-algorithms cbc")

    conn_id = _created(run_cli, "legacy_cbc", cbc_sshd, "--legacy-algorithms", "cbc")
    inbound = cbc_sshd.data_root / "legacy_cbc" / "inbound"
    (inbound / "customers.csv").write_bytes(PLAINTEXT)
    chown_tree(inbound, sftp_user)
    result = ActitoSftpHook(conn_id).import_files(
        "inbound", tmp_path / "landing", owner="interop", after_import="delete", min_age=0
    )
    _row(f"{CBC_ONLY}: connection create --legacy-algorithms cbc, then import", outcome_of(result, "customers.csv"))
    assert (tmp_path / "landing" / "customers.csv").read_bytes() == PLAINTEXT
    run_cli("connection", "delete", conn_id, "--yes")


_CONNECTION_FROM = re.compile(r"^Connection from ", re.M)


def test_a_setup_leaves_one_connection_and_no_failed_negotiation_in_the_servers_log(
    run_cli: Cli, ed25519_only_sshd: SshServer
) -> None:
    """Issue 26.4: one probe per host key type left five "Unable to negotiate" lines per setup (fail2ban bans)."""
    server = ed25519_only_sshd
    before, sessions = len(server.log_path.read_text()), server.sessions()
    _create(run_cli, "quiet_setup", server)
    assert server.wait_for_sessions_to_end(sessions) == set()  # every line of the setup's connections is written
    logged = server.log_path.read_text()[before:]
    assert "Unable to negotiate" not in logged, logged
    assert len(_CONNECTION_FROM.findall(logged)) == 1, logged
    _row(f"{ED25519_ONLY}: connection create: the server logs one connection, no failed negotiation", None)
    run_cli("connection", "delete", "quiet_setup", "--yes")


# --- the page ----------------------------------------------------------------------------------------------------

EXPECTED_CELLS = 3 + 2 + 1


@pytest.mark.server  # it reads what the module's server tests measured: not in the fast tier, which runs none
def test_the_interoperability_page_shows_this_run() -> None:
    """docs/interoperability.md's "legacy-servers" section says what this run measured (``UPDATE_DOCS=1`` writes
    it)."""
    check_section(MATRIX, EXPECTED_CELLS)
