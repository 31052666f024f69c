"""Which remote files are ready to import (pattern, regular files only, not in progress, old enough), and
which of them one run takes (oldest first, up to ``max_files`` / ``max_bytes``)."""

from __future__ import annotations

import fnmatch
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_actito_sftp.transfer.ledger import Seen
from airflow_provider_actito_sftp.transfer.names import check_remote_name, is_in_progress
from airflow_provider_actito_sftp.transfer.options import ImportOptions

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_actito_sftp.ssh.session import RemoteEntry


@dataclass(frozen=True)
class FileFilter:
    """Selects files in a location listing.

    :param pattern: a glob (``*.csv.pgp``) or, with ``regex=True``, a regular expression matched in full.
    :param min_age: seconds since the last modification before a file counts as complete.
    :param lock_suffix: the connection's own upload lock suffix, also treated as in progress.
    """

    pattern: str = ImportOptions.pattern
    regex: bool = ImportOptions.regex
    min_age: float = 0.0  # none (the hook passes the import's ``min_age``)
    lock_suffix: str = ".part"

    def matches(self, name: str) -> bool:
        """Whether ``name`` matches the pattern. A hidden name (``.bash_history``, a partner's ``.lock``) matches
        only where the pattern names its dot, as with ``sftp``'s and the shell's globs, not with a wildcard: the
        globs ``*``, ``?*`` and ``*.csv`` and the regex ``.*\\.csv`` leave it out; the globs ``.*`` and ``.lock``
        and the regexes ``\\.lock`` and ``(?:\\.lock|.*\\.csv)`` take it."""
        if _hidden(name) and self._matches(_WILDCARD_PROBE + name[1:]):
            return False  # a wildcard took the dot: the pattern does not name it
        return self._matches(name)

    def _matches(self, name: str) -> bool:
        if self.regex:
            return re.fullmatch(self.pattern, name) is not None
        return fnmatch.fnmatchcase(name, self.pattern)

    def ready(self, entries: list[RemoteEntry], *, now: float | None = None) -> list[RemoteEntry]:
        """Files that match and are complete (not temporary names, not modified in the last ``min_age`` s)."""
        moment = time.time() if now is None else now
        return [
            entry
            for entry in entries
            if self.present(entry) and self.matches(entry.name) and self.old_enough(entry, moment)
        ]

    def present(self, entry: RemoteEntry) -> bool:
        """Whether ``entry`` is a regular file under its final name (not a temporary name, not our marker)."""
        return entry.is_file and not is_in_progress(entry.name, (self.lock_suffix,))

    def old_enough(self, entry: RemoteEntry, now: float) -> bool:
        """Whether ``entry`` was last modified at least ``min_age`` seconds before ``now``."""
        return self.min_age <= 0 or now - entry.mtime.timestamp() >= self.min_age


# In place of a hidden name's dot: a character only a wildcard matches (no name holds it; the import refuses one).
_WILDCARD_PROBE = "\x00"


def _hidden(name: str) -> bool:
    """A dot-file's name; not an unsafe one (``../x``, ``.\\x``), which the import refuses and reports."""
    if not name.startswith("."):
        return False
    try:
        check_remote_name(name)
    except ValueError:
        return False
    return True


def not_in_ledger(
    ready: list[RemoteEntry], ledger_says: Callable[[RemoteEntry], Seen]
) -> tuple[dict[RemoteEntry, Seen], list[RemoteEntry]]:
    """Split ready files into those a ``keep`` ledger has not recorded as imported (with what it says of each)
    and those it has. An unsafe name is not looked up: the import refuses it, untouched."""
    new: dict[RemoteEntry, Seen] = {}
    already = []
    for entry in ready:
        try:
            check_remote_name(entry.name)
        except ValueError:
            new[entry] = Seen.CHANGED
            continue
        seen = ledger_says(entry)
        if seen is Seen.SAME:
            already.append(entry)
        else:
            new[entry] = seen
    return new, already


def oldest_first(entries: list[RemoteEntry]) -> list[RemoteEntry]:
    """``entries`` in the order the partner wrote them: modification time, then name."""
    return sorted(entries, key=lambda entry: (entry.mtime_ns or int(entry.mtime.timestamp() * 1e9), entry.name))


@dataclass(frozen=True)
class BatchLimit:
    """How much one import run takes, so that a backlog drains over several runs, oldest first.

    :param max_files: files a run takes at most (None: no limit).
    :param max_bytes: bytes *on the server* (encrypted size) a run takes at most (None: no limit). The
        oldest file is always taken, even one larger than ``max_bytes`` (it is imported alone); after it,
        the run stops before the first file that would pass the limit, so files are never taken out of
        order.
    """

    max_files: int | None = ImportOptions.max_files
    max_bytes: int | None = ImportOptions.max_bytes

    def take(self, entries: list[RemoteEntry]) -> tuple[list[RemoteEntry], list[RemoteEntry]]:
        """Split ready files into this run's batch (oldest first) and the files left for a later run."""
        ordered = oldest_first(entries)
        count = len(ordered) if self.max_files is None else min(self.max_files, len(ordered))
        if self.max_bytes is not None:
            total = 0
            for index, entry in enumerate(ordered[:count]):
                total += entry.size
                if index and total > self.max_bytes:
                    count = index
                    break
        return ordered[:count], ordered[count:]
