"""What an import does on the server besides claiming and reading a file: its last step once its local copy is
published (delete it, move it to the archive, or, ``keep``, record it in the ledger and rename it back; used by
the import and by the recovery of a run that stopped after the publish, :mod:`~.recovery`), and setting aside a
file it refuses before any claim."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import asyncssh

from airflow_provider_actito_sftp.transfer.import_report import remote_step_refused
from airflow_provider_actito_sftp.transfer.ledger import LedgerEntry
from airflow_provider_actito_sftp.transfer.names import Marker, shown_name
from airflow_provider_actito_sftp.transfer.options import AfterImport
from airflow_provider_actito_sftp.transfer.remote_folder import describe

if TYPE_CHECKING:
    from airflow_provider_actito_sftp.ssh.session import RemoteEntry
    from airflow_provider_actito_sftp.transfer.import_state import ImportState

log = logging.getLogger("airflow_provider_actito_sftp.transfer.importer")


async def finish_import(
    job: ImportState, staged: Marker, size: int, mtime_ns: int, sha256: str
) -> tuple[str, str | None, bool]:
    """Delete, archive, or record and rename back; return what happened, the error or None, and whether a
    retry may succeed (not when the server refuses the step itself). Never raises.

    :param job: the import run.
    :param staged: the file's staged marker on the server.
    :param size: its size as listed, for the ledger.
    :param mtime_ns: its modification time as listed, for the ledger.
    :param sha256: its plaintext's digest, for the ledger.
    """
    after = job.request.options.after_import
    try:
        if after is AfterImport.DELETE:
            await job.remote.remove(staged.name)
            return "deleted from the server", None, True
        if after is AfterImport.MOVE:
            assert job.request.options.archive_location is not None
            archive = job.session.location_path(job.request.options.archive_location)
            moved = await job.remote.move_without_clobbering(staged.name, archive, staged.original)
            return f"archived as {archive.rstrip('/')}/{moved}", None, True
        record_in_ledger(job, staged.original, size, mtime_ns, sha256)
        await job.remote.rename(staged.name, staged.original)
        return "kept on the server (recorded in the ledger)", None, True
    except (asyncssh.Error, OSError) as e:
        if isinstance(e, asyncssh.SFTPNoSuchFile) and not await job.still_there(staged.name):
            return "finished by another run's recovery", None, True
        if isinstance(e, asyncssh.SFTPPermissionDenied | asyncssh.SFTPOpUnsupported):  # the server's rule
            return "not finished", remote_step_refused(after, staged.name, describe(e)), False
        error = f"imported, but the remote step failed ({describe(e)}); it stays as {staged.name!r} until retried"
        return "not finished", error, True


def record_in_ledger(job: ImportState, name: str, size: int, mtime_ns: int, sha256: str) -> None:
    """Note in the ``keep`` ledger that this version of ``name`` was imported, and where to."""
    entry = LedgerEntry(
        name,
        size,
        mtime_ns / 1e9,
        sha256,
        job.request.destination.uri,
        mtime_ns=mtime_ns,
        imported_at=time.time(),
    )
    job.ledger.put(entry)


async def quarantine_unclaimed(job: ImportState, entry: RemoteEntry) -> str | None:
    """Move a file refused before any claim (a name that is not UTF-8, has control characters, or is too long
    for our markers) to the quarantine location, under its own name (its bytes as the server gave them: never a
    local path), so that later runs do not meet it again; where it went (shown), or None (no quarantine
    location, or the move failed: it stays in place, logged). No run can claim such a file: none competes.

    :param job: the import run.
    :param entry: the refused file.
    """
    if job.request.options.quarantine_location is None:
        return None
    quarantine = job.session.location_path(job.request.options.quarantine_location)
    try:
        moved = await job.remote.move_without_clobbering(entry.name, quarantine, entry.name)
    except (asyncssh.Error, OSError) as e:
        what = job.report.what(entry.name)
        log.error("%s: could not move to quarantine (%s); leaving it in place", what, describe(e))
        return None
    return f"{quarantine.rstrip('/')}/{shown_name(moved)}"


async def quarantine_or_release(job: ImportState, claim: Marker, entry: RemoteEntry, started: float, why: str) -> bool:
    """Move a refused file's claim to ``quarantine_location``, or release it where there is none (or the move
    fails); return whether the file's outcome is still to be reported (see
    :meth:`~.import_state.ImportState.release`)."""
    if job.request.options.quarantine_location is None:
        return await job.release(claim, entry, started, why)
    quarantine = job.session.location_path(job.request.options.quarantine_location)
    try:
        moved = await job.remote.move_without_clobbering(claim.name, quarantine, claim.original)
        log.warning("%s: moved to quarantine %s/%s", job.report.what(claim.original), quarantine, moved)
        return True
    except (asyncssh.Error, OSError) as e:
        log.error("%s: could not move to quarantine (%s); leaving it in place", job.report.what(claim.original), e)
        return await job.release(claim, entry, started, why)
