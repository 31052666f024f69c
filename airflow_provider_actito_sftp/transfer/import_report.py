"""What an import run did to each file: imported, refused, failed or skipped, logged as it happens; and
the records of a batch in either direction (:class:`BatchRecords`, which the exporter uses too)."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import asyncssh

from airflow_provider_actito_sftp.ssh.protocol import is_transport_error
from airflow_provider_actito_sftp.transfer.names import shown_name
from airflow_provider_actito_sftp.transfer.options import AfterImport
from airflow_provider_actito_sftp.transfer.records import Direction, Moved, Status, TransferRecord
from airflow_provider_actito_sftp.transfer.remote_folder import describe

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
        """The record, its paths shown (:func:`~.names.shown_name`): a name that is not UTF-8 must not stop
        the XCom that carries every file's outcome."""
        return self._finished(
            status=status,
            remote_path=shown_name(remote_path),
            local_path=shown_name(local_path),
            started=started,
            **outcome,
        )


@dataclass
class ImportResult:
    """Every listed file's outcome.

    :param unfinished: imported files whose remote step (delete/move/rename back) failed; they are
        also in ``imported``. The next try finishes them.
    :param remaining: ready files this run left untouched on the server for a later run (``max_files`` /
        ``max_bytes``); ``remaining_bytes``: their size on the server.
    :param report: where the JSON Lines report of every record was written (``report=True``), or None.
    :param report_error: why that report could not be written, or None.
    """

    imported: list[TransferRecord] = field(default_factory=list)
    refused: list[TransferRecord] = field(default_factory=list)
    failed: list[TransferRecord] = field(default_factory=list)
    unfinished: list[TransferRecord] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    remaining: int = 0
    remaining_bytes: int = 0
    report: str | None = None
    report_error: str | None = None

    @property
    def records(self) -> list[TransferRecord]:
        """Every record, the files that did not move first (refused, failed), then the imported ones."""
        return self.refused + self.failed + self.imported


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
        return f"Connection {self.conn_id!r}, location {self.location!r}, file '{shown_name(name)}'"

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

    def claim_failed(self, entry: RemoteEntry, error: BaseException, started: float) -> None:
        """The claim's rename failed: a transport error is retried; the server's refusal is not."""
        if is_transport_error(error):
            self.fail(entry, f"could not claim it: {describe(error)}", started)
            return
        hint = ""
        if isinstance(error, asyncssh.SFTPPermissionDenied):
            hint = " (a read-only folder? import it with claim='none' and after_import='keep')"
        self.refuse(entry, f"could not rename it to claim it: {describe(error)}{hint}", started)

    def transfer_failed(self, entry: RemoteEntry, error: BaseException, started: float) -> None:
        """Reading failed: the server's refusal to read it is not retried (a retry would meet it too)."""
        if isinstance(error, asyncssh.SFTPError) and not is_transport_error(error):
            self.refuse(entry, f"could not read it: {describe(error)}", started)
        else:
            self.fail(entry, f"transfer failed: {describe(error)}", started)

    def fail(self, entry: RemoteEntry, reason: str, started: float, *, retryable: bool = True) -> None:
        """A transport or local I/O error (a retry may succeed), or a step the server refuses (``retryable``
        False: the file is safe, but a retry would be refused again)."""
        log.error("%s: failed%s: %s", self.what(entry.name), " (a retry may succeed)" if retryable else "", reason)
        record = self._records.failed(entry.path, "", started, reason, retryable=retryable)
        self.result.failed.append(record)

    def skip(self, name: str, reason: str) -> None:
        """Left alone for now, and why: not an error."""
        self.result.skipped.append((name, reason))

    def leave_for_later(self, entries: list[RemoteEntry]) -> None:
        """Ready files this run does not take (``max_files`` / ``max_bytes``): counted, never touched."""
        self.result.remaining = len(entries)
        self.result.remaining_bytes = sum(entry.size for entry in entries)
        if entries:
            log.info(
                "Connection %r, location %r: %d ready file(s) (%d bytes on the server) left for a later run "
                "(max_files / max_bytes), the oldest %r",
                self.conn_id,
                self.location,
                self.result.remaining,
                self.result.remaining_bytes,
                entries[0].name,
            )


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


def report_lines(records: list[TransferRecord]) -> Iterator[bytes]:
    """The JSON Lines of an import's report: one record (:meth:`TransferRecord.as_dict`) per line."""
    for record in records:
        yield json.dumps(record.as_dict()).encode() + b"\n"


def report_records(value: Mapping[str, Any], *, conn_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Every record of an import operator's return value (its XCom): the inline ``records`` when they are
    all there, else the lines of its ``report`` file (a local path, or an object storage URI).

    :param value: the return value of ``ActitoSftpImportOperator``.
    :param conn_id: the Airflow connection to read a report in object storage with (default: the
        storage's default connection).
    :raises ValueError: records were left out of the XCom and the report could not be written (the try
        then failed, and its log names every file).
    """
    inline: list[dict[str, Any]] = value["records"]
    if value["records_total"] <= len(inline):
        yield from inline
        return
    report = value.get("report")
    if not report:
        raise ValueError(
            f"{value['records_total'] - len(inline)} record(s) are not in the XCom and the report file could not "
            f"be written ({value.get('report_error')}); the task's log names every file"
        )
    with _open_report(report, conn_id) as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _open_report(report: str, conn_id: str | None) -> IO[bytes]:
    head, separator, _ = report.partition("://")
    if separator and head != "file":
        from airflow.sdk import ObjectStoragePath

        handle: IO[bytes] = ObjectStoragePath(report, conn_id=conn_id).open("rb")  # type: ignore[no-untyped-call]
        return handle
    return open(report.removeprefix("file://"), "rb")
