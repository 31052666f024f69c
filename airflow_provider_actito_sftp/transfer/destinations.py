"""Where imported files land: a local folder or an Airflow ObjectStoragePath, published atomically.

Data is first written to a hidden partial file (mode 0600 by default, never through a symlink);
:meth:`Destination.publish` gives it its final name only when the caller says the content is good
(gpg reported success, sizes and hashes checked). Publishing never replaces a file unless the
``on_conflict`` policy says so, and never one published earlier in the same run.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import stat
import time
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from airflow_provider_actito_sftp.exceptions import PublishConflictError
from airflow_provider_actito_sftp.private_tmp import (
    new_process_dir,
    private_directory,
    provider_temp_root,
    sweep_dead_process_dirs,
)
from airflow_provider_actito_sftp.transfer.names import REPORT_FOLDER, partial_name, partial_owner
from airflow_provider_actito_sftp.transfer.options import ImportOptions, OnConflict

log = logging.getLogger(__name__)

_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
_MAX_RENAMES = 10_000


@dataclass
class StagedFile:
    """Content written under a partial name, not yet visible under its final name."""

    partial: Path
    final_name: str


class Destination:
    """A local folder (``file://`` object storage counts as local) or remote object storage.

    :param target: a folder path or an ``ObjectStoragePath``.
    :param owner: who writes partial files here (see :func:`~.names.owner_id`): a retry removes the
        partial files its killed predecessor left.
    :param file_mode: permissions of partial and published files (default: the import's, 0600: plaintext is
        private).
    :param on_conflict: what to do when a final name is taken (see :class:`~.options.OnConflict`; default: the
        import's).
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | Any,
        *,
        owner: str = "",
        file_mode: int = ImportOptions.file_mode,
        on_conflict: OnConflict = ImportOptions.on_conflict,
    ) -> None:
        self.owner = owner
        self.file_mode = file_mode
        self.on_conflict = on_conflict
        self._object_path: Any | None = None
        local = _as_local_path(target)
        if local is None:
            # Plaintext staged for object storage: in the provider's private temp folder, where the
            # folders of killed processes are removed by the next one.
            parent = private_directory(provider_temp_root() / "staging")
            sweep_dead_process_dirs(parent)
            self._object_path = target
            self._staging = new_process_dir(parent)
        else:
            local.mkdir(parents=True, exist_ok=True)
            self._staging = local
        self.local_folder = local

    @staticmethod
    def uri_of(target: Any) -> str | None:
        """The URI of a destination given as a path or ObjectStoragePath (None if it cannot be known)."""
        local = _as_local_path(target)
        if local is not None:
            return local.resolve().as_uri()
        return str(target) if target else None

    @property
    def uri(self) -> str:
        if self._object_path is not None:
            return str(self._object_path)
        assert self.local_folder is not None
        return self.local_folder.resolve().as_uri()

    def open_partial(self, final_name: str) -> tuple[IO[bytes], StagedFile]:
        """Create a new hidden partial file (exclusive, no symlink followed, ``file_mode``)."""
        partial = self._staging / partial_name(final_name, self.owner)
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NO_FOLLOW | os.O_CLOEXEC, self.file_mode)
        os.fchmod(descriptor, self.file_mode)  # whatever the umask
        return os.fdopen(descriptor, "wb"), StagedFile(partial, final_name)

    def write_durably(self, final_name: str, content: bytes) -> StagedFile:
        """A new partial file (as :meth:`open_partial`) holding ``content``, fsynced and closed."""
        handle, staged = self.open_partial(final_name)
        try:
            with handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            self.discard(staged)
            raise
        return staged

    def exists(self, final_name: str) -> bool:
        """Whether something (a file, a link, a folder) already has this final name."""
        if self._object_path is not None:
            return bool((self._object_path / final_name).exists())
        assert self.local_folder is not None
        return os.path.lexists(self.local_folder / final_name)

    def publish(self, staged: StagedFile) -> str:
        """Make the staged content visible under its final name; return where it went.

        Locally the partial file is hard-linked to the final name, which fails if the name exists (no
        window where a file could be replaced), then the folder is fsynced.

        :raises PublishConflictError: the name is taken and ``on_conflict`` is ``fail``.
        """
        if self._object_path is not None:
            return self._publish_object(staged)
        assert self.local_folder is not None
        for name in self._candidate_names(staged.final_name):
            final = self.local_folder / name
            try:
                self._link_or_replace(staged.partial, final)
            except FileExistsError:
                continue
            staged.partial.unlink(missing_ok=True)
            _fsync_folder(self.local_folder)
            return str(final)
        raise self._conflict(staged.final_name)

    def _link_or_replace(self, partial: Path, final: Path) -> None:
        if self.on_conflict is OnConflict.REPLACE:
            if os.path.isdir(final) and not os.path.islink(final):
                raise PublishConflictError(f"{final} is a folder; it is not replaced")
            os.replace(partial, final)  # replaces a symlink itself, never its target
            return
        try:
            os.link(partial, final, follow_symlinks=False)
        except OSError as e:
            if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            # No hard links here (some network file systems): reserve the name, then rename over it.
            os.close(os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NO_FOLLOW, self.file_mode))
            os.replace(partial, final)

    def _candidate_names(self, final_name: str) -> Iterator[str]:
        yield final_name
        if self.on_conflict is OnConflict.RENAME:
            for index in range(1, _MAX_RENAMES):
                yield numbered_name(final_name, index)

    def _conflict(self, final_name: str) -> PublishConflictError:
        return PublishConflictError(
            f"{final_name!r} already exists in {self.uri}; it is not replaced (on_conflict='fail'). "
            "Move it away, or set on_conflict='rename' or 'replace'"
        )

    def _publish_object(self, staged: StagedFile) -> str:
        # Object stores have no exclusive create: check, then write (the name is not reserved meanwhile).
        folder: Any = self._object_path
        names = self._candidate_names(staged.final_name)
        if self.on_conflict is OnConflict.REPLACE:
            target = folder / staged.final_name
        else:
            target = next((folder / name for name in names if not self.exists(name)), None)
        if target is None:
            raise self._conflict(staged.final_name)
        temporary = folder / partial_name(staged.final_name, self.owner)
        try:
            with staged.partial.open("rb") as source, temporary.open("wb") as sink:
                shutil.copyfileobj(source, sink, 4 << 20)
            temporary.rename(target)
        finally:
            staged.partial.unlink(missing_ok=True)
            if temporary.exists():
                temporary.unlink()
        return str(target)

    def published_candidates(self, final_name: str) -> Iterator[str]:
        """Names a file may have been published under (its own, then ``x-1.csv``... while they exist)."""
        for index, name in enumerate(self._candidate_names(final_name)):
            if index and not self.exists(name):
                return
            yield name

    def sha256_of(self, final_name: str) -> str | None:
        """The sha256 of a published regular file, or None (used to recover interrupted runs)."""
        try:
            if self._object_path is not None:
                handle: IO[bytes] = (self._object_path / final_name).open("rb")
            else:
                assert self.local_folder is not None
                descriptor = os.open(self.local_folder / final_name, os.O_RDONLY | _NO_FOLLOW | os.O_CLOEXEC)
                if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                    os.close(descriptor)
                    return None
                handle = os.fdopen(descriptor, "rb")
            with handle:
                digest = hashlib.sha256()
                while block := handle.read(4 << 20):
                    digest.update(block)
        except OSError:
            return None
        return digest.hexdigest()

    def sweep_partials(self, max_age: float) -> list[str]:
        """Remove partial files left by a killed try of this owner, or older than ``max_age`` seconds."""
        if self.local_folder is None:
            return []
        removed = []
        now = time.time()
        with os.scandir(self.local_folder) as entries:
            for entry in entries:
                owner = partial_owner(entry.name)
                if owner is None or not entry.is_file(follow_symlinks=False):
                    continue
                mine = bool(self.owner) and owner == self.owner
                if mine or now - entry.stat(follow_symlinks=False).st_mtime > max_age:
                    Path(entry.path).unlink(missing_ok=True)
                    removed.append(entry.name)
        if removed:
            log.warning("Removed %d partial file(s) left by an interrupted import in %s", len(removed), self.uri)
        return removed

    def discard(self, staged: StagedFile) -> None:
        staged.partial.unlink(missing_ok=True)

    def write_report(self, name: str, lines: Iterable[bytes]) -> str:
        """Write an import's report to ``<destination>/.actito-sftp-reports/<name>``; return where it is.

        Not an imported file: its folder's name is refused for imported files, and an import lists only
        regular files. Locally the folder is never a symlink, the file has ``file_mode`` (0600 by default)
        and is complete or absent (written under a hidden name, fsynced, then renamed).
        """
        if self._object_path is not None:
            target = self._object_path / REPORT_FOLDER / name
            with target.open("wb") as sink:
                for line in lines:
                    sink.write(line)
            return str(target)
        assert self.local_folder is not None
        folder = self.local_folder / REPORT_FOLDER
        folder_mode = 0o700 | (self.file_mode & 0o044) | (self.file_mode & 0o044) >> 2  # r-x where files are r--
        with suppress(FileExistsError):
            folder.mkdir(mode=folder_mode)
        folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | _NO_FOLLOW | os.O_CLOEXEC)
        try:
            _write_durably_in(folder_fd, name, lines, self.file_mode)
        finally:
            os.close(folder_fd)
        return str(folder / name)

    def close(self) -> None:
        if self._object_path is not None:
            shutil.rmtree(self._staging, ignore_errors=True)


