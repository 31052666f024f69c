"""Local publishing: private modes, no clobbering, no symlinks followed, leftovers of killed tries removed;
import reports beside the published files."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.exceptions import PublishConflictError
from airflow_provider_actito_sftp.transfer.destinations import Destination, numbered_name
from airflow_provider_actito_sftp.transfer.names import REPORT_FOLDER, owner_id
from airflow_provider_actito_sftp.transfer.options import OnConflict


def _stage(destination: Destination, name: str, data: bytes):
    handle, staged = destination.open_partial(name)
    with handle:
        handle.write(data)
    return staged


def test_partial_and_published_files_are_private_whatever_the_umask(tmp_path: Path):
    old = os.umask(0)
    try:
        destination = Destination(tmp_path)
        staged = _stage(destination, "x.csv", b"secret\n")
        assert stat.S_IMODE(staged.partial.stat().st_mode) == 0o600
        published = Path(destination.publish(staged))
    finally:
        os.umask(old)
    assert stat.S_IMODE(published.stat().st_mode) == 0o600
    assert published.read_bytes() == b"secret\n"
    assert not staged.partial.exists()


def test_fail_policy_never_replaces_and_rename_policy_numbers(tmp_path: Path):
    (tmp_path / "x.csv").write_bytes(b"old")
    with pytest.raises(PublishConflictError, match="already exists"):
        Destination(tmp_path).publish(_stage(Destination(tmp_path), "x.csv", b"new"))
    assert (tmp_path / "x.csv").read_bytes() == b"old"
    renaming = Destination(tmp_path, on_conflict=OnConflict.RENAME)
    assert Path(renaming.publish(_stage(renaming, "x.csv", b"new"))).name == "x-1.csv"
    assert Path(renaming.publish(_stage(renaming, "x.csv", b"newer"))).name == "x-2.csv"
    assert list(renaming.published_candidates("x.csv")) == ["x.csv", "x-1.csv", "x-2.csv"]
    assert numbered_name("archive.tar.gz", 3) == "archive.tar-3.gz"
    assert numbered_name("README", 1) == "README-1"


def test_a_symlink_at_the_final_name_is_neither_followed_nor_hashed(tmp_path: Path):
    target = tmp_path / "elsewhere.txt"
    target.write_bytes(b"not yours")
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "x.csv").symlink_to(target)
    destination = Destination(landing)
    assert destination.sha256_of("x.csv") is None
    with pytest.raises(PublishConflictError):
        destination.publish(_stage(destination, "x.csv", b"new"))
    assert target.read_bytes() == b"not yours"


def test_a_retry_removes_the_partials_of_its_killed_try_and_stale_ones(tmp_path: Path):
    mine, other = owner_id("run-1"), owner_id("run-2")
    killed = _stage(Destination(tmp_path, owner=mine), "a.csv", b"half")
    live = _stage(Destination(tmp_path, owner=other), "b.csv", b"in progress")
    stale = _stage(Destination(tmp_path, owner=other), "c.csv", b"abandoned")
    old = time.time() - 7200
    os.utime(stale.partial, (old, old))
    removed = Destination(tmp_path, owner=mine).sweep_partials(max_age=3600)
    assert sorted(removed) == sorted([killed.partial.name, stale.partial.name])
    assert live.partial.exists()


def test_an_import_report_is_complete_private_and_in_its_own_hidden_folder(tmp_path: Path):
    old = os.umask(0)
    try:
        where = Destination(tmp_path).write_report("r1.jsonl", iter([b'{"a": 1}\n', b'{"a": 2}\n']))
    finally:
        os.umask(old)
    report = tmp_path / REPORT_FOLDER / "r1.jsonl"
    assert where == str(report)
    assert report.read_bytes() == b'{"a": 1}\n{"a": 2}\n'
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert stat.S_IMODE(report.parent.stat().st_mode) == 0o700
    assert os.listdir(report.parent) == ["r1.jsonl"]  # no partial left
    assert os.listdir(tmp_path) == [REPORT_FOLDER]
    # A group-readable file_mode makes a folder the group can enter.
    Destination(tmp_path / "shared", file_mode=0o640).write_report("r2.jsonl", iter([b"{}\n"]))
    assert stat.S_IMODE((tmp_path / "shared" / REPORT_FOLDER / "r2.jsonl").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "shared" / REPORT_FOLDER).stat().st_mode) == 0o750


def test_an_import_report_is_never_written_through_a_symlink_nor_left_half_written(tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / REPORT_FOLDER).symlink_to(elsewhere)
    with pytest.raises(OSError, match=r"Too many levels of symbolic links|Not a directory"):
        Destination(landing).write_report("r.jsonl", iter([b"{}\n"]))
    assert os.listdir(elsewhere) == []

    def failing_lines():
        yield b'{"a": 1}\n'
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        Destination(tmp_path / "full").write_report("r.jsonl", failing_lines())
    assert os.listdir(tmp_path / "full" / REPORT_FOLDER) == []
