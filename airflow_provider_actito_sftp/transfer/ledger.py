"""The import ledger for ``after_import="keep"``: which remote files were already imported.

Files that are deleted or archived after import need no ledger (their remote markers carry the state,
see :mod:`~airflow_provider_actito_sftp.transfer.importer`). Files that stay on the server do: their
identity (name, size, mtime) is recorded in Airflow Variables, which tasks may read and write under a
real scheduler (the metadata DB itself is off limits to them) and every worker sees. One Variable per
file, so concurrent tasks never overwrite each other's entries.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Protocol


@dataclass(frozen=True)
class LedgerEntry:
    """What was imported: the remote file's identity (name, size, mtime) and where it went."""

    name: str
    size: int
    mtime: float
    sha256: str
    destination: str
    updated: str = ""

    def same_file(self, size: int, mtime: float) -> bool:
        return self.size == size and int(self.mtime) == int(mtime)


class Ledger(Protocol):
    def get(self, name: str) -> LedgerEntry | None: ...
    def put(self, entry: LedgerEntry) -> None: ...
    def remove(self, name: str) -> None: ...


class VariableLedger:
    """Ledger entries as Airflow Variables ``actito_sftp_ledger:<conn>:<location>:<hash>``.

    :param consumer: who imports (``dag_id.task_id``): two tasks importing the same location with
        ``keep`` are independent consumers and each imports every file once.
    """

    def __init__(self, conn_id: str, location: str, consumer: str) -> None:
        self._prefix = f"actito_sftp_ledger:{conn_id[:100]}:{location}:"
        self._consumer = consumer

    def _key(self, name: str) -> str:
        identity = f"{self._consumer}\0{name}".encode("utf-8", "surrogateescape")
        return self._prefix + hashlib.sha256(identity).hexdigest()[:40]

    def get(self, name: str) -> LedgerEntry | None:
        from airflow.sdk import Variable

        raw = Variable.get(self._key(name), default=None)
        if raw is None:
            return None
        return LedgerEntry(**json.loads(raw))

    def put(self, entry: LedgerEntry) -> None:
        from airflow.sdk import Variable

        stamped = LedgerEntry(**{**asdict(entry), "updated": datetime.now(UTC).isoformat()})
        Variable.set(self._key(entry.name), json.dumps(asdict(stamped)), description="actito-sftp import ledger")

    def remove(self, name: str) -> None:
        from airflow.sdk import Variable

        Variable.delete(self._key(name))
