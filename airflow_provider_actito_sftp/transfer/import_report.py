"""What an import run did to each file: imported, refused, failed or skipped, logged as it happens; and
the records of a batch in either direction (:class:`BatchRecords`, which the exporter uses too)."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_actito_sftp.transfer.records import Direction, Moved, Status, TransferRecord

if TYPE_CHECKING:
    from airflow_provider_actito_sftp.ssh.session import RemoteEntry
    from airflow_provider_actito_sftp.transfer.download import Downloaded

log = logging.getLogger("airflow_provider_actito_sftp.transfer.importer")


class BatchRecords:
    """Makes the records of one batch: one connection, one location, one direction.

    :param conn_id: the connection's technical name.
    :param location: the location the batch reads or writes.
    :param direction: download (import) or upload (export).
    """

    def __init__(self, conn_id: str, location: str, direction: Direction) -> None:
        self._finished = functools.partial(
            TransferRecord.finished, conn_id=conn_id, location=location, direction=direction
        )

    def succeeded(
        self, remote_path: str, local_path: str, started: float, moved: Moved, error: str | None = None
    ) -> TransferRecord:
        """A file moved; ``error`` says what failed afterwards (an import's remote step), if anything.

        :param started: when its transfer began (``time.monotonic()``); it ends now.
        """
        return self._record(Status.SUCCESS, remote_path, local_path, started, moved=moved, error=error)

    def failed(
        self, remote_path: str, local_path: str, started: float, error: str, *, retryable: bool
    ) -> TransferRecord:
        """A file not moved: refused (bad input) or, when ``retryable``, a transport failure."""
        return self._record(Status.FAILED, remote_path, local_path, started, error=error, retryable=retryable)

    def _record(
        self, status: Status, remote_path: str, local_path: str, started: float, **outcome: Any
    ) -> TransferRecord:
        return self._finished(status=status, remote_path=remote_path, local_path=local_path, started=started, **outcome)


@dataclass
class ImportResult:
    """Every listed file's outcome.

    :param unfinished: imported files whose remote step (delete/move/rename back) failed; they are
        also in ``imported``. The next try finishes them.
    """

    imported: list[TransferRecord] = field(default_factory=list)
    refused: list[TransferRecord] = field(default_factory=list)
    failed: list[TransferRecord] = field(default_factory=list)
    unfinished: list[TransferRecord] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


class ImportReport:
    """Records each file's outcome once, with a log line that names the connection, location and file.

    :param conn_id: the connection's technical name.
    :param location: the location imported from.
    """

    def __init__(self, conn_id: str, location: str) -> None:
        self.conn_id = conn_id
        self.location = location
        self.result = ImportResult()
        self._records = BatchRecords(conn_id, location, Direction.DOWNLOAD)

    def what(self, name: str) -> str:
        return f"Connection {self.conn_id!r}, location {self.location!r}, file {name!r}"

    def imported(
        self,
        entry: RemoteEntry,
        downloaded: Downloaded,
        local: str,
        remote_outcome: str,
        error: str | None,
        started: float,
    ) -> None:
        """A published file; ``error`` says its remote step failed (it is then also ``unfinished``)."""
        record = self._records.succeeded(entry.path, local, started, downloaded, error)
        record = record.with_remote_outcome(remote_outcome)
        log.info(
            "%s: imported to %s (%d bytes, sha256 %s…, %s); %s",
            self.what(entry.name),
            local,
            downloaded.plaintext_bytes,
            downloaded.sha256[:12],
            f"decrypted with {downloaded.pgp_fingerprint}" if downloaded.pgp_fingerprint else "not encrypted",
            remote_outcome,
        )
        self.result.imported.append(record)
        if error is not None:
            log.error("%s: %s", self.what(entry.name), error)
            self.result.unfinished.append(record)

    def refuse(self, entry: RemoteEntry, reason: str, started: float) -> None:
        """Bad input: a retry would meet it again."""
        log.error("%s: refused: %s", self.what(entry.name), reason)
        self.result.refused.append(self._records.failed(entry.path, "", started, reason, retryable=False))

    def fail(self, entry: RemoteEntry, reason: str, started: float) -> None:
        """A transport or local I/O error: a retry may succeed."""
        log.error("%s: failed (a retry may succeed): %s", self.what(entry.name), reason)
        record = self._records.failed(entry.path, "", started, reason, retryable=True)
        self.result.failed.append(record)

    def skip(self, name: str, reason: str) -> None:
        """Left alone for now, and why: not an error."""
        self.result.skipped.append((name, reason))
