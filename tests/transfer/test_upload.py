"""Uploading one file against the real sshd: under ``<name>.part`` then renamed, size verified, nothing
overwritten unless asked, and no partial file left by a refused or failed upload."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncssh
import pytest

from airflow_provider_actito_sftp.exceptions import ActitoSftpError, ExportRefusedError, RemoteExistsError
from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from airflow_provider_actito_sftp.ssh.protocol import is_transport_error
from airflow_provider_actito_sftp.transfer.upload import EncryptOptions, Uploaded, should_compress, upload
from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.sshd import SshServer, chown_tree, running_as_root
from tests.conftest import ConnectionFactory
from tests.support.tcp_proxy import TcpProxy

TIMEOUT = 60.0  # seconds for one upload against a local server


class WatchedSource(io.BytesIO):
    """Local data whose every read first looks at the remote folder (the server's files are local here).

    :param on_read: called with the read's number (1, 2, ...) before the data is returned.
    """

    def __init__(self, data: bytes, folder: Path, on_read: Callable[[int], None] | None = None) -> None:
        super().__init__(data)
        self.folder = folder
        self.on_read = on_read
        self.listings: list[list[str]] = []

    def read(self, size: int | None = -1, /) -> bytes:
        self.listings.append(listing(self.folder))
        if self.on_read is not None:
            self.on_read(len(self.listings))
        return super().read(size)


def listing(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


@pytest.fixture
def remote_folder(sshd: SshServer) -> Path:
    return sshd.make_folder(f"upload/{uuid.uuid4().hex[:8]}")


def send(
    conn_id: str,
    source: io.BytesIO,
    target: Path,
    *,
    lock_suffix: str | None = ".part",
    replace: bool = False,
    encrypt: EncryptOptions | None = None,
    on_verified: Callable[[Uploaded], None] | None = None,
    on_session_closed: Callable[[int], None] | None = None,
) -> Uploaded:
    """Upload over a new session; ``on_session_closed`` is given the session's generation (reconnections)."""

    async def run() -> Uploaded:
        async with ActitoSftpHook(conn_id).open_async_session() as session:
            try:
                return await upload(
                    session,
                    source,
                    len(source.getbuffer()),
                    str(target).encode(),
                    lock_suffix=lock_suffix,
                    replace=replace,
                    encrypt=encrypt,
                    label=f"upload {target.name}",
                    on_verified=on_verified,
                )
            finally:
                if on_session_closed is not None:
                    on_session_closed(session.generation)

    return asyncio.run(asyncio.wait_for(run(), TIMEOUT))


def test_a_locked_upload_is_written_under_the_lock_name_then_renamed(
    make_connection: ConnectionFactory, remote_folder: Path
) -> None:
    data = os.urandom(100_000)
    source = WatchedSource(data, remote_folder)
    verified: list[tuple[Uploaded, list[str], int]] = []

    def on_verified(uploaded: Uploaded) -> None:
        part = remote_folder / "report.csv.part"
        verified.append((uploaded, listing(remote_folder), part.stat().st_size))

    uploaded = send(make_connection(), source, remote_folder / "report.csv", on_verified=on_verified)

    assert source.listings, "the source was never read"
    assert all(names == ["report.csv.part"] for names in source.listings)  # never the final name meanwhile
    assert verified == [(uploaded, ["report.csv.part"], len(data))]  # complete, before the rename
    assert listing(remote_folder) == ["report.csv"]
    assert (remote_folder / "report.csv").read_bytes() == data
    assert uploaded.wire_bytes == uploaded.plaintext_bytes == len(data)
    assert uploaded.sha256 == hashlib.sha256(data).hexdigest()
    assert uploaded.pgp_fingerprint is None


def test_without_a_lock_the_file_is_written_under_its_final_name(
    make_connection: ConnectionFactory, remote_folder: Path
) -> None:
    data = b"id;email\n1;a@example.com\n"
    source = WatchedSource(data, remote_folder)
    send(make_connection(), source, remote_folder / "report.csv", lock_suffix=None)
    assert source.listings
    assert all(names == ["report.csv"] for names in source.listings)
    assert listing(remote_folder) == ["report.csv"]
    assert (remote_folder / "report.csv").read_bytes() == data


def test_an_existing_target_is_refused_without_overwrite(
    make_connection: ConnectionFactory, sshd: SshServer, remote_folder: Path
) -> None:
    (remote_folder / "report.csv").write_bytes(b"the partner's file\n")
    chown_tree(remote_folder, sshd.user)
    source = WatchedSource(b"new content\n", remote_folder)
    with pytest.raises(RemoteExistsError, match=r"already exists \(overwrite='fail'\)"):
        send(make_connection(), source, remote_folder / "report.csv")
    assert source.listings == []  # refused before reading anything
    assert listing(remote_folder) == ["report.csv"]
    assert (remote_folder / "report.csv").read_bytes() == b"the partner's file\n"


def test_replace_overwrites_an_existing_target(
    make_connection: ConnectionFactory, sshd: SshServer, remote_folder: Path
) -> None:
    (remote_folder / "report.csv").write_bytes(b"yesterday's export, longer than today's\n")
    chown_tree(remote_folder, sshd.user)
    source = WatchedSource(b"today\n", remote_folder)
    send(make_connection(), source, remote_folder / "report.csv", replace=True)
    assert all(names == ["report.csv", "report.csv.part"] for names in source.listings)  # old one in place
    assert listing(remote_folder) == ["report.csv"]
    assert (remote_folder / "report.csv").read_bytes() == b"today\n"


def test_a_failing_source_removes_the_partial_upload(make_connection: ConnectionFactory, remote_folder: Path) -> None:
    def fail_second_read(number: int) -> None:
        if number == 2:
            raise OSError("disk read error")

    source = WatchedSource(os.urandom(50_000), remote_folder, fail_second_read)
    with pytest.raises(OSError, match="disk read error"):
        send(make_connection(), source, remote_folder / "report.csv")
    assert source.listings[-1] == ["report.csv.part"]  # it was there when the source failed
    assert listing(remote_folder) == []


def test_a_file_that_appears_meanwhile_is_not_clobbered(
    make_connection: ConnectionFactory, sshd: SshServer, remote_folder: Path
) -> None:
    def partner_drops_a_file(number: int) -> None:
        if number == 2:
            (remote_folder / "report.csv").write_bytes(b"the partner's own file\n")
            chown_tree(remote_folder, sshd.user)

    source = WatchedSource(os.urandom(50_000), remote_folder, partner_drops_a_file)
    with pytest.raises(asyncssh.SFTPError):  # the plain rename refuses to replace it
        send(make_connection(), source, remote_folder / "report.csv")
    assert listing(remote_folder) == ["report.csv"]  # and the partial is gone
    assert (remote_folder / "report.csv").read_bytes() == b"the partner's own file\n"


class ShortWriteServer(asyncssh.SFTPServer):
    """A faulty server: acknowledges every write but stores one byte less."""

    def write(self, file_obj: object, offset: int, data: bytes) -> int:
        written = super().write(file_obj, offset, data[:-1])
        assert isinstance(written, int)
        return written + 1


@pytest.fixture
def short_write_server(tmp_path: Path, make_connection: ConnectionFactory) -> Iterator[tuple[str, Path]]:
    """A connection to :class:`ShortWriteServer` and its (local) ``/out`` folder."""
    from partner_sandbox.inprocess_server import start_password_server

    root = tmp_path / "server"
    (root / "out").mkdir(parents=True)
    server = start_password_server(root, "partner", "pw-12345", ShortWriteServer)
    try:
        conn_id = make_connection(
            conn_id="short_write",
            host=server.host,
            port=server.port,
            login="partner",
            auth_type="password",
            password="pw-12345",
            ssh_private_key=None,
            host_key=server.host_key_line,
            locations={"outbound": "/out"},
        )
        yield conn_id, root / "out"
    finally:
        server.stop()


def test_a_size_the_server_did_not_store_is_refused_and_the_partial_removed(
    short_write_server: tuple[str, Path],
) -> None:
    conn_id, out = short_write_server
    data = os.urandom(10_000)
    verified: list[Uploaded] = []
    with pytest.raises(ActitoSftpError, match=f"the server stored {len(data) - 1} bytes but {len(data)} were sent"):
        send(conn_id, io.BytesIO(data), Path("/out/report.csv"), on_verified=verified.append)
    assert verified == []  # never reported as delivered
    assert listing(out) == []


def test_without_a_lock_a_failed_upload_removes_the_partial_file_under_its_final_name(
    make_connection: ConnectionFactory, remote_folder: Path
) -> None:
    def fail_second_read(number: int) -> None:
        if number == 2:
            raise OSError("disk read error")

    source = WatchedSource(os.urandom(50_000), remote_folder, fail_second_read)
    with pytest.raises(OSError, match="disk read error"):
        send(make_connection(), source, remote_folder / "report.csv", lock_suffix=None)
    assert source.listings[-1] == ["report.csv"]  # half written when the source failed
    assert listing(remote_folder) == []  # the partner is not left half a file under its final name


def test_a_folder_the_user_may_not_write_in_is_refused_in_words(
    make_connection: ConnectionFactory, sshd: SshServer, remote_folder: Path
) -> None:
    if not running_as_root():
        pytest.skip("the test user owns every folder it can reach unless root made one")
    read_only = remote_folder / "read-only"
    read_only.mkdir(mode=0o755)  # root's
    with pytest.raises(ExportRefusedError) as refused:
        send(make_connection(), io.BytesIO(b"id\n1\n"), read_only / "report.csv")
    assert str(refused.value) == (
        f"the server refuses to create '{read_only}/report.csv.part' (Permission denied): user {sshd.user.name!r} "
        "may not write it there (a read-only folder, e.g. a chroot's root, or another user's file of that name); "
        "point the location at a folder the user may write to (in a chroot, a writable subfolder), or ask the "
        "partner for write access"
    )
    assert not refused.value.retryable


# --- a cut mid-upload: the partial file is removed over a new connection ---------------------------------------


def test_a_cut_leaves_the_lock_file_named_in_the_log_and_the_next_upload_writes_over_it(
    make_connection: ConnectionFactory, proxy: TcpProxy, remote_folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The connection is lost mid-upload (the proxy cuts it 1 MB into the data): the ``.part`` cannot be removed
    over it and stays, named in the log; the next upload of the file (the task's retry) truncates it, writes, and
    renames it into place: no ``.part`` is left."""
    conn_id = make_connection(host=proxy.host, port=proxy.port)
    proxy.cut_next(upstream=1_000_000)
    with pytest.raises((asyncssh.Error, OSError)) as lost:
        send(conn_id, WatchedSource(os.urandom(3_000_000), remote_folder), remote_folder / "report.csv")
    assert is_transport_error(lost.value)  # the upload's own error: the task's retry sends the file again
    proxy.clear()
    assert listing(remote_folder) == ["report.csv.part"]
    assert f"Could not remove the partial upload {remote_folder}/report.csv.part" in caplog.text
    assert "the next export of this file writes over it" in caplog.text

    data = os.urandom(100_000)
    send(conn_id, io.BytesIO(data), remote_folder / "report.csv")
    assert listing(remote_folder) == ["report.csv"]
    assert (remote_folder / "report.csv").read_bytes() == data


# --- encryption on the fly ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def partner() -> Iterator[tuple[PartnerGpg, str, str]]:
    """The partner's keyring, its key's fingerprint and armored public key."""
    with PartnerGpg() as gpg:
        fingerprint = gpg.generate()
        yield gpg, fingerprint, gpg.export_public(fingerprint)


def test_an_encrypted_upload_holds_only_ciphertext_for_the_partner(
    make_connection: ConnectionFactory,
    remote_folder: Path,
    tmp_path: Path,
    partner: tuple[PartnerGpg, str, str],
) -> None:
    gpg, fingerprint, public = partner
    data = b"id;email\n" + b"".join(b"%d;customer%d@example.com\n" % (i, i) for i in range(5000))
    uploaded = send(
        make_connection(), io.BytesIO(data), remote_folder / "report.csv.pgp", encrypt=EncryptOptions(public)
    )

    remote = remote_folder / "report.csv.pgp"
    ciphertext = remote.read_bytes()
    assert b"customer1@example.com" not in ciphertext
    assert uploaded.pgp_fingerprint == fingerprint
    assert uploaded.wire_bytes == len(ciphertext)
    assert uploaded.plaintext_bytes == len(data)
    assert uploaded.sha256 == hashlib.sha256(data).hexdigest()  # of what was read, the plaintext
    gpg.decrypt(remote, tmp_path / "decrypted.csv")
    assert (tmp_path / "decrypted.csv").read_bytes() == data


# --- whether gpg compresses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "sample", "compress"),
    [
        ("customers.csv", b"id;email;city\n" * 1000, True),
        ("customers.csv", os.urandom(64 * 1024), False),  # incompressible
        ("customers.csv", b"", False),
        ("customers.csv.gz", b"id;email;city\n" * 1000, False),  # a known compressed format, by name
        ("EXPORT.ZIP", b"id;email;city\n" * 1000, False),
        ("upload outbound/photo.JPEG", b"\x00" * 1000, False),
    ],
)
def test_should_compress_only_data_that_compresses(name: str, sample: bytes, compress: bool) -> None:
    assert should_compress(name, sample) is compress
