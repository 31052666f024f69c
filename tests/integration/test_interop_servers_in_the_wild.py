"""The interoperability matrix, servers partners run beyond OpenSSH and ProFTPD (issue 26): dropbear with OpenSSH's
sftp-server, tinysshd (inetd-style under tcpserver), and OpenSSH jailing the user in a read-only root. Each is set
up as a user would (``actito-sftp connection create`` fetches and pins the host key, our generated key is installed
on the server), then imports and exports with the connection's default settings (keepalives on). The last test
checks the page's "servers-in-the-wild" section says what the run measured.

tinysshd (20230101, Debian 12's) answers OpenSSH's ``keepalive@openssh.com`` request with ``SSH_MSG_UNIMPLEMENTED``
instead of a reply: a session idle for four keepalive intervals used to end ("Server not responding to
keepalive") and its export left a ``.part`` (``ssh/stall_watch.count_any_reply_as_alive``, ``transfer/upload``).
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from airflow_provider_actito_sftp.cli import cli
from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from partner_sandbox.dropbear import DropbearServer, dropbear_version, start_dropbear, why_dropbear_cannot_run
from partner_sandbox.sshd import SftpUser, SshServer, chown_tree, remove_server, running_as_root, start_sshd
from partner_sandbox.tinysshd import TinysshServer, start_tinysshd, why_tinysshd_cannot_run
from tests.cli.support import fingerprint_of
from tests.conftest import ConnectionFactory
from tests.support.interop_cells import PLAINTEXT, export_cell, outcome_of, record_row
from tests.support.interop_matrix import Matrix, Table, check_section

WILD = "servers-in-the-wild"
MATRIX = Matrix(
    WILD,
    "tests/integration/test_interop_servers_in_the_wild.py",
    {
        WILD: Table(
            "Servers in the wild",
            "Set up as a user would: `actito-sftp connection create` fetches the server's host key and pins it, our "
            "generated key is installed on the server; then the operation with the default settings (keepalives "
            "every 30 s, lock suffix `.part`).",
            "Server: operation",
            ("result",),
        ),
    },
)
Server = DropbearServer | TinysshServer


def _row(case: str, error: str | None, refused: str | None = None) -> None:
    record_row(MATRIX, WILD, case, error, refused)


@pytest.fixture(scope="module")
def dropbear_sshd(sftp_user: SftpUser) -> Iterator[DropbearServer]:
    why_not = why_dropbear_cannot_run()
    if why_not is not None:
        pytest.skip(f"dropbear: {why_not} (.ci/run installs dropbear-bin and runs as root)")
    server = start_dropbear(sftp_user)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tinysshd(sftp_user: SftpUser) -> Iterator[TinysshServer]:
    why_not = why_tinysshd_cannot_run()
    if why_not is not None:
        pytest.skip(f"tinysshd: {why_not} (.ci/run installs tinysshd and ucspi-tcp and runs as root)")
    server = start_tinysshd(sftp_user)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def read_only_root_sshd(sftp_user: SftpUser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    """OpenSSH jailing the user (ChrootDirectory + internal-sftp) in a root-owned folder: only ``/data`` is
    writable. Its ``client-key`` is in its workdir."""
    if not running_as_root():
        pytest.skip("a chroot needs root (.ci/run runs as root)")
    from partner_sandbox.sshd import generate_ssh_key

    server = start_sshd(sftp_user, chroot=True)
    server.add_authorized_key(generate_ssh_key(server.workdir / "client-key"))
    yield server
    remove_server(server)


@pytest.fixture
def create_with_cli(airflow_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., dict[str, Any]]]:
    """``actito-sftp connection create NAME`` for a server, its host key confirmed by fingerprint, the
    ``inbound`` and ``outbound`` locations given; returns the printed JSON. The connections are deleted after."""
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")
    runner, created = CliRunner(), []

    def create(name: str, server: Server, folders: dict[str, Path]) -> dict[str, Any]:
        arguments = ["connection", "create", name, "--entity", "acme", "--host", server.host]
        arguments += ["--port", str(server.port), "--username", server.user.name, "--json"]
        arguments += ["--accept-host-key", fingerprint_of(server.host_key_line)]
        arguments += [f"--location={location}={folder}" for location, folder in folders.items()]
        result = runner.invoke(cli, arguments, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        created.append(name)
        shown: dict[str, Any] = json.loads(result.stdout)
        return shown

    yield create
    for name in created:
        runner.invoke(cli, ["connection", "delete", name, "--yes"], catch_exceptions=False)


def _set_up(create: Callable[..., dict[str, Any]], server: Server, name: str) -> tuple[str | None, dict[str, Path]]:
    """Create the connection with the CLI and install our key on the server: (None, or why the connection
    test failed; the server's folders by location)."""
    folders = {location: server.make_folder(f"{name}/{location}") for location in ("inbound", "outbound")}
    created = create(name, server, folders)
    assert created["host_key_fingerprint"] == fingerprint_of(server.host_key_line)  # fetched, checked, pinned
    server.install_key(created["ssh_key"]["public_key"])
    ok, message = ActitoSftpHook(name).test_connection()
    return (None if ok else message), folders


def _import(conn_id: str, inbound: Path, user: SftpUser, landing: Path) -> str | None:
    """Import a new ``customers.csv`` (delete after): None if it arrived whole and left the server."""
    (inbound / "customers.csv").write_bytes(PLAINTEXT)
    chown_tree(inbound, user)
    result = ActitoSftpHook(conn_id).import_files("inbound", landing, owner="wild", min_age=0, after_import="delete")
    error = outcome_of(result, "customers.csv")
    if error is None:
        assert (landing / "customers.csv").read_bytes() == PLAINTEXT
        assert list(inbound.iterdir()) == []
    return error


def _export(conn_id: str, outbound: Path, work: Path) -> str | None:
    """Export ``segment.csv`` under its lock name, then renamed: None if it arrived whole, nothing else left."""
    error = export_cell(conn_id, work)
    if error is None:
        assert sorted(path.name for path in outbound.iterdir()) == ["segment.csv"]  # no .part
        assert (outbound / "segment.csv").read_bytes() == PLAINTEXT
    return error


def test_dropbear_with_openssh_sftp_server(
    create_with_cli: Callable[..., dict[str, Any]], dropbear_sshd: DropbearServer, sftp_user: SftpUser, tmp_path: Path
) -> None:
    server = f"dropbear {dropbear_version()} with OpenSSH's sftp-server"
    problem, folders = _set_up(create_with_cli, dropbear_sshd, "wild_dropbear")
    _row(f"{server}: connection create (host key fetched and pinned)", problem)
    _row(f"{server}: import, after_import='delete'", _import("wild_dropbear", folders["inbound"], sftp_user, tmp_path))
    _row(f"{server}: export (locked: .part, then renamed)", _export("wild_dropbear", folders["outbound"], tmp_path))


def test_tinysshd(
    create_with_cli: Callable[..., dict[str, Any]], tinysshd: TinysshServer, sftp_user: SftpUser, tmp_path: Path
) -> None:
    server = "tinysshd (under tcpserver, OpenSSH's sftp-server)"
    problem, folders = _set_up(create_with_cli, tinysshd, "wild_tinysshd")
    _row(f"{server}: connection create (host key fetched and pinned)", problem)
    _row(f"{server}: import, after_import='delete'", _import("wild_tinysshd", folders["inbound"], sftp_user, tmp_path))
    _row(f"{server}: export (locked: .part, then renamed)", _export("wild_tinysshd", folders["outbound"], tmp_path))


class _PausingSource:
    """An export source (what ``export_files`` takes besides paths) whose reads go through ``on_read(number)``
    first: a slow store that pauses, or a cut arranged between two reads."""

    def __init__(self, name: str, data: bytes, on_read: Callable[[int], None]) -> None:
        self.name, self.data, self.on_read = name, data, on_read

    def is_file(self) -> bool:
        return True

    def stat(self) -> os.stat_result:
        return os.stat_result((0o100644, 0, 0, 1, 0, 0, len(self.data), 0, 0, 0))

    def open(self, mode: str) -> io.BytesIO:
        assert mode == "rb"
        source, reads = io.BytesIO(self.data), [0]
        read = source.read

        def paused_read(size: int | None = -1, /) -> bytes:
            reads[0] += 1
            self.on_read(reads[0])
            return read(size)

        source.read = paused_read  # type: ignore[method-assign]
        return source

    def __str__(self) -> str:
        return f"pausing://{self.name}"


def test_tinysshd_keepalives_and_a_cut_mid_export(
    make_connection: ConnectionFactory, tinysshd: TinysshServer, tmp_path: Path
) -> None:
    """Sessions with keepalives off start (tinysshd reads no packet that follows an SSH_MSG_IGNORE in the same read
    until more bytes arrive: asyncssh's IGNORE before every packet held the SFTP start until a keepalive came, and
    forever without keepalives; ``ssh/send_path`` sends none). tinysshd answers keepalives with
    SSH_MSG_UNIMPLEMENTED: a session idle for longer than four keepalive intervals (1 s here) goes on. Then its
    process is killed mid-export: the failed export removes its ``.part`` over a new connection, and the retry
    delivers the file."""
    from airflow_provider_actito_sftp.ssh.keys import generate_ssh_key
    from airflow_provider_actito_sftp.transfer.streams import WRITE_CHUNK

    server = "tinysshd (under tcpserver, OpenSSH's sftp-server)"
    pair = generate_ssh_key(comment="actito-sftp:wild_tinysshd_cut")
    tinysshd.install_key(pair.public_line)
    outbound = tinysshd.make_folder("cut/outbound")
    conn_id = make_connection(
        "wild_tinysshd_cut",
        port=tinysshd.port,
        ssh_private_key=pair.private_key,
        host_key=tinysshd.host_key_line,
        locations={"outbound": str(outbound)},
        keepalive_interval=1,
    )
    hook = ActitoSftpHook(conn_id)

    quiet = make_connection(
        "wild_tinysshd_quiet",
        port=tinysshd.port,
        ssh_private_key=pair.private_key,
        host_key=tinysshd.host_key_line,
        locations={"outbound": str(outbound)},
        keepalive_interval=0,
        connect_timeout=5,
    )
    tests = [ActitoSftpHook(quiet).test_connection() for _ in range(3)]
    problems = [message for ok, message in tests if not ok]
    _row(f"{server}: three sessions with keepalives off", problems[0] if problems else None)

    def idle_before_the_first_block(number: int) -> None:
        if number == 1:
            time.sleep(4.5)  # asyncssh's limit: 3 unanswered keepalives, the 4th interval ends the session

    idle = hook.export_files("outbound", [_PausingSource("idle.csv", PLAINTEXT, idle_before_the_first_block)])
    problems = [record.error for record in idle.failed + idle.refused]
    case = f"{server}: export idle for 4.5 s, keepalives every 1 s (answered with SSH_MSG_UNIMPLEMENTED)"
    _row(case, problems[0] if problems else None)
    assert sorted(path.name for path in outbound.iterdir()) == ["idle.csv"]

    killed: list[int] = []

    def kill_the_server_after_the_first_block(number: int) -> None:
        if number == 2:
            assert sorted(path.name for path in outbound.iterdir()) == ["idle.csv", "large.csv.part"]
            killed.extend(tinysshd.kill_connections())
            deadline = time.monotonic() + 10
            while set(killed) & set(tinysshd.sessions()) and time.monotonic() < deadline:
                time.sleep(0.02)

    data = os.urandom(2 * WRITE_CHUNK + 1000)
    cut = hook.export_files("outbound", [_PausingSource("large.csv", data, kill_the_server_after_the_first_block)])
    assert killed, "the export never read its second block"
    assert [record.retryable for record in cut.failed] == [True]  # a cut: the task's retry sends it again
    # The cut connection cannot remove the lock file: the retry writes over it and renames it into place.
    assert sorted(path.name for path in outbound.iterdir()) == ["idle.csv", "large.csv.part"]
    retry = hook.export_files("outbound", [_PausingSource("large.csv", data, lambda number: None)])
    delivered = [record.remote_path for record in retry.uploaded] == [f"{outbound}/large.csv"]
    left = sorted(path.name for path in outbound.iterdir())
    error = None if left == ["idle.csv", "large.csv"] and delivered else f"left on the server: {left}; {retry}"
    _row(f"{server}: export cut mid-way (its process killed), then the task's retry: delivered, no .part left", error)
    assert (outbound / "large.csv").read_bytes() == data
    assert sorted(path.name for path in outbound.iterdir()) == ["idle.csv", "large.csv"]


def test_openssh_chroot_with_a_read_only_root(
    make_connection: ConnectionFactory, read_only_root_sshd: SshServer, sftp_user: SftpUser, tmp_path: Path
) -> None:
    server = "OpenSSH, chroot with a read-only root (ChrootDirectory owned by root, writable subfolder only)"
    jail = read_only_root_sshd
    folders = {location: jail.make_folder(location) for location in ("inbound", "outbound")}
    conn_id = make_connection(
        "wild_read_only_root",
        port=jail.port,
        ssh_private_key=(jail.workdir / "client-key").read_text(),
        host_key=jail.host_key_line,
        locations={**{location: jail.remote_path(folder) for location, folder in folders.items()}, "root": "/"},
    )
    _row(f"{server}: import, after_import='delete'", _import(conn_id, folders["inbound"], sftp_user, tmp_path))
    _row(f"{server}: export (locked: .part, then renamed)", _export(conn_id, folders["outbound"], tmp_path))
    (tmp_path / "segment.csv").write_bytes(PLAINTEXT)
    at_root = ActitoSftpHook(conn_id).export_files("root", tmp_path / "segment.csv")
    problems = [record.error for record in at_root.failed + at_root.refused]
    _row(
        f"{server}: export to the read-only root itself",
        problems[0] if problems else None,
        "may not write it there (a read-only folder",
    )
    assert jail.chroot is not None
    assert sorted(path.name for path in jail.chroot.iterdir()) == ["data"]  # nothing written at the root


# --- the page ----------------------------------------------------------------------------------------------------

EXPECTED_CELLS = 3 + 3 + 3 + 3


@pytest.mark.server  # it reads what the module's server tests measured: not in the fast tier, which runs none
def test_the_interoperability_page_shows_this_run() -> None:
    """docs/interoperability.md's "servers-in-the-wild" section says what this run measured (``UPDATE_DOCS=1``
    writes it)."""
    check_section(MATRIX, EXPECTED_CELLS)
