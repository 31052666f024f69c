"""The bytes of a large remote file kept on local disk while it is read, so that a later try reads only the rest.

Decryption cannot restart mid-stream, and a retry is a new process: for a file of at least
:data:`RESUME_MIN_SIZE` bytes on the server, every byte received is also written (as received: ciphertext for a
PGP file) to a file of its own in the provider's private temp folder (``<tmp>/actito-sftp-<uid>/resume``, 0700;
the file 0600). A try that ends on a cut leaves it there; the next try of the same task instance finds it by
the file's key (owner, connection, location, name, size and modification time on the server), reads those bytes
locally and only the rest from the server. A file changed on the server has another key: it is read from zero,
and the bytes kept for its earlier version are removed.

A file records how many of its bytes are durable in a small JSON sidecar written after an ``fsync`` (at a cut,
and every :data:`CHECKPOINT_BYTES`): after a crash of the machine only those bytes are trusted. A kept file is
locked (``flock``) while a try reads into it, so two live tries of one task instance (a zombie beside its retry)
never write into the same one: the second reads without keeping. Kept bytes are never needed to import a file:
one that cannot be written (a full disk) is dropped, with a warning, and the download goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import secrets
import stat
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path

from airflow_provider_actito_sftp.exceptions import UnsafeTempDirError
from airflow_provider_actito_sftp.private_tmp import PRIVATE_MODE, private_directory, provider_temp_path

log = logging.getLogger(__name__)

RESUME_MIN_SIZE = 64 << 20  # files at least this large on the server keep their bytes locally while read
CHECKPOINT_BYTES = 64 << 20  # kept bytes made durable (fsync + sidecar) at least every this many bytes
REPLAY_CHUNK = 4 << 20  # kept bytes are read back in blocks of this size
FOLDER = "resume"
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True)
class ResumeKey:
    """Which version of which remote file the kept bytes are the start of.

    :param owner: the task instance (the same for all its tries: :func:`~.names.owner_id`).
    :param conn_id: the connection.
    :param location: the location's name.
    :param name: the file's name on the server (its own, not a marker's).
    :param size: its size on the server.
    :param mtime_ns: its modification time on the server.
    """

    owner: str
    conn_id: str
    location: str
    name: str
    size: int
    mtime_ns: int

    @property
    def file_prefix(self) -> str:
        """The kept files of every version of this remote file start with it (no remote name on local disk)."""
        identity = json.dumps([self.owner, self.conn_id, self.location, self.name], ensure_ascii=True)
        return hashlib.sha256(identity.encode()).hexdigest()[:32]

    @property
    def stem(self) -> str:
        return f"{self.file_prefix}.{self.size}-{self.mtime_ns}"


def resume_folder() -> Path:
    """The private folder of kept bytes (0700, ours: checked; made if missing)."""
    return private_directory(private_directory(provider_temp_path()) / FOLDER)


class KeptBytes:
    """The start of one remote file on local disk: :attr:`size` durable-or-not bytes, appended in order.

    Create it with :meth:`open`; :meth:`close` (keep for a later try) or :meth:`remove` it.
    """

    def __init__(self, key: ResumeKey, folder: Path, fd: int, size: int) -> None:
        self.key = key
        self.path = folder / f"{key.stem}.bytes"
        self._sidecar = folder / f"{key.stem}.json"
        self._fd: int | None = fd
        self.size = size  # bytes in the file
        self.reused = size  # bytes an earlier try kept, found at open
        self._durable = size
        self._pending: list[bytes] = []
        self._pending_size = 0

    @classmethod
    def open(cls, key: ResumeKey) -> KeptBytes | None:
        """The kept bytes of this version of the file (none yet: an empty file), locked for this try; None when
        another live process holds them, or they cannot be kept here (logged): the download goes on without."""
        try:
            folder = resume_folder()
            _remove_other_versions(folder, key)
            return cls._locked(key, folder)
        except BlockingIOError:
            log.warning("%s: its kept bytes are in use by another live process; this try keeps none", key.name)
        except (OSError, UnsafeTempDirError) as e:
            log.error("%s: cannot keep its bytes in the private temp folder: %s", key.name, e)
        return None

    @classmethod
    def _locked(cls, key: ResumeKey, folder: Path) -> KeptBytes:
        path = folder / f"{key.stem}.bytes"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | _NO_FOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
                raise UnsafeTempDirError(f"{path} is not a regular file of ours: refusing to use it")
            os.fchmod(fd, 0o600)
            kept = _durable_size(folder / f"{key.stem}.json", key, info.st_size)
            os.ftruncate(fd, kept)
        except BaseException:
            os.close(fd)
            raise
        return cls(key, folder, fd, kept)

    async def replay(self) -> AsyncIterator[bytes]:
        """Yield the kept bytes from the first, read back from disk (what was appended meanwhile included)."""
        self._flush()
        offset = 0
        while offset < self.size and self._fd is not None:
            block = await asyncio.to_thread(os.pread, self._fd, min(REPLAY_CHUNK, self.size - offset), offset)
            if not block:
                raise OSError(errno.EIO, f"{self.path} is shorter than the {self.size} bytes kept")
            offset += len(block)
            yield block

    def append(self, block: bytes) -> None:
        """Keep ``block``, the next bytes of the file; on a local error the kept bytes are dropped (logged)."""
        if self._fd is None:
            return
        self._pending.append(block)
        self._pending_size += len(block)
        self.size += len(block)
        if self._pending_size >= REPLAY_CHUNK:
            self._flush()

    def due(self) -> bool:
        """Whether :data:`CHECKPOINT_BYTES` were appended since the last :meth:`checkpoint`."""
        return self._fd is not None and self.size - self._durable >= CHECKPOINT_BYTES

    async def checkpoint(self) -> None:
        """Make the bytes so far durable, then record their count in the sidecar (a later try trusts those)."""
        self._flush()
        if self._fd is None or self.size == self._durable:
            return
        size, fd = self.size, self._fd
        try:
            await asyncio.to_thread(os.fdatasync, fd)
            await asyncio.to_thread(_write_sidecar, self._sidecar, self.key, size)
        except OSError as e:
            self._drop(e)
            return
        self._durable = size

    def close(self) -> None:
        """Release the file (and its lock), kept for a later try as far as it is durable."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def remove(self) -> None:
        """Delete the kept bytes (the file was imported, refused or changed)."""
        self.close()
        for path in (self.path, self._sidecar):
            try:
                path.unlink(missing_ok=True)
            except OSError as e:  # the sweep removes it later
                log.warning("%s: could not remove %s: %s", self.key.name, path, e)

    @property
    def dropped(self) -> bool:
        return self._fd is None

    def _flush(self) -> None:
        if not self._pending or self._fd is None:
            return
        data, self._pending, self._pending_size = b"".join(self._pending), [], 0
        try:
            if os.pwrite(self._fd, data, self.size - len(data)) != len(data):
                raise OSError(errno.ENOSPC, "short write")
        except OSError as e:
            self._drop(e)

    def _drop(self, error: OSError) -> None:
        why = "the disk is full" if error.errno in _DISK_FULL else str(error)
        log.warning("%s: cannot keep its bytes locally (%s); a later try would read it from zero", self.key.name, why)
        self.remove()


