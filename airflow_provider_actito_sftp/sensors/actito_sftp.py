"""Wait for partner files in a location; deferrable so the worker slot is free while waiting."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, Context, PokeReturnValue

from airflow_provider_actito_sftp.connection.schema import DEFAULT_CONN_ID
from airflow_provider_actito_sftp.operators.actito_sftp import task_error, task_failure, task_subject
from airflow_provider_actito_sftp.transfer.names import shown_name
from airflow_provider_actito_sftp.transfer.options import DEFAULT_MIN_AGE, DEFAULT_POKE_INTERVAL, ImportOptions, seconds


class ActitoSftpFileSensor(BaseSensorOperator):
    """Wait until complete files matching ``pattern`` are in ``location``; return their names.

    Files still being written are ignored exactly as the import operator ignores them (temporary
    suffixes, the connection's lock suffix, files modified within ``min_age``). Each poke, and the
    trigger's every look, is the hook's one check (:meth:`ActitoSftpHook.find_files` and
    :meth:`ActitoSftpHook.await_for_files`). An error of ours fails the try as it fails the operators' (see
    :func:`~airflow_provider_actito_sftp.operators.actito_sftp.task_error`): without retry when a retry would meet
    it again (an unknown location, a host key that does not match), with retry otherwise.

    :param conn_id: the connection's technical name.
    :param location: a location name of the connection.
    :param pattern: glob such as ``*.csv.pgp``; a full-match regular expression with ``regex=True``.
    :param regex: treat ``pattern`` as a regular expression.
    :param min_age: seconds (or a timedelta) a file must be unmodified (default 60, as the import).
    :param poke_interval: seconds (or a timedelta) between two looks, on the worker or in the triggerer
        (default 60: :data:`~airflow_provider_actito_sftp.transfer.options.DEFAULT_POKE_INTERVAL`).
    :param deferrable: wait in the triggerer instead of holding a worker slot (default True).
    """

    template_fields: Sequence[str] = ("location", "pattern")

    def __init__(
        self,
        *,
        conn_id: str = DEFAULT_CONN_ID,
        location: str,
        pattern: str = ImportOptions.pattern,
        regex: bool = ImportOptions.regex,
        min_age: float | timedelta = DEFAULT_MIN_AGE,
        poke_interval: float | timedelta = DEFAULT_POKE_INTERVAL,
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        self.conn_id = conn_id
        self.location = location
        self.pattern = pattern
        self.regex = regex
        self.min_age = seconds(min_age)
        self.deferrable = deferrable

    def poke(self, context: Context) -> PokeReturnValue:
        from airflow_provider_actito_sftp.hooks.actito_sftp import ActitoSftpHook  # not at DAG parse time

        try:
            ready = ActitoSftpHook(self.conn_id).find_files(
                self.location, pattern=self.pattern, regex=self.regex, min_age=self.min_age
            )
        except Exception as e:
            failure = task_error(e, self.what())
            if failure is None:
                raise
            raise failure from e
        names = [shown_name(entry.name) for entry in ready]
        if names:
            self._found(names)
        return PokeReturnValue(is_done=bool(names), xcom_value=names)

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        from airflow_provider_actito_sftp.triggers.actito_sftp import ActitoSftpFileTrigger

        found = self.poke(context)
        if found.is_done:
            return found.xcom_value
        self.defer(
            trigger=ActitoSftpFileTrigger(
                self.conn_id, self.location, self.pattern, self.regex, self.min_age, float(self.poke_interval)
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout)) if self.timeout else None,
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> list[str]:
        """The trigger's event: the files found, or the error that stopped it, failing the try as a poke's would
        (an event without ``retryable``, from an earlier version, is retried)."""
        if event.get("status") != "success":
            message = event.get("message", "the file trigger failed")
            raise task_failure(message, retryable=event.get("retryable", True), what=self.what())
        files: list[str] = event["files"]
        self._found(files)
        return files

    def what(self) -> str:
        return task_subject(self.conn_id, self.location)

    def _found(self, names: list[str]) -> None:
        self.log.info("Found %d file(s) in %r: %s", len(names), self.location, ", ".join(names))
