"""Where imported files land: a local folder or an Airflow ObjectStoragePath, published atomically.

Data is first written to a hidden partial file; :meth:`Destination.publish` moves it to its final
name only when the caller says the content is good (gpg reported success, hashes computed).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


@dataclass
class StagedFile:
    """Content written under a partial name, not yet visible under its final name."""

    partial: Path
    final_name: str


class Destination:
    """A local folder (``file://`` object storage counts as local) or remote object storage."""

    def __init__(self, target: str | os.PathLike[str] | Any) -> None:
        self._object_path: Any | None = None
        local = _as_local_path(target)
        if local is None:
            self._object_path = target
            self._staging = Path(tempfile.mkdtemp(prefix="actito-staging-"))
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
        partial = self._staging / f".{final_name}.actito-partial-{secrets.token_hex(6)}"
        handle = partial.open("xb")
        return handle, StagedFile(partial, final_name)

    def publish(self, staged: StagedFile) -> str:
        """Make the staged content visible under its final name (atomic rename locally)."""
        if self._object_path is None:
            assert self.local_folder is not None
            final = self.local_folder / staged.final_name
            os.replace(staged.partial, final)
            _fsync_folder(self.local_folder)
            return str(final)
        target = self._object_path / staged.final_name
        temporary = self._object_path / f".{staged.final_name}.actito-partial-{secrets.token_hex(6)}"
        try:
            with staged.partial.open("rb") as source, temporary.open("wb") as sink:
                shutil.copyfileobj(source, sink, 4 << 20)
            temporary.rename(target)
        finally:
            staged.partial.unlink(missing_ok=True)
            if temporary.exists():
                temporary.unlink()
        return str(target)

    def sha256_of(self, final_name: str) -> str | None:
        """The sha256 of a published file, or None if there is none (used to recover interrupted runs)."""
        target: Any = self._object_path / final_name if self._object_path is not None else None
        if self.local_folder is not None:
            target = self.local_folder / final_name
        try:
            with target.open("rb") as handle:
                digest = hashlib.sha256()
                while block := handle.read(4 << 20):
                    digest.update(block)
        except (FileNotFoundError, OSError):
            return None
        return digest.hexdigest()

    def discard(self, staged: StagedFile) -> None:
        staged.partial.unlink(missing_ok=True)

    def close(self) -> None:
        if self._object_path is not None:
            shutil.rmtree(self._staging, ignore_errors=True)


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


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
