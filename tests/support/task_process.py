"""Run one import the way a task does, in a process of its own, so that a test can kill it with SIGKILL.

Usage: python -m tests.support.task_process CONN_ID LOCATION DESTINATION OWNER AFTER_IMPORT

The connection comes from the environment (``AIRFLOW_CONN_<CONN_ID>``, inherited from the test). One
session is opened through the hook and one :class:`ImportJob` runs with ``OWNER`` (the task instance's
:func:`~airflow_provider_actito_sftp.transfer.names.owner_id`), as the import operator does. A summary is
printed as one JSON line if the process lives that long.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys


def main() -> None:
    conn_id, location, destination, owner, after_import = sys.argv[1:]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from airflow_provider_actito_sftp.hooks import ActitoSftpHook
    from airflow_provider_actito_sftp.transfer.destinations import Destination
    from airflow_provider_actito_sftp.transfer.importer import ImportJob, ImportRequest, ImportResult
    from airflow_provider_actito_sftp.transfer.ledger import LedgerEntry
    from airflow_provider_actito_sftp.transfer.options import AfterImport
    from airflow_provider_actito_sftp.transfer.selection import FileFilter

    class NoLedger:
        """delete/move imports need no ledger."""

        def get(self, name: str) -> LedgerEntry | None:
            return None

        def put(self, entry: LedgerEntry) -> None:
            raise RuntimeError("this helper runs delete/move imports only")

    async def run() -> ImportResult:
        hook = ActitoSftpHook(conn_id)
        async with hook.open_async_session() as session:
            request = ImportRequest(
                location=location,
                file_filter=FileFilter("*", min_age=0, lock_suffix=session.settings.outbound.lock_suffix),
                destination=Destination(destination, owner=owner),
                after_import=AfterImport(after_import),
                owner=owner,
            )
            return await ImportJob(session, request, NoLedger()).run()

    result = asyncio.run(run())
    summary = {
        "imported": len(result.imported),
        "refused": len(result.refused),
        "failed": len(result.failed),
        "skipped": len(result.skipped),
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
