"""A trigger that waits, in the triggerer, for complete files to appear in a location."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_actito_sftp.exceptions import ActitoSftpError
from airflow_provider_actito_sftp.hooks.actito_sftp import ActitoSftpHook
from airflow_provider_actito_sftp.transfer.names import shown_name
from airflow_provider_actito_sftp.transfer.options import DEFAULT_MIN_AGE, DEFAULT_POKE_INTERVAL, ImportOptions


class ActitoSftpFileTrigger(BaseTrigger):
    """Poll a location over one SSH session until files match; then fire with their names (or, for an error of
    ours, with its message and whether a retry may get past it: the sensor fails its try accordingly).

    Each look is the hook's one check (:meth:`ActitoSftpHook.await_for_files`), the same as the
    sensor's poke on the worker.

    :param conn_id: the connection's technical name.
    :param location: the location name.
    :param pattern: glob (or regex with ``regex=True``).
    :param min_age: seconds a file must be unmodified to count as complete (default 60, as the sensor and
        the import: :data:`~airflow_provider_actito_sftp.transfer.options.DEFAULT_MIN_AGE`).
    :param poke_interval: seconds between listings (default 60, as the sensor:
        :data:`~airflow_provider_actito_sftp.transfer.options.DEFAULT_POKE_INTERVAL`).
    """

    def __init__(
        self,
        conn_id: str,
        location: str,
        pattern: str = ImportOptions.pattern,
        regex: bool = ImportOptions.regex,
        min_age: float = DEFAULT_MIN_AGE,
        poke_interval: float = DEFAULT_POKE_INTERVAL,
    ) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.location = location
        self.pattern = pattern
        self.regex = regex
        self.min_age = min_age
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "location": self.location,
                "pattern": self.pattern,
                "regex": self.regex,
                "min_age": self.min_age,
                "poke_interval": self.poke_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            ready = await ActitoSftpHook(self.conn_id).await_for_files(
                self.location,
                pattern=self.pattern,
                regex=self.regex,
                min_age=self.min_age,
                poke_interval=self.poke_interval,
            )
        except ActitoSftpError as e:
            yield TriggerEvent({"status": "error", "message": str(e), "retryable": e.retryable})
            return
        yield TriggerEvent({"status": "success", "files": [shown_name(entry.name) for entry in ready]})