def _durable_size(sidecar: Path, key: ResumeKey, file_size: int) -> int:
    """How many bytes of the kept file a later try may trust: what the sidecar of the same key says was made
    durable, if the file still has them (0 otherwise)."""
    try:
        recorded = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return 0
    if not isinstance(recorded, dict) or recorded.get("key") != asdict(key):
        return 0
    durable = recorded.get("durable")
    if not isinstance(durable, int) or not 0 <= durable <= min(file_size, key.size):
        return 0
    return durable


def _write_sidecar(sidecar: Path, key: ResumeKey, durable: int) -> None:
    temporary = sidecar.with_name(f".{sidecar.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NO_FOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            json.dump({"key": asdict(key), "durable": durable}, handle)
        os.replace(temporary, sidecar)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _remove_other_versions(folder: Path, key: ResumeKey) -> None:
    """The file changed on the server: the bytes kept for its earlier version are of no use."""
    prefix, own = f"{key.file_prefix}.", f"{key.stem}."
    with os.scandir(folder) as entries:
        stale = [entry.path for entry in entries if entry.name.startswith(prefix) and not entry.name.startswith(own)]
    for path in stale:
        Path(path).unlink(missing_ok=True)
    if stale:
        log.info("%s: changed on the server since an earlier try kept its start; read from zero", key.name)


def sweep_kept(max_age: float) -> list[str]:
    """Remove kept bytes untouched for ``max_age`` seconds (their try will not come back for them) and not in
    use by a live process; return the names removed.

    :param max_age: seconds (the import's ``claim_timeout``).
    """
    root = provider_temp_path()
    folder = root / FOLDER
    if not (_private(root) and _private(folder)):  # none yet (nothing to sweep), or not ours alone: never touched
        return []
    now, removed = time.time(), []
    for entry in os.scandir(folder):
        with contextlib.suppress(FileNotFoundError):  # removed meanwhile
            if not entry.is_file(follow_symlinks=False) or now - entry.stat(follow_symlinks=False).st_mtime <= max_age:
                continue
            if entry.name.endswith(".bytes") and _in_use(entry.path):
                continue
            Path(entry.path).unlink(missing_ok=True)
            removed.append(entry.name)
    if removed:
        log.info("Removed %d file(s) of bytes kept by downloads older than %.0f s", len(removed), max_age)
    return removed


def _private(folder: Path) -> bool:
    """Whether ``folder`` is a real folder of ours, 0700 (checked without making or changing anything)."""
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) == PRIVATE_MODE


def _in_use(path: str) -> bool:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | _NO_FOLLOW | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
    return False
