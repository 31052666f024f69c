"""Import and export operators: thin wrappers that validate arguments and run the transfer engine."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, BaseOperator, Context
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_actito_sftp.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_actito_sftp.metrics import SUMMARY_XCOM_KEY, TransferSummary
from airflow_provider_actito_sftp.transfer.destinations import Destination
from airflow_provider_actito_sftp.transfer.options import (
    DEFAULT_MAX_EXPANSION_RATIO,
    DEFAULT_MAX_FILE_SIZE,
    DEFAULT_MIN_AGE,
    AfterImport,
    Claim,
    OnConflict,
    SignaturePolicy,
)
from airflow_provider_actito_sftp.transfer.records import Direction, TransferRecord
from airflow_provider_actito_sftp.transfer.selection import FileFilter

# The SSH/gpg machinery is imported when a task runs, not when a DAG file is parsed.
if TYPE_CHECKING:
    from airflow_provider_actito_sftp.hooks.actito_sftp import ActitoSftpHook


def _choice(name: str, value: str, enum: type[StrEnum]) -> Any:
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


def task_owner(context: Context) -> str:
    """The id claims and partial files carry: this task instance, the same for each of its tries."""
    from airflow_provider_actito_sftp.transfer.names import owner_id

    ti = context["ti"]
    return owner_id(ti.dag_id, ti.task_id, ti.run_id, str(getattr(ti, "map_index", -1)))


@dataclass
class TransferOutcome:
    """What one try did, file by file.

    :param refused: bad input (the file itself): failing the task without retry.
    :param failed: transport or local I/O errors: the task fails and Airflow may retry it.
    :param unfinished: imported files whose remote step failed (also in ``succeeded``): retried.
    """

    succeeded: list[TransferRecord] = field(default_factory=list)
    refused: list[TransferRecord] = field(default_factory=list)
    failed: list[TransferRecord] = field(default_factory=list)
    unfinished: list[TransferRecord] = field(default_factory=list)

    @property
    def records(self) -> list[TransferRecord]:
        return self.succeeded + self.refused + self.failed

    def failure_lines(self) -> str:
        problems = [(record, "refused") for record in self.refused]
        problems += [(record, "failed") for record in self.failed + self.unfinished]
        return "\n".join(f"  - {kind}: {record.remote_path!r}: {record.error}" for record, kind in problems)


class _TransferOperator(BaseOperator):
    """Shared run-and-report logic: every try pushes a transfer summary (for the overview) and its
    records, emits Asset events only when files moved, and fails listing every file that did not: without
    retry when a file was refused (a retry would meet the same file), with retry for transport errors."""

    direction: Direction
    actito_sftp_conn_id: str

    def transfer(self, context: Context, hook: ActitoSftpHook) -> TransferOutcome:
        """Move the files; say what happened to each."""
        raise NotImplementedError

    def what(self) -> str:
        raise NotImplementedError

    def execute(self, context: Context) -> list[dict[str, Any]]:
        from airflow_provider_actito_sftp.hooks.actito_sftp import ActitoSftpHook

        hook = ActitoSftpHook(self.actito_sftp_conn_id)
        summary = TransferSummary(conn_id=self.actito_sftp_conn_id, direction=self.direction.value)
        try:
            summary.entity = hook.settings.entity
            outcome = self.transfer(context, hook)
        except Exception:
            summary.failed = 1  # the try failed before it could say more: at least one failed request
            raise
        else:
            succeeded = outcome.succeeded
            summary.succeeded, summary.failed = len(succeeded), len(outcome.refused) + len(outcome.failed)
            summary.wire_bytes = sum(record.wire_bytes for record in succeeded)
            summary.plaintext_bytes = sum(record.plaintext_bytes for record in succeeded)
        finally:
            context["ti"].xcom_push(key=SUMMARY_XCOM_KEY, value=summary.as_dict())
        records = [record.as_dict() for record in outcome.records]
        if not (outcome.refused or outcome.failed or outcome.unfinished):
            self._announce(context, succeeded)
            return records
        context["ti"].xcom_push(key="return_value", value=records)
        message = (
            f"{self.what()}: {len(succeeded)} file(s) moved, {len(outcome.refused)} refused, "
            f"{len(outcome.failed)} failed, {len(outcome.unfinished)} not finished on the server:\n"
            f"{outcome.failure_lines()}"
        )
        if outcome.refused:
            raise AirflowFailException(message)  # bad input: a retry would meet it again
        raise AirflowException(message)

    def _announce(self, context: Context, succeeded: list[TransferRecord]) -> None:
        """On success, Asset events for what moved; none at all when nothing did (no downstream run for
        nothing). A failed try emits none anyway."""
        if not succeeded:
            self.outlets = []
            return
        for outlet in self.outlets:
            if isinstance(outlet, Asset):
                context["outlet_events"][outlet].extra = _summary(succeeded)


class ActitoSftpImportOperator(_TransferOperator):
    """Download matching files from a location, PGP-decrypt them, publish them atomically.

    Good files are imported even when others are refused; the task then fails listing every file that
    was not imported and why: without retry when a file was refused (not PGP, tampered, a name
    conflict: a retry would meet the same file), with retry when the transport failed (a retry of the
    same task resumes its own claims at once). A remote file is deleted, archived or released only
    after its local copy is complete, verified and durable; a file that changed while it was read is
    never published and stays on the server.

    :param actito_sftp_conn_id: the connection's technical name.
    :param location: the location to import from.
    :param destination: a local folder or an ``ObjectStoragePath`` (templated).
    :param pattern: glob of the files to import (``*.csv.pgp``); with ``regex=True`` a full-match regex.
    :param after_import: ``"keep"`` (default; the ledger prevents re-imports), ``"delete"`` or ``"move"``.
    :param archive_location: the location files are moved to with ``after_import="move"``.
    :param quarantine_location: where refused files are moved (else they stay in place).
    :param signature_policy: ``"ignore"`` (default), ``"accept"`` or ``"require"`` a valid signature by the
        partner's key (the connection's partner PGP public key).
    :param min_age: seconds (or timedelta) a file must be unmodified before it is imported (default
        60: a file a partner is still writing in bursts is left alone).
    :param claim_timeout: seconds after which another run's claim, left by a crashed run, is taken over
        (a retry of the same task takes over its own claims at once).
    :param on_conflict: when the local name is taken: ``"fail"`` (default: refuse the file, it stays on
        the server), ``"rename"`` (publish as ``x-1.csv``, ``x-2.csv``...) or ``"replace"`` (an earlier
        run's file; two files of one run never publish to one name).
    :param claim: ``"rename"`` (default) or ``"none"`` for read-only folders (needs ``after_import="keep"``;
        the ledger alone imports each file once, so do not run two such imports of one location at once).
    :param file_mode: permissions of the local files (default ``0o600``).
    :param max_file_size: bytes of plaintext one file may produce (default 64 GiB).
    :param max_expansion_ratio: plaintext bytes per encrypted byte past 16 MiB (default 200; None: off):
        a decompression bomb is refused.
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
        min_age: float | timedelta = DEFAULT_MIN_AGE,
        claim_timeout: float | timedelta = 3600.0,
        on_conflict: str = "fail",
        claim: str = "rename",
        file_mode: int = 0o600,
        max_file_size: int | None = DEFAULT_MAX_FILE_SIZE,
        max_expansion_ratio: float | None = DEFAULT_MAX_EXPANSION_RATIO,
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
        self.on_conflict = _choice("on_conflict", on_conflict, OnConflict)
        self.claim = _choice("claim", claim, Claim)
        self.file_mode = file_mode
        self.max_file_size = max_file_size
        self.max_expansion_ratio = max_expansion_ratio
        if self.after_import is AfterImport.MOVE and not archive_location:
            raise ValueError("after_import='move' needs archive_location")
        if self.claim is Claim.NONE and (self.after_import is not AfterImport.KEEP or quarantine_location):
            raise ValueError("claim='none' (read-only folders) needs after_import='keep' and no quarantine_location")

    direction = Direction.DOWNLOAD

    def what(self) -> str:
        return f"Connection {self.actito_sftp_conn_id!r}, location {self.location!r}"

    def transfer(self, context: Context, hook: ActitoSftpHook) -> TransferOutcome:
        from airflow_provider_actito_sftp.transfer.download import OutputLimits
        from airflow_provider_actito_sftp.transfer.importer import ImportJob, ImportRequest
        from airflow_provider_actito_sftp.transfer.ledger import VariableLedger

        settings = hook.settings
        for name in (self.location, self.archive_location, self.quarantine_location):
            if name:
                settings.location_path(name)  # unknown names fail before connecting
        owner = task_owner(context)
        destination = Destination(self.destination, owner=owner, file_mode=self.file_mode, on_conflict=self.on_conflict)
        request = ImportRequest(
            location=self.location,
            file_filter=FileFilter(self.pattern, self.regex, self.min_age, settings.outbound.lock_suffix),
            destination=destination,
            after_import=self.after_import,
            archive_location=self.archive_location,
            quarantine_location=self.quarantine_location,
            signature_policy=self.signature_policy,
            claim_timeout=self.claim_timeout,
            owner=owner,
            claim=self.claim,
            limits=OutputLimits(self.max_file_size, self.max_expansion_ratio),
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
        moved = sum(record.plaintext_bytes for record in result.imported)
        self.log.info(
            "%s: imported %d file(s) (%d bytes) into %s; refused %d, failed %d, skipped %d",
            self.what(),
            len(result.imported),
            moved,
            destination.uri,
            len(result.refused),
            len(result.failed),
            len(result.skipped),
        )
        return TransferOutcome(result.imported, result.refused, result.failed, result.unfinished)


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

    def what(self) -> str:
        return f"Connection {self.actito_sftp_conn_id!r}, location {self.location!r}"

    def transfer(self, context: Context, hook: ActitoSftpHook) -> TransferOutcome:
        from airflow_provider_actito_sftp.exceptions import ExportRefusedError
        from airflow_provider_actito_sftp.transfer.exporter import ExportJob, ExportRequest, resolve_sources
        from airflow_provider_actito_sftp.transfer.ledger import VariableDeliveryLog

        hook.settings.location_path(self.location)
        try:
            sources = resolve_sources(self.source)
        except ExportRefusedError as e:  # a source not there (yet): retried, it may be written meanwhile
            raise AirflowException(f"{self.what()}: {e}") from e
        request = ExportRequest(
            location=self.location,
            sources=sources,
            remote_name=self.remote_name,
            replace=self.overwrite == "replace",
            deliveries=VariableDeliveryLog(hook.settings.conn_id, self.location, task_owner(context)),
        )

        async def run() -> Any:
            async with hook.open_async_session() as session:
                return await ExportJob(session, request).run()

        try:
            result = asyncio.run(run())
        except ExportRefusedError as e:
            raise AirflowFailException(str(e)) from e
        self.log.info(
            "%s: exported %d file(s); refused %d, failed %d",
            self.what(),
            len(result.uploaded),
            len(result.refused),
            len(result.failed),
        )
        return TransferOutcome(result.uploaded, result.refused, result.failed)
