"""Markers left on the server by interrupted imports: finish them, release them, or leave them alone.

A marker is *ours* when its owner is this task instance (an earlier try of it, killed or cut off):
it is resumed at once. Another owner's marker is left alone while it is younger than
``claim_timeout`` (that run may still be working) and taken over after. Only regular files are ever
considered: an entry that merely has a marker's name (a symlink, a folder) is never followed or
imported.

- a **staged** marker whose content is already published (same sha256 at the destination) only gets
  its remote step (delete / archive / ledger + rename back);
- any other marker is renamed back to its name and imported again in this run.

"Ours" cannot tell a dead earlier try from a live one (a zombie: its host stalled and Airflow started the
retry beside it). The retry takes the zombie's files over; the zombie sees its marker gone, leaves the
file (a skip, not a failure) and starts no more files (:meth:`~.import_state.ImportState.taken_over`); it
checks its staged marker is still there just before it publishes, and a file the retry resumed from a staged
marker whose content the zombie published meanwhile is only finished (:func:`finish_if_published_meanwhile`).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from airflow_provider_actito_sftp.ssh.session import RemoteEntry
from airflow_provider_actito_sftp.transfer.names import Marker, MarkerKind, parse_marker, plaintext_name, shown_name
from airflow_provider_actito_sftp.transfer.remote_steps import finish_import

if TYPE_CHECKING:
    from airflow_provider_actito_sftp.transfer.import_state import ImportState

log = logging.getLogger(__name__)


async def recover(job: ImportState, entries: list[RemoteEntry]) -> list[RemoteEntry]:
    """Finish or release the markers of interrupted runs; return the files released for import."""
    released: list[RemoteEntry] = []
    for entry in entries:
        marker = parse_marker(entry.name)
        if marker is None or not job.request.file_filter.matches(marker.original):
            continue
        if not entry.is_file:
            log.warning(
                "%s: '%s' is not a regular file; ignored", job.report.what(marker.original), shown_name(entry.name)
            )
            job.report.skip(entry.name, "named like a marker but not a regular file: ignored")
            continue
        ours = bool(job.request.owner) and marker.owner == job.request.owner
        if not ours and marker.age() <= job.request.options.claim_timeout:
            job.report.skip(marker.original, "being imported by another run")
            continue
        why = "an earlier try of this task" if ours else f"a run that stopped {marker.age():.0f} s ago"
        published_sha256 = _published_sha256(job, marker) if marker.kind is MarkerKind.STAGED else None
        if published_sha256 is not None:
            await _finish(job, marker, entry, why, published_sha256)
        elif await _release(job, marker, entry, why):
            released.append(_as_released(job, marker, entry))
            if marker.kind is MarkerKind.STAGED:
                job.resumed_staged[marker.original] = marker
    return released


async def finish_if_published_meanwhile(job: ImportState, staged: Marker, entry: RemoteEntry, sha256: str) -> bool:
    """For a file this run resumed from a staged marker (content not published then): if that content was
    published since, by the live try that staged it, finish the file's remote step only; return True then.

    :param staged: this run's own staged marker of the file.
    :param sha256: the content this run downloaded.
    """
    resumed = job.resumed_staged.get(staged.original)
    if resumed is None or not sha256.startswith(resumed.tag) or _published_sha256(job, resumed) != sha256:
        return False
    await _finish(job, staged, entry, "the live run that staged it", sha256)
    return True


async def _finish(job: ImportState, marker: Marker, entry: RemoteEntry, why: str, sha256: str) -> None:
    log.warning("%s: already published by %s; completing its remote step", job.report.what(marker.original), why)
    outcome, error, retryable = await finish_import(job, marker, entry.size, entry.mtime_ns, sha256)
    if error is not None:
        job.report.fail(_as_released(job, marker, entry), error, time.monotonic(), retryable=retryable)
    else:
        job.report.skip(marker.original, f"already imported; {outcome}")


async def _release(job: ImportState, marker: Marker, entry: RemoteEntry, why: str) -> bool:
    log.warning("%s: resuming a %s marker left by %s", job.report.what(marker.original), marker.kind.value, why)
    return await job.release(marker, _as_released(job, marker, entry), time.monotonic(), resumed=True)


def _as_released(job: ImportState, marker: Marker, entry: RemoteEntry) -> RemoteEntry:
    return RemoteEntry(
        name=marker.original,
        path=f"{job.folder.rstrip('/')}/{marker.original}",
        size=entry.size,
        mtime=entry.mtime,
        is_file=True,
        is_dir=False,
        mtime_ns=entry.mtime_ns,
    )


def _published_sha256(job: ImportState, staged: Marker) -> str | None:
    """The full sha256 of the staged file's published copy, if one is at the destination."""
    destination = job.request.destination
    for final_name in dict.fromkeys((staged.original, plaintext_name(staged.original))):
        for candidate in destination.published_candidates(final_name):
            digest = destination.sha256_of(candidate)
            if digest is not None and digest.startswith(staged.tag):
                return digest
    return None
