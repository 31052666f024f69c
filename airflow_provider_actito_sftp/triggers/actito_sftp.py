"""A trigger that waits, in the triggerer, for complete files to appear in a location."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_actito_sftp.exceptions import ActitoSftpError
from airflow_provider_actito_sftp.hooks.actito_sftp import ActitoSftpHook
from airflow_provider_actito_sftp.transfer.selection import FileFilter


class ActitoSftpFileTrigger(BaseTrigger):
    """Poll a location over one SSH session until files match; then fire with their names.

    :param actito_sftp_conn_id: the connection's technical name.
    :param location: the location name.
    :param pattern: glob (or regex with ``regex=True``).
    :param min_age: seconds a file must be unmodified to count as complete.
    :param poke_interval: seconds between listings.
    """

    def __init__(
        self,
        actito_sftp_conn_id: str,
        location: str,
        pattern: str = "*",
        regex: bool = False,
        min_age: float = 0.0,
        poke_interval: float = 60.0,
    ) -> None:
        super().__init__()
        self.actito_sftp_conn_id = actito_sftp_conn_id
        self.location = location
        self.pattern = pattern
        self.regex = regex
        self.min_age = min_age
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "actito_sftp_conn_id": self.actito_sftp_conn_id,
                "location": self.location,
                "pattern": self.pattern,
                "regex": self.regex,
                "min_age": self.min_age,
                "poke_interval": self.poke_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = ActitoSftpHook(self.actito_sftp_conn_id)
        try:
            settings = await hook.aget_settings()
            file_filter = FileFilter(self.pattern, self.regex, self.min_age, settings.outbound.lock_suffix)
            async with hook.open_async_session() as session:
                while True:
                    ready = file_filter.ready(await session.list_location(self.location))
                    if ready:
                        yield TriggerEvent({"status": "success", "files": [entry.name for entry in ready]})
                        return
                    self.log.info(
                        "No complete file matching %r in %r yet; next look in %.0f s",
                        self.pattern,
                        self.location,
                        self.poke_interval,
                    )
                    await asyncio.sleep(self.poke_interval)
        except ActitoSftpError as e:
            yield TriggerEvent({"status": "error", "message": str(e)})
