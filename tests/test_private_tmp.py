"""The provider's private temp folders: 0700, ours alone (never a symlink or another user's), and the sweep
that deletes what processes killed with kill -9 left behind."""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.exceptions import ActitoSftpError, UnsafeTempDirError
from airflow_provider_actito_sftp.private_tmp import (
    new_process_dir,
    private_directory,
    provider_temp_root,
    sweep_dead_process_dirs,
)

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")


@pytest.fixture
def temp_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private stand-in for the system temp folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


@pytest.fixture
def umask() -> Iterator[None]:
    """Restore the process umask after a test changes it."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    return child.pid


@pytest.mark.usefixtures("umask")
@pytest.mark.parametrize("mask", [0o000, 0o022, 0o277], ids=["umask-000", "umask-022", "umask-277"])
def test_the_root_is_created_private_whatever_the_umask(temp_base: Path, mask: int) -> None:
    os.umask(mask)
    root = provider_temp_root()
    assert root == temp_base / f"actito-sftp-{os.getuid()}"
    assert stat.S_ISDIR(os.lstat(root).st_mode)
    assert _mode(root) == 0o700
    assert provider_temp_root() == root  # a second call uses it as it is


def test_a_too_open_root_is_tightened(temp_base: Path) -> None:
    root = temp_base / f"actito-sftp-{os.getuid()}"
    root.mkdir()
    root.chmod(0o755)
    (root / "kept.txt").write_text("x")
    assert provider_temp_root() == root
    assert _mode(root) == 0o700
    assert (root / "kept.txt").read_text() == "x"  # tightened, not recreated


@pytest.mark.parametrize("planted", ["symlink", "dangling-symlink", "file"])
def test_a_planted_symlink_or_file_is_refused(temp_base: Path, planted: str) -> None:
    root = temp_base / f"actito-sftp-{os.getuid()}"
    target = temp_base / "elsewhere"
    if planted == "symlink":
        target.mkdir(mode=0o755)
        root.symlink_to(target, target_is_directory=True)
    elif planted == "dangling-symlink":
        root.symlink_to(target, target_is_directory=True)
    else:
        root.write_text("")
    with pytest.raises(UnsafeTempDirError, match="not a real directory") as raised:
        provider_temp_root()
    assert isinstance(raised.value, ActitoSftpError)
    assert str(root) in str(raised.value)
    if planted == "symlink":
        assert list(target.iterdir()) == []  # nothing created through the link
        assert _mode(target) == 0o755  # and the link's target not chmod-ed
    else:
        assert not target.exists()


def test_a_subfolder_is_checked_like_the_root(temp_base: Path) -> None:
    root = provider_temp_root()
    elsewhere = temp_base / "elsewhere"
    elsewhere.mkdir()
    (root / "staging").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(UnsafeTempDirError, match="not a real directory"):
        private_directory(root / "staging")
    assert private_directory(root / "gnupg") == root / "gnupg"
    assert _mode(root / "gnupg") == 0o700


@needs_root
def test_a_folder_of_another_owner_is_refused(temp_base: Path) -> None:
    nobody = pwd.getpwnam("nobody")
    root = temp_base / f"actito-sftp-{os.getuid()}"
    root.mkdir(mode=0o755)
    root.chmod(0o755)
    os.chown(root, nobody.pw_uid, nobody.pw_gid)
    with pytest.raises(UnsafeTempDirError, match=f"belongs to uid {nobody.pw_uid}, not to us \\(uid 0\\)"):
        provider_temp_root()
    info = os.lstat(root)
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (nobody.pw_uid, 0o755)  # left as it was, not tightened


def test_a_root_named_for_another_uid_is_refused(temp_base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_uid = os.getuid()
    other_uid = real_uid + 4242
    (temp_base / f"actito-sftp-{other_uid}").mkdir(mode=0o700)  # owned by real_uid
    monkeypatch.setattr(os, "getuid", lambda: other_uid)  # private_tmp asks os.getuid()
    with pytest.raises(UnsafeTempDirError, match=f"belongs to uid {real_uid}, not to us"):
        provider_temp_root()


def test_a_process_folder_is_named_after_the_process_and_private(temp_base: Path) -> None:
    parent = private_directory(provider_temp_root() / "staging")
    first, second = new_process_dir(parent), new_process_dir(parent)
    assert first != second
    for folder in (first, second):
        assert folder.parent == parent
        assert folder.name.startswith(f"{os.getpid()}-")
        assert _mode(folder) == 0o700
    assert sweep_dead_process_dirs(parent) == []  # ours: this process is alive
    assert first.is_dir()
    assert second.is_dir()


def test_only_dead_processes_folders_are_swept(tmp_path: Path) -> None:
    parent = tmp_path / "parent"
    parent.mkdir(mode=0o700)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("x")
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = _dead_pid()
        kept = [
            parent / f"{live.pid}-abcdefgh",
            parent / f"{os.getpid()}-mine",
            parent / "notes",
            parent / "0-zero",
            parent / f"0{dead}-leading-zero",
            parent / "99999999999-eleven-digits",
            parent / "9999999999-not-a-pid",  # kill() cannot judge it: left alone
            parent / f"{dead}",
        ]
        for path in kept:
            path.mkdir()
        plain_file = parent / f"{dead}-file"
        plain_file.write_text("not a folder")
        link = parent / f"{dead}-link"
        link.symlink_to(outside, target_is_directory=True)
        stale = parent / f"{dead}-stale"
        (stale / "private-keys-v1.d").mkdir(parents=True)
        (stale / "private-keys-v1.d" / "key").write_text("secret")

        assert sweep_dead_process_dirs(parent) == [stale]

        assert not stale.exists()
        assert all(path.is_dir() for path in kept)
        assert plain_file.read_text() == "not a folder"
        assert link.is_symlink()
        assert (outside / "keep.txt").read_text() == "x"
        assert sorted(parent.iterdir()) == sorted([*kept, plain_file, link])
    finally:
        live.kill()
        live.wait(timeout=30)


def test_sweep_calls_on_remove_first_and_deletes_even_if_it_fails(tmp_path: Path) -> None:
    dead = _dead_pid()
    first, second = tmp_path / f"{dead}-one", tmp_path / f"{dead}-two"
    first.mkdir()
    second.mkdir()
    seen: list[tuple[Path, bool]] = []

    def on_remove(path: Path) -> None:
        seen.append((path, path.is_dir()))
        raise RuntimeError("agent would not stop")

    assert sorted(sweep_dead_process_dirs(tmp_path, on_remove)) == [first, second]
    assert sorted(seen) == [(first, True), (second, True)]
    assert list(tmp_path.iterdir()) == []


def test_sweeping_a_missing_folder_sweeps_nothing(tmp_path: Path) -> None:
    assert sweep_dead_process_dirs(tmp_path / "missing") == []
    assert not (tmp_path / "missing").exists()
