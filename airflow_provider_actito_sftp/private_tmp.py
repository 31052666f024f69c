"""The provider's own private temporary folders, and the clean-up after processes killed with kill -9.

Everything the provider writes to a temporary folder (gpg homes holding secret keys, staging copies of
plaintext) lives under ``<tmp>/actito-sftp-<uid>`` (mode 0700, checked: never a symlink or another
user's folder), in per-process folders named ``<pid>-<random>`` (gpg homes move to ``/tmp/actito-sftp-<uid>``
when ``<tmp>`` is too long for gpg-agent's socket: :mod:`.pgp.home`). A process killed with ``kill -9``
cannot clean up; the next one on the host deletes the folders of processes that no longer exist.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from airflow_provider_actito_sftp.exceptions import UnsafeTempDirError

log = logging.getLogger(__name__)

PRIVATE_MODE = 0o700
# ``<pid>-<anything>``: the name :func:`new_process_dir` gives; pid 0 or a leading zero never matches.
_PROCESS_DIR_NAME = re.compile(r"([1-9][0-9]{0,9})-.+")


def provider_temp_root(base: str | None = None) -> Path:
    """Return ``<tempfile.gettempdir()>/actito-sftp-<uid>``, the provider's private temp folder (mode 0700).

    Created on first use; an existing one is used only if it is a real directory owned by us (a mode
    open to group/other is tightened to 0700). Put per-process folders under a subfolder of it, made with
    :func:`private_directory` and named with :func:`new_process_dir`, so :func:`sweep_dead_process_dirs`
    can clean up after killed processes.

    :param base: the folder to make it in instead of the system temp folder (``$TMPDIR``, else ``/tmp``).
    :raises UnsafeTempDirError: the path is a symlink, not a directory, or owned by another user.
    """
    return private_directory(provider_temp_path(base))


def provider_temp_path(base: str | None = None) -> Path:
    """Where :func:`provider_temp_root` is, without creating or checking it.

    :param base: as for :func:`provider_temp_root`.
    """
    return Path(base or tempfile.gettempdir()) / f"actito-sftp-{os.getuid()}"


def private_directory(path: Path) -> Path:
    """Create ``path`` with mode 0700 if missing; otherwise check that only we can use it.

    :param path: the folder; its parent must already exist and be trusted (the system temp folder or a
        folder this function returned).
    :return: ``path``.
    :raises UnsafeTempDirError: ``path`` is a symlink, not a directory, or owned by another user.
    """
    with suppress(FileExistsError):
        path.mkdir(mode=PRIVATE_MODE)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UnsafeTempDirError(f"{path} is not a real directory (a symlink or a file): refusing to use it")
    if info.st_uid != os.getuid():
        raise UnsafeTempDirError(
            f"{path} belongs to uid {info.st_uid}, not to us (uid {os.getuid()}): refusing to use it"
        )
    if stat.S_IMODE(info.st_mode) != PRIVATE_MODE:
        _tighten(path, info)
    return path


def _tighten(path: Path, expected: os.stat_result) -> None:
    """chmod 0700 through a descriptor opened without following links, on the very folder checked."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise UnsafeTempDirError(f"{path} changed while being checked: refusing to use it ({e})") from e
    try:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (expected.st_dev, expected.st_ino):
            raise UnsafeTempDirError(f"{path} changed while being checked: refusing to use it")
        log.warning("Tightening the mode of %s from %o to 0700", path, stat.S_IMODE(opened.st_mode))
        os.fchmod(fd, PRIVATE_MODE)
    finally:
        os.close(fd)


def new_process_dir(parent: Path) -> Path:
    """Create ``parent/<pid>-<random>`` with mode 0700, a folder :func:`sweep_dead_process_dirs` understands.

    :param parent: a folder returned by :func:`private_directory` (or :func:`provider_temp_root`).
    """
    return Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=parent))  # mkdtemp uses mode 0700


def sweep_dead_process_dirs(parent: Path, on_remove: Callable[[Path], None] | None = None) -> list[Path]:
    """Delete the ``<pid>-<anything>`` folders in ``parent`` whose process no longer exists.

    One directory listing plus one ``kill(pid, 0)`` per entry: cheap enough to run before each new
    folder. Entries that are not real directories, not named ``<pid>-...``, or whose pid is alive (or
    reused by another live process) are left alone.

    :param parent: the folder to sweep; a missing folder sweeps nothing.
    :param on_remove: called with each dead folder before it is deleted (e.g. to stop a daemon using
        it); an error it raises is logged and the folder is deleted anyway.
    :return: the folders deleted.
    """
    try:
        entries = list(os.scandir(parent))
    except FileNotFoundError:
        return []
    removed: list[Path] = []
    for entry in entries:
        match = _PROCESS_DIR_NAME.fullmatch(entry.name)
        if match is None or not entry.is_dir(follow_symlinks=False) or _is_alive(int(match.group(1))):
            continue
        path = Path(entry.path)
        if on_remove is not None:
            try:
                on_remove(path)
            except Exception:
                log.warning("Cleaning up %s before deleting it failed", path, exc_info=True)
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.lexists(path):
            log.info("Removed %s, left behind by process %s that no longer runs", path, match.group(1))
            removed.append(path)
    return removed


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or not a pid we can judge: leave its folder
    return True
