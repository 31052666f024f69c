"""What an import run did to each file: imported, refused, failed or skipped, logged as it happens; and
the records of a batch in either direction (:class:`BatchRecords`, which the exporter uses too)."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_actito_sftp.transfer.options import AfterImport
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
        self,
        remote_path: str,
        local_path: str,
        started: float,
        moved: Moved,
        error: str | None = None,
        *,
        retryable: bool = False,
    ) -> TransferRecord:
        """A file moved; ``error`` says what failed afterwards (an import's remote step), if anything.

        :param started: when its transfer began (``time.monotonic()``); it ends now.
        :param retryable: for an ``error``, whether a retry may get past it.
        """
        return self._record(
            Status.SUCCESS, remote_path, local_path, started, moved=moved, error=error, retryable=retryable
        )

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
        *,
        retryable: bool = True,
    ) -> None:
        """A published file; ``error`` says its remote step failed (it is then also ``unfinished``), and
        ``retryable`` whether a retry may finish it (not when the server refuses the step itself)."""
        record = self._records.succeeded(entry.path, local, started, downloaded, error, retryable=retryable)
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

    def fail(self, entry: RemoteEntry, reason: str, started: float, *, retryable: bool = True) -> None:
        """A transport or local I/O error (a retry may succeed), or a step the server refuses (``retryable``
        False: the file is safe, but a retry would be refused again)."""
        log.error("%s: failed%s: %s", self.what(entry.name), " (a retry may succeed)" if retryable else "", reason)
        record = self._records.failed(entry.path, "", started, reason, retryable=retryable)
        self.result.failed.append(record)

    def skip(self, name: str, reason: str) -> None:
        """Left alone for now, and why: not an error."""
        self.result.skipped.append((name, reason))


_REFUSED_STEP = {
    AfterImport.DELETE: (
        "delete it",
        "set after_import='keep' (the ledger remembers what was imported) or 'move'; the next run then finishes it",
    ),
    AfterImport.MOVE: (
        "move it to the archive location",
        "let the SFTP user write to the archive folder, or set after_import='keep' or 'delete'; the next run then "
        "finishes it",
    ),
    AfterImport.KEEP: ("rename it back", "set claim='none' (files are read where they are; the ledger remembers them)"),
}


def remote_step_refused(after_import: AfterImport, staged_name: str, reason: str) -> str:
    """Why an imported file's remote step will not happen on this server, and the setting that avoids it.

    :param after_import: the step the server refused.
    :param staged_name: the hidden name the file keeps on the server meanwhile.
    :param reason: the server's answer (e.g. ``permission denied by the server``).
    """
    step, way_out = _REFUSED_STEP[after_import]
    return (
        f"imported, but the server refuses to {step} ({reason}), so a retry would be refused too; it stays on the "
        f"server as {staged_name!r}: {way_out}"
    )
