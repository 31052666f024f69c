"""The import ledger for ``after_import="keep"``: which remote files were already imported.

Files that are deleted or archived after import need no ledger (their remote markers carry the state,
see :mod:`~airflow_provider_actito_sftp.transfer.importer`). Files that stay on the server do: their
identity (name, size, mtime) is recorded in Airflow Variables, which tasks may read and write under a
real scheduler (the metadata DB itself is off limits to them) and every worker sees. One Variable per
file, so concurrent tasks never overwrite each other's entries.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import ClassVar, Generic, Protocol, TypeVar

from airflow_provider_actito_sftp.connection.variable_keys import StateKind, legacy_key, record_digest, state_key

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
    """Records of one dataclass in Airflow Variables, one per file, keyed by
    :func:`~airflow_provider_actito_sftp.connection.variable_keys.state_key`: the kind, the connection, the
    location and a digest of the scope (who owns the records) and the file name. One Variable per name, so
    concurrent tasks never overwrite each other's records; a record an earlier version kept under its
    legacy key is still found.
    """

    _kind: ClassVar[StateKind]
    _description: ClassVar[str]
    _record_type: type[Record]

    def __init__(self, conn_id: str, location: str, scope: str) -> None:
        self._conn_id = conn_id
        self._location = location
        self._scope = scope

    def _key(self, name: str) -> str:
        return state_key(self._kind, self._conn_id, self._location, record_digest(self._scope, name))

    def _legacy_key(self, name: str) -> str | None:
        return legacy_key(self._kind, self._conn_id, self._location, record_digest(self._scope, name))

    def get(self, name: str) -> Record | None:
        from airflow.sdk import Variable

        raw = Variable.get(self._key(name), default=None)
        if raw is None and (legacy := self._legacy_key(name)) is not None:
            raw = Variable.get(legacy, default=None)
        return None if raw is None else self._record_type(**json.loads(raw))

    def _store(self, name: str, record: Record) -> None:
        from airflow.sdk import Variable

        description = f"{self._description} of connection {self._conn_id!r}, location {self._location!r}"
        Variable.set(self._key(name), json.dumps(asdict(record)), description=description)  # type: ignore[call-overload]


class VariableLedger(_VariableRecords[LedgerEntry]):
    """Ledger entries as Airflow Variables ``actito_sftp_ledger@<conn>@<location>@<digest>``.

    :param consumer: who imports (``dag_id.task_id``), the scope: two tasks importing the same location
        with ``keep`` are independent consumers and each imports every file once.
    """

    _kind = StateKind.LEDGER
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
    """Deliveries as Airflow Variables ``actito_sftp_delivered@<conn>@<location>@<digest>``, one per file.

    :param owner: the exporting task instance (:func:`~.names.owner_id`), the scope: only its own
        retries count a file as already delivered.
    """

    _kind = StateKind.DELIVERED
    _description = "actito-sftp export log"
    _record_type = Delivery

    def put(self, delivery: Delivery) -> None:
        self._store(delivery.name, delivery)
