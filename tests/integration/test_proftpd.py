"""A partner on ProFTPD 1.3.8 with mod_sftp (Debian's packages): its keys file reads RFC 4716 blocks only, it
holds ed25519 and RSA host keys, and ``AllowOverwrite off`` guards its folders. The real server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest

from airflow_provider_actito_sftp.exceptions import AuthenticationError
from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from airflow_provider_actito_sftp.management import fetch_host_key_offer
from airflow_provider_actito_sftp.ssh.key_type import PublicKeyFormat
from airflow_provider_actito_sftp.ssh.keys import generate_ssh_key, public_key_text
from partner_sandbox.proftpd import ProftpdServer, find_proftpd, start_proftpd, stop_proftpd
from partner_sandbox.sshd import SftpUser, running_as_root
from tests.cli.support import fingerprint_of
from tests.conftest import ConnectionFactory


@pytest.fixture(scope="module")
def proftpd(sftp_user: SftpUser) -> Iterator[ProftpdServer]:
    if find_proftpd() is None:
        pytest.skip("ProFTPD with mod_sftp is not installed (.ci/run installs proftpd-core and proftpd-mod-crypto)")
    if not running_as_root():
        pytest.skip("ProFTPD logs users in as system accounts: the test user exists only when run as root")
    server = start_proftpd(sftp_user)
    yield server
    stop_proftpd(server)


@pytest.fixture
def our_key() -> tuple[str, str]:
    """A key pair of ours: (private key, its OpenSSH public line)."""
    pair = generate_ssh_key(comment="actito-sftp:proftpd_test")
    return pair.private_key, pair.public_line


def _connection(make_connection: ConnectionFactory, server: ProftpdServer, private_key: str, **extra: object) -> str:
    return make_connection(
        "proftpd_test",
        port=server.port,
        ssh_private_key=private_key,
        host_key=server.host_key_lines["ed25519"],
        **extra,
    )


def test_the_openssh_line_is_refused_and_the_error_says_which_format_proftpd_needs(
    make_connection: ConnectionFactory, proftpd: ProftpdServer, our_key: tuple[str, str]
):
    private_key, public_line = our_key
    proftpd.install_key(public_key_text(public_line, PublicKeyFormat.OPENSSH))  # what most partners paste
    conn_id = _connection(make_connection, proftpd, private_key, locations={})
    with pytest.raises(AuthenticationError) as refused:
        asyncio.run(_open(conn_id))
    assert "refused SSH key authentication" in str(refused.value)
    assert f"actito-sftp ssh-key public {conn_id} --format rfc4716" in str(refused.value)


def test_the_rfc4716_key_logs_in_and_the_whole_job_runs(
    make_connection: ConnectionFactory, proftpd: ProftpdServer, our_key: tuple[str, str], tmp_path: Path
):
    """Our key handed out in RFC 4716 form logs in; the ed25519 host key is pinned among the server's two;
    an import (delete after) and a locked export (.part, then rename) work; a second export of the same name
    is refused before anything is written, as AllowOverwrite off would refuse it."""
    private_key, public_line = our_key
    proftpd.install_key(public_key_text(public_line, PublicKeyFormat.RFC4716))
    offer = fetch_host_key_offer(proftpd.host, proftpd.port, timeout=10)
    assert offer.described() == [  # the key it presents first, in one connection
        {"algorithm": "ssh-ed25519", "fingerprint": fingerprint_of(proftpd.host_key_lines["ed25519"])}
    ]
    other = next(fingerprint_of(line) for key_type, line in proftpd.host_key_lines.items() if key_type != "ed25519")
    searched = offer.searched(other)  # the other one, fetched when the partner gives its fingerprint
    every_key = {fingerprint_of(line) for line in proftpd.host_key_lines.values()}
    assert {item["fingerprint"] for item in searched.described()} == every_key
    inbound, outbound = proftpd.make_folder("in"), proftpd.make_folder("out")
    (inbound / "customers.csv").write_text("id;email\n1;ada@example.com\n")
    proftpd.make_folder("")  # owner again after writing as root
    conn_id = _connection(
        make_connection, proftpd, private_key, locations={"inbound": str(inbound), "outbound": str(outbound)}
    )
    hook = ActitoSftpHook(conn_id)
    ok, message = hook.test_connection()
    assert ok, message
    assert message.startswith(f"Host key {fingerprint_of(proftpd.host_key_lines['ed25519'])} matches the pin")

    landing = tmp_path / "landing"
    imported = hook.import_files("inbound", landing, owner="proftpd", after_import="delete", min_age=0)
    assert [Path(record.local_path).name for record in imported.imported] == ["customers.csv"]
    assert (imported.refused, imported.failed, imported.unfinished) == ([], [], [])
    assert (landing / "customers.csv").read_text() == "id;email\n1;ada@example.com\n"
    assert list(inbound.iterdir()) == []

    segment = tmp_path / "segment.csv"
    segment.write_text("id\n1\n")
    exported = hook.export_files("outbound", segment)
    assert [record.status for record in exported.uploaded] == ["success"]
    assert [path.name for path in outbound.iterdir()] == ["segment.csv"]  # no .part left
    assert (outbound / "segment.csv").read_text() == "id\n1\n"


async def _open(conn_id: str) -> None:
    async with ActitoSftpHook(conn_id).open_async_session():
        pass


def test_the_rfc4716_text_is_the_same_key(our_key: tuple[str, str]):
    _, public_line = our_key
    block = public_key_text(public_line, PublicKeyFormat.RFC4716)
    assert block.startswith("---- BEGIN SSH2 PUBLIC KEY ----\n")
    assert block.endswith("---- END SSH2 PUBLIC KEY ----\n")
    assert 'Comment: "actito-sftp:proftpd_test"' in block
    assert asyncssh.import_public_key(block).export_public_key("openssh").decode().strip() == public_line
