"""The remote side of an import: which SFTP errors are worth a retry, how they read, and the folder's paths
and moves (here over a stand-in for the SFTP client; the real server is exercised by test_importer.py)."""

from __future__ import annotations

import asyncio
import re
import stat
from typing import Any

import asyncssh
import pytest

from airflow_provider_actito_sftp.ssh.protocol import is_transport_error
from airflow_provider_actito_sftp.transfer.remote_folder import RemoteFolder, describe, is_regular


@pytest.mark.parametrize(
    "error",
    [
        asyncssh.SFTPConnectionLost("peer went away"),
        asyncssh.SFTPNoConnection("not connected"),
        asyncssh.ConnectionLost("reset by peer"),
        ConnectionResetError("reset"),
        TimeoutError(),
        EOFError(),
    ],
    ids=type,
)
def test_a_broken_connection_is_a_transport_error(error: BaseException) -> None:
    assert is_transport_error(error)


@pytest.mark.parametrize(
    "error",
    [
        asyncssh.SFTPNoSuchFile("no such file"),
        asyncssh.SFTPPermissionDenied("denied"),
        asyncssh.SFTPFailure("quota exceeded"),
        ValueError("a bug"),
    ],
    ids=type,
)
def test_a_servers_refusal_is_not_a_transport_error(error: BaseException) -> None:
    assert not is_transport_error(error)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (asyncssh.SFTPConnectionLost("peer went away"), "connection lost: peer went away"),
        (asyncssh.SFTPNoSuchFile("/inbound/a.csv"), "no such file on the server"),
        (asyncssh.SFTPPermissionDenied("/inbound/a.csv"), "permission denied by the server"),
        (asyncssh.SFTPFailure("quota exceeded"), "the server refused: quota exceeded"),
        (TimeoutError("timed out"), "connection lost: timed out"),
        (PermissionError(13, "Permission denied"), "local I/O error: [Errno 13] Permission denied"),
        (ValueError("odd"), "ValueError: odd"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else "",
)
def test_describe_gives_a_short_reason(error: BaseException, reason: str) -> None:
    assert describe(error) == reason


@pytest.mark.parametrize(
    "error", [TimeoutError(), EOFError(), ConnectionResetError(), asyncssh.ConnectionLost("")], ids=type
)
def test_a_transport_error_without_a_message_is_named_by_its_type(error: BaseException) -> None:
    assert describe(error) == f"connection lost: {type(error).__name__}"


def test_no_such_file_and_permission_denied_leave_out_the_servers_text() -> None:
    assert "secret" not in describe(asyncssh.SFTPNoSuchFile("/inbound/secret-customers.csv"))
    assert "secret" not in describe(asyncssh.SFTPPermissionDenied("/inbound/secret-customers.csv"))


@pytest.mark.parametrize(
    ("permissions", "regular"),
    [(stat.S_IFREG | 0o644, True), (stat.S_IFDIR | 0o755, False), (stat.S_IFLNK | 0o777, False), (None, False)],
    ids=["file", "folder", "symlink", "unknown"],
)
def test_only_regular_files_count_as_regular(permissions: int | None, regular: bool) -> None:
    assert is_regular(asyncssh.SFTPAttrs(permissions=permissions)) is regular


class FakeSftp:
    """The few SFTP calls RemoteFolder makes, on a set of remote paths."""

    def __init__(self, *paths: str) -> None:
        self.paths = {path.encode("utf-8", "surrogateescape") for path in paths}

    async def lstat(self, path: bytes) -> asyncssh.SFTPAttrs:
        if path not in self.paths:
            raise asyncssh.SFTPNoSuchFile(path.decode("utf-8", "surrogateescape"))
        return asyncssh.SFTPAttrs(permissions=stat.S_IFREG | 0o644)

    async def rename(self, old: bytes, new: bytes) -> None:
        if new in self.paths:
            raise asyncssh.SFTPFailure("target exists")
        self.paths.remove(old)
        self.paths.add(new)

    async def remove(self, path: bytes) -> None:
        self.paths.remove(path)


class FakeSession:
    def __init__(self, sftp: FakeSftp) -> None:
        self.sftp = sftp

    def location_path(self, location: str) -> str:
        return {"inbound": "/data/inbound/", "archive": "/data/archive"}[location]


def folder(*paths: str) -> tuple[RemoteFolder, FakeSftp]:
    sftp = FakeSftp(*paths)
    session: Any = FakeSession(sftp)
    return RemoteFolder(session, "inbound"), sftp


def test_file_paths_join_the_locations_folder_and_keep_undecodable_bytes() -> None:
    inbound, _ = folder()
    assert inbound.file("a.csv") == b"/data/inbound/a.csv"
    assert inbound.file("a.csv", "/data/archive/") == b"/data/archive/a.csv"
    assert inbound.file("caf\udce9.csv") == b"/data/inbound/caf\xe9.csv"


def test_exists_rename_and_remove_act_on_the_locations_folder() -> None:
    inbound, sftp = folder("/data/inbound/a.csv")

    async def steps() -> tuple[bool, bool]:
        before = await inbound.exists("a.csv")
        await inbound.rename("a.csv", "b.csv")
        await inbound.remove("b.csv")
        return before, await inbound.exists("a.csv")

    assert asyncio.run(steps()) == (True, False)
    assert sftp.paths == set()


def test_a_move_never_overwrites_a_file_already_in_the_target_folder() -> None:
    inbound, sftp = folder("/data/inbound/a.csv", "/data/inbound/b.csv", "/data/archive/a.csv")
    archive = "/data/archive"
    first = asyncio.run(inbound.move_without_clobbering("b.csv", archive, "b.csv"))
    second = asyncio.run(inbound.move_without_clobbering("a.csv", archive, "a.csv"))
    assert first == "b.csv"
    assert re.fullmatch(r"a\.csv\.\d{8}T\d{12}", second)
    assert sftp.paths == {b"/data/archive/a.csv", b"/data/archive/b.csv", f"/data/archive/{second}".encode()}
