"""The transfer engine against real servers: lock visibility, hostile names, many files, one session."""

from __future__ import annotations

import asyncio
import io
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import asyncssh
import pytest

from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from airflow_provider_actito_sftp.transfer.names import shown_name
from airflow_provider_actito_sftp.transfer.upload import upload
from partner_sandbox.sshd import SshServer, chown_tree
from tests.conftest import ConnectionFactory
from tests.support.dags import import_records, published_names, run_dag, task_states


class SlowSource(io.RawIOBase):
    """A local source that yields ``total`` bytes slowly, so an upload stays in progress for a while."""

    def __init__(self, total: int, chunk: int, delay: float) -> None:
        self.remaining = total
        self.chunk = chunk
        self.delay = delay

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        time.sleep(self.delay)
        count = min(self.chunk, self.remaining, size if size > 0 else self.chunk)
        self.remaining -= count
        return b"x" * count


def test_partner_never_sees_a_partial_file_under_its_final_name(make_connection: ConnectionFactory, sshd: SshServer):
    folder = sshd.make_folder("lock-visibility")
    conn_id = make_connection(locations={"outbound": str(folder)})
    total = 6 * (1 << 20)

    async def scenario() -> tuple[list[list[str]], list[str]]:
        hook = ActitoSftpHook(conn_id)
        async with hook.open_async_session() as uploader, hook.open_async_session() as partner:
            upload_task = asyncio.ensure_future(
                upload(
                    uploader,
                    SlowSource(total, 256 * 1024, 0.04),  # type: ignore[arg-type]
                    total,
                    f"{folder}/segment.csv".encode(),
                    lock_suffix=".part",
                    replace=False,
                    encrypt=None,
                    label="upload outbound/segment.csv",
                )
            )
            seen: list[list[str]] = []
            while not upload_task.done():
                seen.append(sorted(name.filename for name in await partner.sftp.readdir(str(folder))))
                await asyncio.sleep(0.05)
            await upload_task
            after = sorted(name.filename for name in await partner.sftp.readdir(str(folder)))
            return seen, after

    seen, after = asyncio.run(scenario())
    during = [names for names in seen if "segment.csv.part" in names]
    assert len(during) >= 5, seen  # the partner watched the upload in progress, under the lock name
    assert not any("segment.csv" in names for names in seen[:-1])  # never the final name before the end
    assert "segment.csv" in after
    assert "segment.csv.part" not in after
    assert (folder / "segment.csv").stat().st_size == total


def test_failed_upload_removes_its_partial_file(make_connection: ConnectionFactory, sshd: SshServer):
    folder = sshd.make_folder("lock-failure")
    conn_id = make_connection(locations={"outbound": str(folder)})

    class Broken(io.RawIOBase):
        calls = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            Broken.calls += 1
            if Broken.calls > 3:
                raise OSError("disk read error")
            return b"y" * (1 << 20)

    async def scenario() -> None:
        async with ActitoSftpHook(conn_id).open_async_session() as session:
            await upload(
                session,
                Broken(),
                None,
                f"{folder}/x.csv".encode(),
                lock_suffix=".part",  # type: ignore[arg-type]
                replace=False,
                encrypt=None,
                label="upload x.csv",
            )

    with pytest.raises(OSError, match="disk read error"):
        asyncio.run(scenario())
    assert list(folder.iterdir()) == []


class HostileSFTPServer(asyncssh.SFTPServer):
    """Lists names no honest server returns: traversal, separators, NUL, control characters."""

    HOSTILE: ClassVar[list[bytes]] = [
        b"../../escape.csv",
        b"sub/../../escape2.csv",
        b"/etc/passwd",
        b"nul\x00.csv",
        b"..",
        b"bell\x07.csv",
    ]

    async def scandir(self, path: bytes) -> AsyncIterator[asyncssh.SFTPName]:  # type: ignore[override]
        async for name in super().scandir(path):
            yield name
        for hostile in self.HOSTILE:
            attrs = asyncssh.SFTPAttrs(size=5, permissions=0o100644, mtime=int(time.time()) - 600)
            yield asyncssh.SFTPName(hostile, attrs=attrs)


def test_hostile_names_are_refused_and_never_become_paths(
    airflow_db: Path, make_connection: ConnectionFactory, tmp_path: Path
):
    from partner_sandbox.inprocess_server import start_password_server

    root = tmp_path / "server"
    (root / "in").mkdir(parents=True)
    (root / "in" / "ok.csv").write_text("fine\n")
    server = start_password_server(root, "partner", "pw-12345", HostileSFTPServer)
    landing = tmp_path / "deep" / "landing"
    try:
        conn_id = make_connection(
            conn_id="hostile",
            host=server.host,
            port=server.port,
            login="partner",
            auth_type="password",
            password="pw-12345",
            ssh_private_key=None,
            host_key=server.host_key_line,
            locations={"inbound": "/in"},
        )
        run = run_dag(
            "hostile_names",
            f"""
            ActitoSftpImportOperator(min_age=0, task_id="import", conn_id={conn_id!r}, location="inbound",
                                     destination={str(landing)!r}, after_import="delete")
            """,
        )
    finally:
        server.stop()
    assert task_states(run) == {"import": "failed"}
    assert published_names(landing) == ["ok.csv"]
    records = import_records(run)
    refused = sorted(record["remote_path"].removeprefix("/in/") for record in records if record["status"] == "failed")
    # shown as they leave the task: a control character as \xNN (issue 21.12)
    assert refused == sorted(shown_name(name.decode()) for name in HostileSFTPServer.HOSTILE if name != b"..")
    assert all("unsafe remote name" in record["error"] for record in records if record["status"] == "failed")
    everything = [str(path) for path in tmp_path.rglob("*")]
    assert not [path for path in everything if "escape" in path or "passwd" in path]
    assert not (root / "in" / "ok.csv").exists()  # the good file was imported and deleted


def test_thousand_files_over_one_session(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, tmp_path: Path
):
    folder = sshd.make_folder("thousand")
    payload = os.urandom(4096)
    for index in range(1000):
        (folder / f"file-{index:04d}.csv").write_bytes(payload)
    chown_tree(folder, sshd.user)
    conn_id = make_connection(locations={"inbound": str(folder)})
    logins_before = sshd.log_path.read_text().count("Accepted publickey")
    landing = tmp_path / "landing"
    started = time.monotonic()
    run = run_dag(
        "thousand_files",
        f"""
        ActitoSftpImportOperator(min_age=0, task_id="import", conn_id={conn_id!r}, location="inbound",
                                 destination={str(landing)!r}, after_import="delete")
        """,
    )
    elapsed = time.monotonic() - started
    assert task_states(run) == {"import": "success"}
    assert len(published_names(landing)) == 1000
    assert list(folder.iterdir()) == []
    assert sshd.log_path.read_text().count("Accepted publickey") == logins_before + 1
    print(f"1000 x 4 KiB imported (claim, download, publish, delete) in {elapsed:.1f} s")
