"""Which remote files are ready to import: pattern, regular files only, not in progress, old enough."""

from __future__ import annotations

import fnmatch
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_actito_sftp.transfer.names import is_in_progress

if TYPE_CHECKING:
    from airflow_provider_actito_sftp.ssh.session import RemoteEntry


@dataclass(frozen=True)
class FileFilter:
    """Selects files in a location listing.

    :param pattern: a glob (``*.csv.pgp``) or, with ``regex=True``, a regular expression matched in full.
    :param min_age: seconds since the last modification before a file counts as complete.
    :param lock_suffix: the connection's own upload lock suffix, also treated as in progress.
    """

    pattern: str = "*"
    regex: bool = False
    min_age: float = 0.0
    lock_suffix: str = ".part"

    def matches(self, name: str) -> bool:
        if self.regex:
            return re.fullmatch(self.pattern, name) is not None
        return fnmatch.fnmatchcase(name, self.pattern)

    def ready(self, entries: list[RemoteEntry], *, now: float | None = None) -> list[RemoteEntry]:
        """Files that match and are complete (not temporary names, not modified in the last ``min_age`` s)."""
        moment = time.time() if now is None else now
        return [
            entry
            for entry in entries
            if entry.is_file
            and not is_in_progress(entry.name, (self.lock_suffix,))
            and self.matches(entry.name)
            and (self.min_age <= 0 or moment - entry.mtime.timestamp() >= self.min_age)
        ]
