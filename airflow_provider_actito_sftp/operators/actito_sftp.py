"""Import and export operators: thin wrappers that validate arguments and run the transfer engine."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, BaseOperator, Context
from airflow.sdk.exceptions import AirflowException

from airflow_provider_actito_sftp.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_actito_sftp.metrics import SUMMARY_XCOM_KEY, TransferSummary
from airflow_provider_actito_sftp.transfer.destinations import Destination
from airflow_provider_actito_sftp.transfer.options import AfterImport, SignaturePolicy
from airflow_provider_actito_sftp.transfer.records import Direction, TransferRecord
from airflow_provider_actito_sftp.transfer.selection import FileFilter

# The SSH/gpg machinery is imported when a task runs, not when a DAG file is parsed.
if TYPE_CHECKING:
    from airflow_provider_actito_sftp.hooks.actito_sftp import ActitoSftpHook


def _choice(name: str, value: str, enum: type[AfterImport] | type[SignaturePolicy]) -> Any:
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(repr(member.value) for member in enum)
        raise ValueError(f"{name} must be one of {choices}, got {value!r}") from None


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _default_outlets(target: Any) -> list[Asset]:
    """An Asset for a destination known at parse time (not a Jinja template)."""
    if isinstance(target, str) and "{{" in target:
        return []
    uri = Destination.uri_of(target)
    return [Asset(uri)] if uri else []


def _summary(records: list[TransferRecord]) -> dict[str, Any]:
    return {
        "files": len(records),
        "bytes": sum(record.plaintext_bytes for record in records),
        "names": [record.remote_path.rsplit("/", 1)[-1] for record in records][:100],
    }


class _TransferOperator(BaseOperator):
    """Shared run-and-report logic: every try pushes a transfer summary (for the overview), emits Asset
    events for what moved, and fails listing what did not."""

    direction: Direction
    actito_sftp_conn_id: str

    def transfer(self, context: Context, hook: ActitoSftpHook) -> tuple[list[TransferRecord], list[TransferRecord]]:
        """Move the files; return (succeeded, failed) records."""
        raise NotImplementedError

    def failure_message(self, succeeded: list[TransferRecord], failed: list[TransferRecord]) -> str:
        raise NotImplementedError

    def execute(self, context: Context) -> list[dict[str, Any]]:
        from airflow_provider_actito_sftp.hooks.actito_sftp import ActitoSftpHook

        hook = ActitoSftpHook(self.actito_sftp_conn_id)
        summary = TransferSummary(conn_id=self.actito_sftp_conn_id, direction=self.direction.value)
        try:
            summary.entity = hook.settings.entity
            succeeded, failed = self.transfer(context, hook)
        except Exception:
            summary.failed = 1  # the try failed before it could say more: at least one failed request
            raise
        else:
            summary.succeeded, summary.failed = len(succeeded), len(failed)
            summary.wire_bytes = sum(record.wire_bytes for record in succeeded)
            summary.plaintext_bytes = sum(record.plaintext_bytes for record in succeeded)
        finally:
            context["ti"].xcom_push(key=SUMMARY_XCOM_KEY, value=summary.as_dict())
        records = [record.as_dict() for record in succeeded + failed]
        for outlet in self.outlets:
            if isinstance(outlet, Asset):
                context["outlet_events"][outlet].extra = _summary(succeeded)
        if failed:
            context["ti"].xcom_push(key="return_value", value=records)
            raise AirflowException(self.failure_message(succeeded, failed))
        return records


class ActitoSftpImportOperator(_TransferOperator):
    """Download matching files from a location, PGP-decrypt them, publish them atomically.

    Good files are imported even when others are refused; the task then fails listing every refused
    file and why. A remote file is deleted, archived or released only after its local copy is
    committed, and the claim/ledger protocol imports each file once across retries and concurrent runs.

    :param actito_sftp_conn_id: the connection's technical name.
    :param location: the location to import from.
    :param destination: a local folder or an ``ObjectStoragePath`` (templated).
    :param pattern: glob of the files to import (``*.csv.pgp``); with ``regex=True`` a full-match regex.
    :param after_import: ``"keep"`` (default; the ledger prevents re-imports), ``"delete"`` or ``"move"``.
    :param archive_location: the location files are moved to with ``after_import="move"``.
    :param quarantine_location: where refused files are moved (else they stay in place).
    :param signature_policy: ``"ignore"`` (default), ``"accept"`` or ``"require"`` a valid signature by the
        partner's key (the connection's partner PGP public key).
    :param min_age: seconds (or timedelta) a file must be unmodified before it is imported.
    :param claim_timeout: seconds after which a claim left by a crashed run is released.
    :return: the transfer records (XCom), successes and refusals.
    """

    template_fields: Sequence[str] = ("location", "pattern", "destination", "archive_location", "quarantine_location")
    ui_color = "#d6eaf8"

    def __init__(
        self,
        *,
        actito_sftp_conn_id: str = DEFAULT_CONN_ID,
        location: str,
        destination: Any,
        pattern: str = "*",
        regex: bool = False,
        after_import: str = "keep",
        archive_location: str | None = None,
        quarantine_location: str | None = None,
        signature_policy: str = "ignore",
        min_age: float | timedelta = 0.0,
        claim_timeout: float | timedelta = 3600.0,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("outlets", _default_outlets(destination))
        super().__init__(**kwargs)
        self.actito_sftp_conn_id = actito_sftp_conn_id
        self.location = location
        self.destination = destination
        self.pattern = pattern
        self.regex = regex
        self.after_import = _choice("after_import", after_import, AfterImport)
        self.archive_location = archive_location
        self.quarantine_location = quarantine_location
        self.signature_policy = _choice("signature_policy", signature_policy, SignaturePolicy)
        self.min_age = _seconds(min_age)
        self.claim_timeout = _seconds(claim_timeout)
        if self.after_import is AfterImport.MOVE and not archive_location:
            raise ValueError("after_import='move' needs archive_location")

    direction = Direction.DOWNLOAD

    def transfer(self, context: Context, hook: ActitoSftpHook) -> tuple[list[TransferRecord], list[TransferRecord]]:
        from airflow_provider_actito_sftp.transfer.importer import ImportJob, ImportRequest
        from airflow_provider_actito_sftp.transfer.ledger import VariableLedger

        settings = hook.settings
        for name in (self.location, self.archive_location, self.quarantine_location):
            if name:
                settings.location_path(name)  # unknown names fail before connecting
        destination = Destination(self.destination)
        request = ImportRequest(
            location=self.location,
            file_filter=FileFilter(self.pattern, self.regex, self.min_age, settings.outbound.lock_suffix),
            destination=destination,
            after_import=self.after_import,
            archive_location=self.archive_location,
            quarantine_location=self.quarantine_location,
            signature_policy=self.signature_policy,
            claim_timeout=self.claim_timeout,
        )

        async def run() -> Any:
            async with hook.open_async_session() as session:
                ledger = VariableLedger(settings.conn_id, self.location, f"{self.dag_id}.{self.task_id}")
                return await ImportJob(session, request, ledger).run()

        try:
            result = asyncio.run(run())
        finally:
            destination.close()
        for name, reason in result.skipped:
            self.log.info("Skipped %r: %s", name, reason)
        self.log.info("Imported %d file(s) into %s", len(result.imported), destination.uri)
        return result.imported, result.refused

    def failure_message(self, succeeded: list[TransferRecord], failed: list[TransferRecord]) -> str:
        lines = "\n".join(f"  - {record.remote_path!r}: {record.error}" for record in failed)
        return (
            f"Connection {self.actito_sftp_conn_id!r}, location {self.location!r}: imported "
            f"{len(succeeded)} file(s), refused {len(failed)}:\n{lines}"
        )


class ActitoSftpExportOperator(_TransferOperator):
    """Upload files to a location: PGP-encrypt to the partner's key and lock the upload, per the connection.

    Everything is checked before the first byte moves: the partner key (present, not expired) and,
    with ``overwrite="fail"``, that no target exists. With locking on, each file is written as
    ``<name><suffix>``, its size verified, then renamed, so the partner never sees a partial file.

    :param actito_sftp_conn_id: the connection's technical name.
    :param location: the location to upload to.
    :param source: a path, a glob, an ``ObjectStoragePath``, or a list of them (templated).
    :param remote_name: remote name format with ``{name}`` = source file name (templated); default: the
        source name, plus ``.pgp`` (or ``.asc``) when outbound PGP is on.
    :param overwrite: ``"fail"`` (default) or ``"replace"``.
    :return: the transfer records (XCom).
    """

    template_fields: Sequence[str] = ("location", "source", "remote_name")
    ui_color = "#fdebd0"

    def __init__(
        self,
        *,
        actito_sftp_conn_id: str = DEFAULT_CONN_ID,
        location: str,
        source: Any,
        remote_name: str | None = None,
        overwrite: str = "fail",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if overwrite not in ("fail", "replace"):
            raise ValueError(f"overwrite must be 'fail' or 'replace', got {overwrite!r}")
        self.actito_sftp_conn_id = actito_sftp_conn_id
        self.location = location
        self.source = source
        self.remote_name = remote_name
        self.overwrite = overwrite

    direction = Direction.UPLOAD

    def transfer(self, context: Context, hook: ActitoSftpHook) -> tuple[list[TransferRecord], list[TransferRecord]]:
        from airflow_provider_actito_sftp.transfer.exporter import ExportJob, ExportRequest, resolve_sources

        hook.settings.location_path(self.location)
        request = ExportRequest(
            location=self.location,
            sources=resolve_sources(self.source),
            remote_name=self.remote_name,
            replace=self.overwrite == "replace",
        )

        async def run() -> Any:
            async with hook.open_async_session() as session:
                return await ExportJob(session, request).run()

        result = asyncio.run(run())
        self.log.info("Exported %d file(s) to %r", len(result.uploaded), self.location)
        return result.uploaded, result.failed

    def failure_message(self, succeeded: list[TransferRecord], failed: list[TransferRecord]) -> str:
        lines = "\n".join(f"  - {record.error}" for record in failed)
        return f"Exported {len(succeeded)} file(s), {len(failed)} failed:\n{lines}"
