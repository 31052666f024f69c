"""A fresh, private GNUPGHOME for each PGP operation, removed afterwards with its gpg-agent stopped.

Keys are never imported into a user's or worker's keyring: each operation imports exactly the keys it
needs into a temporary home, so no other key can be used by accident and nothing is left on disk.

Every home lives in one provider-owned folder, ``<tmp>/actito-sftp-<uid>/gnupg/<pid>-<random>``. A task
killed with ``kill -9`` cannot clean up after itself, so each new home first sweeps the homes of dead
processes: their gpg-agent is stopped and the folder (with the secret keys imported in it) deleted.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import gnupg

from airflow_provider_actito_sftp.exceptions import ActitoSftpError

log = logging.getLogger(__name__)


def _drop_debug(record: logging.LogRecord) -> bool:
    return record.levelno > logging.DEBUG


# python-gnupg logs the first bytes of imported keys and of gpg's output at DEBUG level: with a DEBUG
# task log that would publish secret keys and plaintext. Drop its DEBUG records, whatever the config.
logging.getLogger("gnupg").addFilter(_drop_debug)

GPG_BINARY = "gpg"
GNUPG_FOLDER = "gnupg"
PRIVATE_MODE = 0o700
# ``<pid>-<anything>``: the name :func:`new_process_dir` gives; pid 0 or a leading zero never matches.
_PROCESS_DIR_NAME = re.compile(r"([1-9][0-9]{0,9})-.+")


class GpgUnavailableError(ActitoSftpError):
    """The ``gpg`` command is not installed."""


class UnsafeTempDirError(ActitoSftpError):
    """A provider temp folder exists but is not ours alone (a symlink, a file, or another user's)."""


def provider_temp_root() -> Path:
    """Return ``<tempfile.gettempdir()>/actito-sftp-<uid>``, the provider's private temp folder (mode 0700).

    Created on first use; an existing one is used only if it is a real directory owned by us (a mode
    open to group/other is tightened to 0700). Put per-process folders under a subfolder of it, made with
    :func:`private_directory` and named with :func:`new_process_dir`, so :func:`sweep_dead_process_dirs`
    can clean up after killed processes.

    :raises UnsafeTempDirError: the path is a symlink, not a directory, or owned by another user.
    """
    return private_directory(Path(tempfile.gettempdir()) / f"actito-sftp-{os.getuid()}")


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


@contextmanager
def temporary_gnupg_home() -> Iterator[gnupg.GPG]:
    """Yield a ``gnupg.GPG`` bound to a new empty home (mode 0700); stop its agent and delete it on exit.

    The home is ``<provider_temp_root()>/gnupg/<pid>-<random>``; the homes of dead processes there are
    swept first (agent stopped, folder deleted).

    :raises GpgUnavailableError: ``gpg`` is not installed.
    :raises UnsafeTempDirError: a provider temp folder is a symlink, a file, or another user's.
    """
    if shutil.which(GPG_BINARY) is None:
        raise GpgUnavailableError("the 'gpg' command is not installed (apt-get install gnupg)")
    parent = private_directory(provider_temp_root() / GNUPG_FOLDER)
    sweep_dead_process_dirs(parent, on_remove=_stop_agent)
    home = new_process_dir(parent)
    try:
        yield gnupg.GPG(gpgbinary=GPG_BINARY, gnupghome=str(home), use_agent=False)
    finally:
        _stop_agent(home)
        shutil.rmtree(home, ignore_errors=True)


def _stop_agent(home: Path) -> None:
    """Stop the gpg-agent (and any other daemon) gpg started for this home."""
    try:
        subprocess.run(
            ["gpgconf", "--homedir", str(home), "--kill", "all"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        log.warning("Could not stop the gpg-agent of a temporary GNUPGHOME: %s", e)
