"""Import and export operators: thin wrappers that validate arguments, call the hook and report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from airflow.sdk import Asset, BaseOperator, Context
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_actito_sftp.connection.schema import DEFAULT_CONN_ID
from airflow_provider_actito_sftp.exceptions import ActitoSftpError
from airflow_provider_actito_sftp.metrics import SUMMARY_XCOM_KEY, TransferSummary
from airflow_provider_actito_sftp.operators.lineage import MovedFiles, operator_lineage
from airflow_provider_actito_sftp.operators.outcome import TransferOutcome, import_return_value, outlet_summary
from airflow_provider_actito_sftp.transfer.destinations import Destination
from airflow_provider_actito_sftp.transfer.options import ImportArgs, ImportOptions, Overwrite, choice
from airflow_provider_actito_sftp.transfer.records import Direction, TransferRecord

# The SSH/gpg machinery is imported when a task runs, not when a DAG file is parsed.
if TYPE_CHECKING:
    from airflow.providers.common.compat.openlineage.facet import Dataset, RunFacet
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_actito_sftp.hooks.actito_sftp import ActitoSftpHook


def task_error(error: Exception, what: str) -> Exception | None:
    """What a try raises for an error that stopped it before it could say what happened to each file: one of ours
    decides by its group (:attr:`ActitoSftpError.retryable`: ``AirflowFailException`` when a retry would meet it
    again, the configuration, the server or the file to fix; else ``AirflowException``, retried); None for any
    other error, raised as it is (retried).

    :param error: what stopped the try.
    :param what: the connection and location, put before a message that does not name the connection.
    """
    if not isinstance(error, ActitoSftpError):
        return None
    return task_failure(str(error), retryable=error.retryable, what=what)


def task_failure(message: str, *, retryable: bool, what: str) -> AirflowException:
    """What a try raises for an error of ours known by its message and group (:func:`task_error`'s decision; the
    sensor's deferral ends with them): ``AirflowException`` (retried) or ``AirflowFailException`` (not).

    :param message: the error's text.
    :param retryable: its :attr:`ActitoSftpError.retryable`.
    :param what: the connection and location, put before a message that does not name the connection.
    """
    text = message if message.startswith("Connection ") else f"{what}: {message}"
    return AirflowException(text) if retryable else AirflowFailException(text)


def task_subject(conn_id: str, location: str) -> str:
    """The connection and location a task works on, as its failures name them.

    :param conn_id: the connection's technical name.
    :param location: the location's name.
    """
    return f"Connection {conn_id!r}, location {location!r}"


def _default_outlets(target: Any) -> list[Asset]:
    """An Asset for a destination known at parse time (not a Jinja template)."""
    if isinstance(target, str) and "{{" in target:
        return []
    uri = Destination.uri_of(target)
    return [Asset(uri)] if uri else []


class _TransferOperator(BaseOperator):
    """Shared run-and-report logic: every try pushes a transfer summary (for the overview) and its
    records, emits Asset events only when files moved, and fails listing every file that did not: without
    retry when a file was refused (a retry would meet the same file), with retry for transport errors. The files
    a try moved are its OpenLineage inputs and outputs (:mod:`.lineage`, when the OpenLineage provider is
    installed), and the hook sends the try's metrics (:mod:`~airflow_provider_actito_sftp.hooks.transfer_stats`)."""

    direction: Direction
    conn_id: str
    location: str
    moved_files: MovedFiles | None = None  # what the try moved, for its OpenLineage event (None: nothing said yet)

    def transfer(self, context: Context, hook: ActitoSftpHook) -> TransferOutcome:
        """Move the files; say what happened to each."""
        raise NotImplementedError

    def what(self) -> str:
        return task_subject(self.conn_id, self.location)

    def execute(self, context: Context) -> Any:
        from airflow_provider_actito_sftp.hooks.actito_sftp import ActitoSftpHook

        hook = ActitoSftpHook(self.conn_id)
        self.moved_files = None
        summary = TransferSummary(conn_id=self.conn_id, direction=self.direction.value, location=self.location)
        try:
            summary.entity = hook.settings.entity
            outcome = self.transfer(context, hook)
        except Exception as e:
            summary.failed = 1  # the try failed before it could say more: at least one failed request
            summary.add_problem("", "failed", str(e))  # no file of its own: the reason is the try's
            failure = task_error(e, self.what())
            if failure is None:
                raise
            raise failure from e
        else:
            succeeded = outcome.succeeded
            self._remember(hook, succeeded)
            summary.succeeded, summary.failed = len(succeeded), len(outcome.refused) + len(outcome.failed)
            summary.wire_bytes = sum(record.wire_bytes for record in succeeded)
            summary.plaintext_bytes = sum(record.plaintext_bytes for record in succeeded)
            if succeeded:
                summary.last_file, summary.last_file_bytes = succeeded[-1].remote_path, succeeded[-1].wire_bytes
            for outcome_name, problem_records in outcome.problems():
                for record in problem_records:
                    summary.add_problem(record.remote_path, outcome_name, record.error or "")
            if outcome.report_error:
                summary.add_problem("", "failed", outcome.report_error)
        finally:
            context["ti"].xcom_push(key=SUMMARY_XCOM_KEY, value=summary.as_dict())
        value = outcome.return_value
        if value is None:
            value = [record.as_dict() for record in outcome.records]
        if not (outcome.refused or outcome.failed or outcome.unfinished or outcome.report_error):
            self._announce(context, succeeded)
            return value
        context["ti"].xcom_push(key="return_value", value=value)
        message = (
            f"{self.what()}: {len(succeeded)} file(s) moved, {len(outcome.refused)} refused, "
            f"{len(outcome.failed)} failed, {len(outcome.unfinished)} not finished on the server:\n"
            f"{outcome.failure_lines()}"
        )
        if (
            outcome.refused
            or outcome.report_error  # a retry would import nothing new: the records would stay unreported
            or not all(record.retryable for record in outcome.failed + outcome.unfinished)
        ):
            raise AirflowFailException(message)  # bad input, or a step the server refuses: a retry would too
        raise AirflowException(message)

    def _remember(self, hook: ActitoSftpHook, succeeded: list[TransferRecord]) -> None:
        """Keep what moved for the try's OpenLineage event (:meth:`get_openlineage_facets_on_complete`)."""
        settings = hook.settings
        self.moved_files = MovedFiles(self.direction, settings.host, settings.port, tuple(succeeded))

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Dataset, RunFacet]:
        """OpenLineage's call when the try ends (success or failure): the files that moved, the partner's on one
        side, the local or object storage ones on the other (:mod:`~.operators.lineage`). Only the OpenLineage
        provider's listener calls it, and only then is that optional provider imported.

        :param task_instance: the try's task instance (unused: what moved is kept on the operator).
        """
        return operator_lineage(self.moved_files)

    def _announce(self, context: Context, succeeded: list[TransferRecord]) -> None:
        """On success, Asset events for what moved; none at all when nothing did (no downstream run for
        nothing). A failed try emits none anyway."""
        if not succeeded:
            self.outlets = []
            return
        for outlet in self.outlets:
            if isinstance(outlet, Asset):
                context["outlet_events"][outlet].extra = outlet_summary(succeeded)