def numbered_name(name: str, index: int) -> str:
    """``x.csv`` -> ``x-1.csv``; ``x`` -> ``x-1``; ``.env`` -> ``.env-1``."""
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        return f"{name}-{index}"
    return f"{stem}-{index}.{suffix}"


def _as_local_path(target: Any) -> Path | None:
    if isinstance(target, str | os.PathLike) and not _has_scheme(str(target)):
        return Path(target)
    protocol = getattr(target, "protocol", None)
    if protocol in ("file", "local", ("file", "local")):
        return Path(target.path)
    if isinstance(target, str) and target.startswith("file://"):
        return Path(target.removeprefix("file://"))
    return None


def _has_scheme(text: str) -> bool:
    head, sep, _ = text.partition("://")
    return bool(sep) and head.isalnum()


def _write_durably_in(folder_fd: int, name: str, lines: Iterable[bytes], mode: int) -> None:
    """Write ``name`` in the folder open as ``folder_fd``: a hidden partial (exclusive, no symlink followed,
    ``mode``), fsynced, renamed to ``name``, the folder fsynced."""
    partial = f".{name}.partial"
    descriptor = os.open(
        partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NO_FOLLOW | os.O_CLOEXEC, mode, dir_fd=folder_fd
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), mode)  # whatever the umask
            for line in lines:
                handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(partial, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(partial, dir_fd=folder_fd)
        raise
    os.fsync(folder_fd)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
