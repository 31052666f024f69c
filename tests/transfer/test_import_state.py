"""An import run's request and state: the request's limits come from its options, and the remote steps on a marker
(release, still there, taken over) say what happened to the file, without a server (a fake SFTP client)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncssh
import pytest

from airflow_provider_actito_sftp.ssh.session import RemoteEntry
from airflow_provider_actito_sftp.transfer.destinations import Destination
from airflow_provider_actito_sftp.transfer.import_state import TAKEN_OVER, ImportRequest, ImportState
from airflow_provider_actito_sftp.transfer.names import Marker, MarkerKind
from airflow_provider_actito_sftp.transfer.options import ImportOptions
from airflow_provider_actito_sftp.transfer.selection import FileFilter
from tests.support.memory_stores import MemoryLedger

OWNER = "owner0000001"


class FakeSftp:
    """Answers rename and lstat with the given errors (None: success)."""

    def __init__(self, rename: BaseException | None = None, lstat: BaseException | None = None) -> None:
        self.rename_error, self.lstat_error = rename, lstat
        self.renamed: list[tuple[bytes, bytes]] = []

    async def rename(self, old: bytes, new: bytes) -> None:
        if self.rename_error is not None:
            raise self.rename_error
        self.renamed.append((old, new))

    async def lstat(self, path: bytes) -> Any:
        if self.lstat_error is not None:
            raise self.lstat_error
        return SimpleNamespace(size=1, permissions=0o100600)


def _state(tmp_path: Path, sftp: FakeSftp, **options: Any) -> ImportState:
    session = SimpleNamespace(
        settings=SimpleNamespace(conn_id="acme_sftp"), sftp=sftp, location_path=lambda location: "/in"
    )
    request = ImportRequest(
        "inbound", FileFilter(), Destination(tmp_path, owner=OWNER), ImportOptions(**options), owner=OWNER
    )
    return ImportState(session, request, MemoryLedger())  # type: ignore[arg-type]


def _entry() -> RemoteEntry:
    return RemoteEntry("a.csv", "/in/a.csv", 10, datetime.now(UTC), is_file=True, is_dir=False)


def _claim(age: float = 0.0, owner: str = OWNER) -> Marker:
    return Marker("a.csv", MarkerKind.CLAIMED, time.time() - age, "abcdef012345", owner)


def test_the_request_s_limits_come_from_its_options(tmp_path: Path) -> None:
    request = _state(tmp_path, FakeSftp(), max_file_size=10, max_expansion_ratio=None, max_files=2).request
    assert (request.limits.max_file_size, request.limits.max_expansion_ratio) == (10, None)
    assert (request.batch_limit.max_files, request.batch_limit.max_bytes) == (2, None)


def test_a_released_marker_is_renamed_back_and_reports_nothing(tmp_path: Path) -> None:
    sftp = FakeSftp()
    state = _state(tmp_path, sftp)
    claim = _claim()
    assert asyncio.run(state.release(claim, _entry(), time.monotonic(), "why"))
    assert sftp.renamed == [(f"/in/{claim.name}".encode(), b"/in/a.csv")]
    assert state.report.result.records == []


def test_a_marker_that_cannot_be_renamed_back_is_a_retryable_failure_naming_it(tmp_path: Path) -> None:
    state = _state(tmp_path, FakeSftp(rename=asyncssh.SFTPPermissionDenied("denied")), claim_timeout=90)
    claim = _claim()
    assert not asyncio.run(state.release(claim, _entry(), time.monotonic(), "refused: not PGP"))
    [record] = state.report.result.failed
    assert record.retryable
    assert record.error is not None
    assert record.error.startswith(f"refused: not PGP; left hidden as {claim.name!r}: could not rename it back")
    assert "another run after 90 s" in record.error


def test_a_marker_gone_when_released_was_taken_over_and_this_try_stops(tmp_path: Path) -> None:
    state = _state(tmp_path, FakeSftp(rename=asyncssh.SFTPNoSuchFile("gone"), lstat=asyncssh.SFTPNoSuchFile("gone")))
    assert not asyncio.run(state.release(_claim(), _entry(), time.monotonic()))
    assert state.report.result.skipped == [("a.csv", TAKEN_OVER)]
    assert state.report.result.failed == []
    assert state.stopped


@pytest.mark.parametrize(
    ("marker", "made_here", "reason", "stopped"),
    [
        (_claim(), False, "being imported by another live try of this task instance", False),
        (_claim(owner="other0000001"), False, "being imported by another live run", False),
        (_claim(age=7200), True, "taken over by another run (this run's marker was older than claim_timeout)", False),
        (_claim(), True, TAKEN_OVER, True),
    ],
    ids=["listed-ours", "listed-others", "made-old", "made-young"],
)
def test_taken_over_says_who_has_the_file(
    tmp_path: Path, marker: Marker, made_here: bool, reason: str, stopped: bool
) -> None:
    state = _state(tmp_path, FakeSftp())
    state.taken_over(marker, made_here=made_here)
    assert state.report.result.skipped == [("a.csv", reason)]
    assert state.stopped is stopped


@pytest.mark.parametrize(
    ("error", "there"),
    [(None, True), (asyncssh.SFTPNoSuchFile("gone"), False), (asyncssh.SFTPConnectionLost("cut"), True)],
    ids=["found", "gone", "unknown"],
)
def test_still_there_never_assumes_a_marker_gone(tmp_path: Path, error: BaseException | None, there: bool) -> None:
    assert asyncio.run(_state(tmp_path, FakeSftp(lstat=error)).still_there("x")) is there
