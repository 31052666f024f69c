"""What an import run did to each file: imported, refused, failed or skipped, logged as it happens."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from airflow_provider_actito_sftp.transfer.records import Direction, Status, TransferRecord

if TYPE_CHECKING:
    from airflow_provider_actito_sftp.ssh.session import RemoteEntry
    from airflow_provider_actito_sftp.transfer.download import Downloaded

log = logging.getLogger("airflow_provider_actito_sftp.transfer.importer")


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
        record = self._record(entry, Status.SUCCESS, started, downloaded=downloaded, local=local, error=error)
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
        self.result.refused.append(self._record(entry, Status.FAILED, started, error=reason))

    def fail(self, entry: RemoteEntry, reason: str, started: float) -> None:
        """A transport or local I/O error: a retry may succeed."""
        log.error("%s: failed (a retry may succeed): %s", self.what(entry.name), reason)
        self.result.failed.append(self._record(entry, Status.FAILED, started, error=reason, retryable=True))

    def skip(self, name: str, reason: str) -> None:
        """Left alone for now, and why: not an error."""
        self.result.skipped.append((name, reason))

    def _record(
        self,
        entry: RemoteEntry,
        status: Status,
        started: float,
        *,
        downloaded: Downloaded | None = None,
        local: str = "",
        error: str | None = None,
        retryable: bool = False,
    ) -> TransferRecord:
        return TransferRecord.finished(
            conn_id=self.conn_id,
            location=self.location,
            remote_path=entry.path,
            local_path=local,
            direction=Direction.DOWNLOAD,
            status=status,
            started=started,
            moved=downloaded,
            error=error,
            retryable=retryable,
        )
