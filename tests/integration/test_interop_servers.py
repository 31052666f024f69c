"""The interoperability matrix, its server part (issue 14): OpenSSH with several host keys, OpenSSH jails that
forbid deletes or renames, and ProFTPD's mod_sftp, each through a real import or export. The last test checks the
page's "servers" section says what the run measured.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from partner_sandbox.proftpd import find_proftpd, start_proftpd, stop_proftpd
from partner_sandbox.sshd import SftpUser, SshServer, generate_ssh_key, remove_server, running_as_root, start_sshd
from tests.conftest import ConnectionFactory
from tests.support.interop_cells import connection_on, export_cell, import_cell, record_row
from tests.support.interop_matrix import Matrix, Table, check_section

pytestmark = pytest.mark.skipif(
    not (running_as_root() and find_proftpd() is not None),
    reason="the server matrix needs ProFTPD and root (.ci/run installs it and runs as root)",
)

SERVERS = "servers"
MATRIX = Matrix(
    "servers",
    "tests/integration/test_interop_servers.py",
    {
        SERVERS: Table(
            "Partner servers",
            "Host key pinned, key authentication, then the operation.",
            "Server: operation",
            ("result",),
        ),
    },
)


def _server_row(case: str, error: str | None, refused: str | None = None) -> None:
    record_row(MATRIX, SERVERS, case, error, refused)


RESTRICTIONS = {"": "", "-P remove": ", deletes forbidden (`-P remove`)", "-P rename,posix-rename@openssh.com": ""}
RESTRICTIONS["-P rename,posix-rename@openssh.com"] = ", renames forbidden (`-P rename`)"


@pytest.fixture(scope="module")
def chroot_sshds(sftp_user: SftpUser) -> Iterator[dict[str, SshServer]]:
    """OpenSSH servers jailing the user (ChrootDirectory + internal-sftp), by internal-sftp flags."""
    servers: dict[str, SshServer] = {}
    try:
        for flags in RESTRICTIONS:
            server = servers[flags] = start_sshd(sftp_user, sftp_flags=flags, chroot=True)
            server.add_authorized_key(generate_ssh_key(server.workdir / "client-key"))
        yield servers
    finally:
        for server in servers.values():
            remove_server(server)


def test_openssh_with_rsa_ecdsa_and_ed25519_host_keys(
    make_connection: ConnectionFactory, multi_key_sshd: SshServer
) -> None:
    for key_type in ("ed25519", "ecdsa", "rsa"):
        conn_id = make_connection(
            f"interop_{key_type}",
            port=multi_key_sshd.port,
            host_key=multi_key_sshd.host_key_lines[key_type],
            locations={},
        )
        ok, message = ActitoSftpHook(conn_id).test_connection()
        case = f"OpenSSH with ed25519, ECDSA and RSA host keys: connect, the {key_type} key pinned"
        _server_row(case, None if ok else message)


def test_openssh_chroot_and_restricted_operations(
    airflow_db: Path,
    make_connection: ConnectionFactory,
    chroot_sshds: dict[str, SshServer],
    sftp_user: SftpUser,
    tmp_path: Path,
) -> None:
    plain, no_delete = chroot_sshds[""], chroot_sshds["-P remove"]
    no_rename = chroot_sshds["-P rename,posix-rename@openssh.com"]
    server = "OpenSSH, chroot + internal-sftp"
    conn_id, inbound = connection_on(make_connection, plain, "jail")
    _server_row(f"{server}: import, after_import='delete'", import_cell(conn_id, inbound, sftp_user, tmp_path))
    _server_row(f"{server}: export (locked: .part, then renamed)", export_cell(conn_id, tmp_path))

    conn_id, inbound = connection_on(make_connection, no_delete, "jail_no_delete")
    case = f"{server}{RESTRICTIONS['-P remove']}: import, after_import="
    _server_row(
        f"{case}'delete'",
        import_cell(conn_id, inbound, sftp_user, tmp_path / "a"),
        "the server refuses to delete it (permission denied by the server)",
    )
    kept = import_cell(conn_id, inbound, sftp_user, tmp_path / "b", "orders.csv", after_import="keep", claim_timeout=0)
    _server_row(f"{case}'keep' (which also finishes what 'delete' left)", kept)
    assert sorted(path.name for path in inbound.iterdir()) == ["customers.csv", "orders.csv"]

    conn_id, inbound = connection_on(make_connection, no_rename, "jail_no_rename")
    case = f"{server}{RESTRICTIONS['-P rename,posix-rename@openssh.com']}"
    _server_row(
        f"{case}: import (claimed by a rename)",
        import_cell(conn_id, inbound, sftp_user, tmp_path / "c", after_import="keep"),
        "claim='none'",
    )
    in_place = import_cell(conn_id, inbound, sftp_user, tmp_path / "d", after_import="keep", claim="none")
    _server_row(f"{case}: import, claim='none'", in_place)
    locked = export_cell(conn_id, tmp_path / "e")
    _server_row(f"{case}: export (locked: .part, then renamed)", locked, "set outbound_lock to false")
    unlocked_id, _ = connection_on(make_connection, no_rename, "jail_no_rename_unlocked", outbound_lock=False)
    _server_row(f"{case}: export, outbound_lock=false", export_cell(unlocked_id, tmp_path / "f"))


def test_proftpd_mod_sftp(
    airflow_db: Path, make_connection: ConnectionFactory, sftp_user: SftpUser, tmp_path: Path
) -> None:
    from airflow_provider_actito_sftp.ssh.key_type import PublicKeyFormat
    from airflow_provider_actito_sftp.ssh.keys import generate_ssh_key as our_key_pair
    from airflow_provider_actito_sftp.ssh.keys import public_key_text

    server = start_proftpd(sftp_user)
    try:
        pair = our_key_pair(comment="actito-sftp:interop")
        server.install_key(public_key_text(pair.public_line, PublicKeyFormat.RFC4716))
        folders = {location: server.make_folder(location) for location in ("inbound", "outbound")}
        conn_id = make_connection(
            "interop_proftpd",
            port=server.port,
            ssh_private_key=pair.private_key,
            host_key=server.host_key_lines["ed25519"],
            locations={location: str(folder) for location, folder in folders.items()},
        )
        case = "ProFTPD 1.3.8 mod_sftp (AllowOverwrite off)"
        _server_row(
            f"{case}: import, after_import='delete'", import_cell(conn_id, folders["inbound"], sftp_user, tmp_path)
        )
        _server_row(f"{case}: export (locked: .part, then renamed)", export_cell(conn_id, tmp_path / "a"))
        replaced = export_cell(conn_id, tmp_path / "b", overwrite="replace")
        _server_row(f"{case}: export again, overwrite='replace'", replaced)
    finally:
        stop_proftpd(server)


# --- the page ----------------------------------------------------------------------------------------------------

EXPECTED_CELLS = 3 + 8 + 3


@pytest.mark.server  # it reads what the module's server tests measured: not in the fast tier, which runs none
def test_the_interoperability_page_shows_this_run() -> None:
    """docs/interoperability.md's "servers" section says what this run measured (``UPDATE_DOCS=1`` writes it)."""
    check_section(MATRIX, EXPECTED_CELLS)
