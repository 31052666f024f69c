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
from enum import StrEnum
from typing import Any, Protocol

NS = 1_000_000_000
CLOCK_SLACK_SECONDS = 2


class Seen(StrEnum):
    """How a listed file compares with its ledger entry."""

    CHANGED = "changed"  # another size or modification time: import it
    SAME = "same"  # already imported
    UNSURE = "unsure"  # same size and second, but it could have been rewritten within that second


@dataclass(frozen=True)
class LedgerEntry:
    """What was imported: the remote file's identity (name, size, mtime) and where it went."""

    name: str
    size: int
    mtime: float
    sha256: str
    destination: str
    updated: str = ""
    mtime_ns: int = 0  # as precise as the server gives it (0 in entries of older versions)
    imported_at: float = 0.0  # epoch seconds

    def compare(self, size: int, mtime_ns: int) -> Seen:
        """Compare with a listed file.

        SFTP v3 servers (OpenSSH) give whole seconds. A file rewritten with the same size within the
        second it was imported in cannot be told apart by its listing: that case is :attr:`Seen.UNSURE`,
        and the importer compares content hashes instead.
        """
        recorded_ns = self.mtime_ns or int(self.mtime) * NS
        if size != self.size or mtime_ns // NS != recorded_ns // NS:
            return Seen.CHANGED
        if self.mtime_ns and mtime_ns != recorded_ns:
            return Seen.CHANGED
        whole_seconds = mtime_ns % NS == 0
        if whole_seconds and self.imported_at and mtime_ns // NS >= int(self.imported_at) - CLOCK_SLACK_SECONDS:
            return Seen.UNSURE
        return Seen.SAME


class Ledger(Protocol):
    def get(self, name: str) -> LedgerEntry | None: ...
    def put(self, entry: LedgerEntry) -> None: ...
    def remove(self, name: str) -> None: ...


class _VariableRecords:
    """JSON records in Airflow Variables ``actito_sftp_<kind>:<conn>:<location>:<hash of scope and name>``.

    One Variable per name, so concurrent tasks never overwrite each other's records.
    """

    def __init__(self, kind: str, conn_id: str, location: str, scope: str, description: str) -> None:
        self._prefix = f"actito_sftp_{kind}:{conn_id[:100]}:{location}:"
        self._scope = scope
        self._description = description

    def key(self, name: str) -> str:
        identity = f"{self._scope}\0{name}".encode("utf-8", "surrogateescape")
        return self._prefix + hashlib.sha256(identity).hexdigest()[:40]

    def get(self, name: str) -> dict[str, Any] | None:
        from airflow.sdk import Variable

        raw = Variable.get(self.key(name), default=None)
        return None if raw is None else dict(json.loads(raw))

    def put(self, name: str, record: dict[str, Any]) -> None:
        from airflow.sdk import Variable

        Variable.set(self.key(name), json.dumps(record), description=self._description)

    def delete(self, name: str) -> None:
        from airflow.sdk import Variable

        Variable.delete(self.key(name))


class VariableLedger:
    """Ledger entries as Airflow Variables ``actito_sftp_ledger:<conn>:<location>:<hash>``.

    :param consumer: who imports (``dag_id.task_id``): two tasks importing the same location with
        ``keep`` are independent consumers and each imports every file once.
    """

    def __init__(self, conn_id: str, location: str, consumer: str) -> None:
        self._records = _VariableRecords("ledger", conn_id, location, consumer, "actito-sftp import ledger")

    def get(self, name: str) -> LedgerEntry | None:
        raw = self._records.get(name)
        return None if raw is None else LedgerEntry(**raw)

    def put(self, entry: LedgerEntry) -> None:
        self._records.put(entry.name, {**asdict(entry), "updated": datetime.now(UTC).isoformat()})

    def remove(self, name: str) -> None:
        self._records.delete(name)


@dataclass(frozen=True)
class Delivery:
    """A file an export delivered: a retry of the same task counts it as done instead of refusing it."""

    name: str
    sha256: str  # of the source (plaintext)
    plaintext_bytes: int
    wire_bytes: int  # the remote file's size
    pgp_fingerprint: str | None = None


class DeliveryLog(Protocol):
    def get(self, name: str) -> Delivery | None: ...
    def put(self, delivery: Delivery) -> None: ...


class VariableDeliveryLog:
    """Deliveries as Airflow Variables ``actito_sftp_delivered:<conn>:<location>:<hash>``, one per file.

    :param owner: the exporting task instance (:func:`~.names.owner_id`), so only its own retries
        count a file as already delivered.
    """

    def __init__(self, conn_id: str, location: str, owner: str) -> None:
        self._records = _VariableRecords("delivered", conn_id, location, owner, "actito-sftp export log")

    def get(self, name: str) -> Delivery | None:
        raw = self._records.get(name)
        return None if raw is None else Delivery(**raw)

    def put(self, delivery: Delivery) -> None:
        self._records.put(delivery.name, asdict(delivery))
