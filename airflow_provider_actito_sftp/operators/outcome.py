"""What one try of a transfer operator did, file by file, and the values made of it: the import's bounded XCom
and the extra of its Asset events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_actito_sftp.transfer.records import TransferRecord

if TYPE_CHECKING:
    from airflow_provider_actito_sftp.transfer.import_report import ImportResult

MAX_XCOM_RECORDS = 100  # records in the import's XCom; its report file holds them all
MAX_XCOM_ERROR = 1000  # characters of one record's error message in the XCom


def import_return_value(result: ImportResult) -> dict[str, Any]:
    """The import operator's XCom: bounded whatever the number of files (counts, bytes, the first
    :data:`MAX_XCOM_RECORDS` records, refused and failed first); every record is in the ``report`` file."""
    records = result.records
    return {
        "imported": len(result.imported),
        "refused": len(result.refused),
        "failed": len(result.failed),
        "unfinished": len(result.unfinished),
        "skipped": len(result.skipped),
        "remaining": result.remaining,
        "remaining_bytes": result.remaining_bytes,
        "plaintext_bytes": sum(record.plaintext_bytes for record in result.imported),
        "wire_bytes": sum(record.wire_bytes for record in result.imported),
        "records": [_clipped(record.as_dict()) for record in records[:MAX_XCOM_RECORDS]],
        "records_total": len(records),
        "report": result.report,
        "report_error": result.report_error,
    }


def _clipped(record: dict[str, Any]) -> dict[str, Any]:
    """A record for the XCom: an error message past :data:`MAX_XCOM_ERROR` characters is cut (the report
    file has it whole)."""
    error = record.get("error")
    if error and len(error) > MAX_XCOM_ERROR:
        record["error"] = error[: MAX_XCOM_ERROR - 1] + "…"
    return record


def outlet_summary(records: list[TransferRecord]) -> dict[str, Any]:
    """The extra of the Asset events of a try that moved files: how many, how many bytes, the first names."""
    return {
        "files": len(records),
        "bytes": sum(record.plaintext_bytes for record in records),
        "names": [record.remote_path.rsplit("/", 1)[-1] for record in records][:100],
    }


@dataclass
class TransferOutcome:
    """What one try did, file by file.

    :param refused: bad input (the file itself): failing the task without retry.
    :param failed: transport or local I/O errors: the task fails and Airflow may retry it.
    :param unfinished: imported files whose remote step failed (also in ``succeeded``): retried, unless the
        server refused the step itself.
    :param return_value: the try's XCom return value (default: every record).
    :param report_error: why the import report, needed for records the XCom leaves out, could not be
        written: the try fails without retry (a retry would import nothing new; the log names every file).
    """

    succeeded: list[TransferRecord] = field(default_factory=list)
    refused: list[TransferRecord] = field(default_factory=list)
    failed: list[TransferRecord] = field(default_factory=list)
    unfinished: list[TransferRecord] = field(default_factory=list)
    return_value: Any = None
    report_error: str | None = None

    @property
    def records(self) -> list[TransferRecord]:
        return self.succeeded + self.refused + self.failed

    def problems(self) -> list[tuple[str, list[TransferRecord]]]:
        """The files that did not move (or did not finish), by outcome."""
        return [("refused", self.refused), ("failed", self.failed), ("not finished", self.unfinished)]

    def failure_lines(self) -> str:
        kinds = {"not finished": "failed"}  # the task's message calls both retryable kinds "failed"
        lines = [
            f"  - {kinds.get(kind, kind)}: '{record.remote_path}': {record.error}"  # a shown name: no repr
            for kind, records in self.problems()
            for record in records
        ]
        if self.report_error:
            lines.append(f"  - failed: {self.report_error}: records the XCom leaves out are only in this log")
        return "\n".join(lines)
