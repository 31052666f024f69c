"""The hook's imports and exports: planned (validated) before connecting, executed over one session.

Imported by the hook when a transfer starts, so that listing, waiting and the UI "Test" button do not
load the transfer engine (gpg, streams, destinations).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from airflow_provider_actito_sftp.connection.settings import ConnectionSettings
from airflow_provider_actito_sftp.hooks.task_identity import resolve_delivery_owner, resolve_ledger_name, resolve_owner
from airflow_provider_actito_sftp.ssh.session import AsyncSftpSession
from airflow_provider_actito_sftp.transfer.destinations import Destination
from airflow_provider_actito_sftp.transfer.exporter import ExportJob, ExportRequest, ExportResult, resolve_sources
from airflow_provider_actito_sftp.transfer.import_report import ImportResult, report_lines
from airflow_provider_actito_sftp.transfer.import_state import ImportRequest
from airflow_provider_actito_sftp.transfer.importer import ImportJob
from airflow_provider_actito_sftp.transfer.ledger import Ledger, LedgerEntry, VariableDeliveryLog, VariableLedger
from airflow_provider_actito_sftp.transfer.names import report_file_name, shown_name
from airflow_provider_actito_sftp.transfer.options import AfterImport, ImportArgs, ImportOptions, Overwrite, choice
from airflow_provider_actito_sftp.transfer.progress import run_summary
from airflow_provider_actito_sftp.transfer.remote_folder import describe
from airflow_provider_actito_sftp.transfer.resume import sweep_kept
from airflow_provider_actito_sftp.transfer.selection import FileFilter

log = logging.getLogger(__name__)


def _what(settings: ConnectionSettings, location: str) -> str:
    return f"Connection {settings.conn_id!r}, location {location!r}"


class NoLedger:
    """The ledger of imports that do not keep files on the server (delete, move): never consulted."""

    def get(self, name: str) -> LedgerEntry | None:
        return None

    def put(self, entry: LedgerEntry) -> None:
        raise RuntimeError("only after_import='keep' records imports in a ledger")


def import_request(
    settings: ConnectionSettings, location: str, target: Any, options: ImportOptions, owner: str
) -> ImportRequest:
    """The engine's request for validated options; its :class:`Destination` writes to ``target`` (a local
    folder or an ``ObjectStoragePath``) and is closed by :meth:`ImportRun.close`."""
    return ImportRequest(
        location=location,
        file_filter=FileFilter(options.pattern, options.regex, options.min_age, settings.outbound.lock_suffix),
        destination=Destination(target, owner=owner, file_mode=options.file_mode, on_conflict=options.on_conflict),
        options=options,
        owner=owner,
    )


@dataclass(frozen=True)
class ImportRun:
    """One import: its request (and the destination to close), its ledger, and whether to write its report."""

    settings: ConnectionSettings
    request: ImportRequest
    ledger: Ledger
    report: bool = False

    @classmethod
    def plan(
        cls,
        settings: ConnectionSettings,
        location: str,
        destination: Any,
        owner: str | None,
        ledger_name: str | None,
        args: ImportArgs,
        *,
        report: bool = False,
    ) -> ImportRun:
        """Validate everything that can be checked without connecting; see ``ActitoSftpHook.import_files``."""
        options = ImportOptions.parse(**args)
        for name in (location, *options.locations()):
            settings.location_path(name)  # unknown names fail before connecting
        owner = resolve_owner(owner)
        ledger: Ledger = NoLedger()
        if options.after_import is AfterImport.KEEP:
            ledger = VariableLedger(settings.conn_id, location, resolve_ledger_name(ledger_name))
        return cls(settings, import_request(settings, location, destination, options, owner), ledger, report)

    async def execute(self, session: AsyncSftpSession) -> ImportResult:
        """Run the import over an open session and log what it did."""
        started = time.monotonic()
        sweep_kept(self.request.options.claim_timeout)  # bytes kept by large downloads whose tries will not come back
        result = await ImportJob(session, self.request, self.ledger).run()
        for name, reason in result.skipped:
            log.info("Skipped '%s': %s", shown_name(name), reason)
        summary = run_summary(
            "imported",
            len(result.imported),
            sum(record.plaintext_bytes for record in result.imported),
            sum(record.wire_bytes for record in result.imported),
            time.monotonic() - started,
            refused=len(result.refused),
            failed=len(result.failed),
            skipped=len(result.skipped),
            **({"remaining": result.remaining} if result.remaining else {}),  # left for a later run
        )
        log.info("%s: %s; into %s", _what(self.settings, self.request.location), summary, self.request.destination.uri)
        if self.report and result.records:
            self._write_report(result)
        return result

    def _write_report(self, result: ImportResult) -> None:
        """Every record as JSON Lines next to the imported files; a failure is noted in the result (the
        records are all in the log): it never hides what the import did."""
        destination = self.request.destination
        try:
            result.report = destination.write_report(report_file_name(self.request.owner), report_lines(result.records))
        except Exception as e:  # OSError, or whatever the object store raises
            result.report_error = f"could not write the import report in {destination.uri}: {describe(e)}"
            log.error("%s: %s", _what(self.settings, self.request.location), result.report_error)
        else:
            log.info("%s: the report of every file is %s", _what(self.settings, self.request.location), result.report)

    def close(self) -> None:
        """Release the destination (once the import is over, whatever its outcome)."""
        self.request.destination.close()


@dataclass(frozen=True)
class ExportRun:
    """One export: its request, with the delivery log of its owner (none outside a task)."""

    settings: ConnectionSettings
    request: ExportRequest

    @classmethod
    def plan(
        cls,
        settings: ConnectionSettings,
        location: str,
        source: Any,
        remote_name: str | None,
        overwrite: str,
        owner: str | None,
    ) -> ExportRun:
        """Validate everything that can be checked without connecting; see ``ActitoSftpHook.export_files``."""
        policy = choice("overwrite", overwrite, Overwrite)
        settings.location_path(location)
        sources = resolve_sources(source)
        delivery_owner = resolve_delivery_owner(owner)
        deliveries = None if delivery_owner is None else VariableDeliveryLog(settings.conn_id, location, delivery_owner)
        return cls(settings, ExportRequest(location, sources, remote_name, policy, deliveries))

    async def execute(self, session: AsyncSftpSession) -> ExportResult:
        """Run the export over an open session and log what it did."""
        started = time.monotonic()
        result = await ExportJob(session, self.request).run()
        summary = run_summary(
            "exported",
            len(result.uploaded),
            sum(record.plaintext_bytes for record in result.uploaded),
            sum(record.wire_bytes for record in result.uploaded),
            time.monotonic() - started,
            refused=len(result.refused),
            failed=len(result.failed),
        )
        log.info("%s: %s", _what(self.settings, self.request.location), summary)
        return result
