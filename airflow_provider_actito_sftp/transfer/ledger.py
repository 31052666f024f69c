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
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import ClassVar, Generic, Protocol, TypeVar

NS = 1_000_000_000
CLOCK_SLACK_SECONDS = 2
Record = TypeVar("Record")


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


class _VariableRecords(Generic[Record]):
    """Records of one dataclass in Airflow Variables ``actito_sftp_<kind>:<conn>:<location>:<hash>``.

    The hash covers the scope (who owns the records) and the file name. One Variable per name, so
    concurrent tasks never overwrite each other's records.
    """

    _kind: ClassVar[str]
    _description: ClassVar[str]
    _record_type: type[Record]

    def __init__(self, conn_id: str, location: str, scope: str) -> None:
        self._prefix = f"actito_sftp_{self._kind}:{conn_id[:100]}:{location}:"
        self._scope = scope

    def _key(self, name: str) -> str:
        identity = f"{self._scope}\0{name}".encode("utf-8", "surrogateescape")
        return self._prefix + hashlib.sha256(identity).hexdigest()[:40]

    def get(self, name: str) -> Record | None:
        from airflow.sdk import Variable

        raw = Variable.get(self._key(name), default=None)
        return None if raw is None else self._record_type(**json.loads(raw))

    def _store(self, name: str, record: Record) -> None:
        from airflow.sdk import Variable

        Variable.set(self._key(name), json.dumps(asdict(record)), description=self._description)  # type: ignore[call-overload]


class VariableLedger(_VariableRecords[LedgerEntry]):
    """Ledger entries as Airflow Variables ``actito_sftp_ledger:<conn>:<location>:<hash>``.

    :param consumer: who imports (``dag_id.task_id``), the scope: two tasks importing the same location
        with ``keep`` are independent consumers and each imports every file once.
    """

    _kind = "ledger"
    _description = "actito-sftp import ledger"
    _record_type = LedgerEntry

    def put(self, entry: LedgerEntry) -> None:
        self._store(entry.name, replace(entry, updated=datetime.now(UTC).isoformat()))


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


class VariableDeliveryLog(_VariableRecords[Delivery]):
    """Deliveries as Airflow Variables ``actito_sftp_delivered:<conn>:<location>:<hash>``, one per file.

    :param owner: the exporting task instance (:func:`~.names.owner_id`), the scope: only its own
        retries count a file as already delivered.
    """

    _kind = "delivered"
    _description = "actito-sftp export log"
    _record_type = Delivery

    def put(self, delivery: Delivery) -> None:
        self._store(delivery.name, delivery)