class ActitoSftpImportOperator(_TransferOperator):
    """Download matching files from a location, PGP-decrypt them, publish them atomically.

    Good files are imported even when others are refused; the task then fails listing every file that
    was not imported and why: without retry when a file was refused (not PGP, tampered, a name
    conflict: a retry would meet the same file), with retry when the transport failed (a retry of the
    same task resumes its own claims at once). A remote file is deleted, archived or released only
    after its local copy is complete, verified and durable; a file that changed while it was read is
    never published and stays on the server.

    :param conn_id: the connection's technical name.
    :param location: the location to import from.
    :param destination: a local folder or an ``ObjectStoragePath`` (templated).
    :param pattern: glob of the files to import (``*.csv.pgp``); with ``regex=True`` a full-match regex.
        Hidden files (``.lock``) match only a pattern starting with a literal dot.
    :param after_import: ``"keep"`` (default; the ledger prevents re-imports), ``"delete"`` or ``"move"``.
        On a server that refuses the step (no delete rights) the task fails without retry, naming the
        setting that works there; a run with it finishes the file.
    :param archive_location: the location files are moved to with ``after_import="move"``.
    :param quarantine_location: where refused files are moved (else they stay in place).
    :param signature_policy: ``"ignore"`` (default), ``"accept"`` or ``"require"`` a valid signature by the
        partner's key (the connection's partner PGP public key); a partner who signs the encrypted file
        (the signature outside the encryption) is checked the same way, and so is a detached signature beside
        the file (``X.sig``, or ``X.asc`` beside ``X``), which goes wherever its data file goes and is never
        imported on its own; under ``"require"`` a file without any signature waits 15 minutes for one, then is
        refused. Files gpg 2.2 cannot read
        (Sequoia's default padding) are decrypted with ``sq`` where it is installed on the worker.
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
    :param max_files: files one run takes at most (default None: every ready file). Files are taken oldest
        first (modification time on the server, then name), so a backlog drains over several runs in the
        order the partner wrote it; the others stay untouched on the server (counted as ``remaining``).
        Files the ``keep`` ledger already has are not counted; refused files left in place are (set
        ``quarantine_location`` so they do not hold the backlog up).
    :param max_bytes: bytes on the server (encrypted size) one run takes at most (default None), oldest
        first; the oldest file is always taken, even one larger than ``max_bytes`` (it is imported alone).
    :return: (XCom) counts (``imported``, ``refused``, ``failed``, ``unfinished``, ``skipped``,
        ``remaining``), bytes (``plaintext_bytes``, ``wire_bytes``), the first 100 ``records`` (refused
        and failed first) of ``records_total``, and ``report``: the JSON Lines file holding every record, in
        the destination's hidden ``.actito-sftp-reports/`` folder (``report_error`` when it could not be
        written: the try then fails, without retry, if the XCom leaves records out). Read all of them with
        :func:`~airflow_provider_actito_sftp.transfer.import_report.report_records`.
    """

    template_fields: Sequence[str] = ("location", "pattern", "destination", "archive_location", "quarantine_location")
    ui_color = "#d6eaf8"

    def __init__(
        self,
        *,
        conn_id: str = DEFAULT_CONN_ID,
        location: str,
        destination: Any,
        # One parameter per ImportOptions field, its default ImportOptions' (a test pins both): named parameters,
        # not **ImportArgs, so that Airflow applies default_args to them and .partial()/.expand() accept them.
        pattern: str = ImportOptions.pattern,
        regex: bool = ImportOptions.regex,
        after_import: str = ImportOptions.after_import,
        archive_location: str | None = ImportOptions.archive_location,
        quarantine_location: str | None = ImportOptions.quarantine_location,
        signature_policy: str = ImportOptions.signature_policy,
        min_age: float | timedelta = ImportOptions.min_age,
        claim_timeout: float | timedelta = ImportOptions.claim_timeout,
        on_conflict: str = ImportOptions.on_conflict,
        claim: str = ImportOptions.claim,
        file_mode: int = ImportOptions.file_mode,
        max_file_size: int | None = ImportOptions.max_file_size,
        max_expansion_ratio: float | None = ImportOptions.max_expansion_ratio,
        max_files: int | None = ImportOptions.max_files,
        max_bytes: int | None = ImportOptions.max_bytes,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("outlets", _default_outlets(destination))
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.location = location
        self.destination = destination
        self.pattern = pattern
        self.regex = regex
        self.after_import = after_import
        self.archive_location = archive_location
        self.quarantine_location = quarantine_location
        self.signature_policy = signature_policy
        self.min_age = min_age
        self.claim_timeout = claim_timeout
        self.on_conflict = on_conflict
        self.claim = claim
        self.file_mode = file_mode
        self.max_file_size = max_file_size
        self.max_expansion_ratio = max_expansion_ratio
        self.max_files = max_files
        self.max_bytes = max_bytes
        ImportOptions.parse(**self._import_args())  # invalid choices and combinations fail at parse time

    direction = Direction.DOWNLOAD

    def _import_args(self) -> ImportArgs:
        """The hook's import options (every :class:`ImportOptions` field), from this operator's (rendered)
        arguments."""
        return cast("ImportArgs", {name: getattr(self, name) for name in ImportOptions.names()})

    def transfer(self, context: Context, hook: ActitoSftpHook) -> TransferOutcome:
        from airflow_provider_actito_sftp.hooks.task_identity import task_ledger_name, task_owner

        result = hook.import_files(
            self.location,
            self.destination,
            owner=task_owner(context),
            ledger_name=task_ledger_name(context),
            report=True,
            **self._import_args(),
        )
        value = import_return_value(result)
        needed = value["records_total"] > len(value["records"])  # else the XCom has every record anyway
        return TransferOutcome(
            result.imported,
            result.refused,
            result.failed,
            result.unfinished,
            return_value=value,
            report_error=result.report_error if needed else None,
        )


class ActitoSftpExportOperator(_TransferOperator):
    """Upload files to a location: PGP-encrypt to the partner's key and lock the upload, per the connection.

    Everything is checked before the first byte moves: the partner key (present, not expired) and,
    with ``overwrite="fail"``, that no target exists. With locking on, each file is written as
    ``<name><suffix>``, its size verified, then renamed, so the partner never sees a partial file.

    :param conn_id: the connection's technical name.
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
        conn_id: str = DEFAULT_CONN_ID,
        location: str,
        source: Any,
        remote_name: str | None = None,
        overwrite: str = "fail",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.overwrite = choice("overwrite", overwrite, Overwrite)
        self.conn_id = conn_id
        self.location = location
        self.source = source
        self.remote_name = remote_name

    direction = Direction.UPLOAD

    def transfer(self, context: Context, hook: ActitoSftpHook) -> TransferOutcome:
        from airflow_provider_actito_sftp.hooks.task_identity import task_owner

        # A refused batch fails without retry; a source not there (yet) is retried (it may be written meanwhile).
        result = hook.export_files(
            self.location,
            self.source,
            remote_name=self.remote_name,
            overwrite=self.overwrite,
            owner=task_owner(context),
        )
        return TransferOutcome(result.uploaded, result.refused, result.failed)
