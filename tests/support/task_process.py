"""Run one import the way a task does, in a process of its own, so that a test can kill it with SIGKILL.

Usage: python -m tests.support.task_process CONN_ID LOCATION DESTINATION OWNER AFTER_IMPORT [FREEZE_AT]

The connection comes from the environment (``AIRFLOW_CONN_<CONN_ID>``, inherited from the test). One
session is opened through the hook and one :class:`ImportJob` runs with ``OWNER`` (the task instance's
:func:`~airflow_provider_actito_sftp.transfer.names.owner_id`), as the import operator does. A summary is
printed as one JSON line if the process lives that long.

``FREEZE_AT`` makes the process stop itself (``SIGSTOP``, as a task whose host stalls: a zombie) the first
time the import reaches a step: ``claimed`` (a file just claimed on the server), ``staged`` (a file just
staged on the server, not yet published locally) or ``published`` (published, its remote step not done).
The test continues it with ``SIGCONT``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any


def _freezing(
    function: Callable[..., Awaitable[Any]], when: Callable[..., bool], *, after_the_call: bool
) -> Callable[..., Any]:
    """An async method that stops this process (SIGSTOP) the first time ``when(*args)`` holds, before the
    call or after it (the test continues the process with SIGCONT)."""
    frozen: list[bool] = []

    @functools.wraps(function)
    async def freezing(*args: Any, **kwargs: Any) -> Any:
        freeze = not frozen and when(*args)
        if freeze:
            frozen.append(True)
            if not after_the_call:
                os.kill(os.getpid(), signal.SIGSTOP)
        result = await function(*args, **kwargs)
        if freeze and after_the_call:
            os.kill(os.getpid(), signal.SIGSTOP)
        return result

    return freezing


def _install_freeze(freeze_at: str) -> None:
    from airflow_provider_actito_sftp.transfer import importer
    from airflow_provider_actito_sftp.transfer.names import MarkerKind, parse_marker
    from airflow_provider_actito_sftp.transfer.remote_folder import RemoteFolder

    kinds = {"claimed": MarkerKind.CLAIMED, "staged": MarkerKind.STAGED}
    if freeze_at in kinds:  # right after a file is renamed to .NAME.actito-claim-... / -staged-...
        kind = kinds[freeze_at]
        RemoteFolder.rename = _freezing(  # type: ignore[method-assign]
            RemoteFolder.rename,
            lambda _folder, _old, new: getattr(parse_marker(new), "kind", None) is kind,
            after_the_call=True,
        )
    elif freeze_at == "published":  # published locally, its remote step (delete) not done
        importer.finish_import = _freezing(importer.finish_import, lambda *_: True, after_the_call=False)
    else:
        raise SystemExit(f"unknown FREEZE_AT {freeze_at!r}")


def main() -> None:
    conn_id, location, destination, owner, after_import, *freeze_at = sys.argv[1:]
    if freeze_at:
        _install_freeze(freeze_at[0])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from airflow_provider_actito_sftp.hooks import ActitoSftpHook
    from airflow_provider_actito_sftp.transfer.destinations import Destination
    from airflow_provider_actito_sftp.transfer.import_state import ImportRequest
    from airflow_provider_actito_sftp.transfer.importer import ImportJob, ImportResult
    from airflow_provider_actito_sftp.transfer.ledger import LedgerEntry
    from airflow_provider_actito_sftp.transfer.options import AfterImport, ImportOptions
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
                options=ImportOptions(after_import=AfterImport(after_import)),
                owner=owner,
            )
            return await ImportJob(session, request, NoLedger()).run()

    result = asyncio.run(run())
    summary = {
        "imported": len(result.imported),
        "refused": len(result.refused),
        "failed": len(result.failed),
        "skipped": len(result.skipped),
        "imported_names": [record.remote_path.rsplit("/", 1)[-1] for record in result.imported],
        "errors": [record.error for record in result.refused + result.failed],
        "skipped_with_reasons": result.skipped,
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
