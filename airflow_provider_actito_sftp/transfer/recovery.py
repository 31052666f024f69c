"""Markers left on the server by interrupted imports: finish them, release them, or leave them alone.

A marker is *ours* when its owner is this task instance (an earlier try of it, killed or cut off):
it is resumed at once. Another owner's marker is left alone while it is younger than
``claim_timeout`` (that run may still be working) and taken over after. Only regular files are ever
considered: an entry that merely has a marker's name (a symlink, a folder) is never followed or
imported.

- a **staged** marker whose content is already published (same sha256 at the destination) only gets
  its remote step (delete / archive / ledger + rename back);
- any other marker is renamed back to its name and imported again in this run.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from airflow_provider_actito_sftp.ssh.session import RemoteEntry
from airflow_provider_actito_sftp.transfer.names import Marker, MarkerKind, parse_marker, plaintext_name

if TYPE_CHECKING:
    from airflow_provider_actito_sftp.transfer.importer import ImportJob

log = logging.getLogger(__name__)


async def recover(job: ImportJob, entries: list[RemoteEntry]) -> list[RemoteEntry]:
    """Finish or release the markers of interrupted runs; return the files released for import."""
    released: list[RemoteEntry] = []
    for entry in entries:
        marker = parse_marker(entry.name)
        if marker is None or not job.request.file_filter.matches(marker.original):
            continue
        if not entry.is_file:
            log.warning("%s: %r is not a regular file; ignored", job.report.what(marker.original), entry.name)
            job.report.skip(entry.name, "named like a marker but not a regular file: ignored")
            continue
        ours = bool(job.request.owner) and marker.owner == job.request.owner
        if not ours and marker.age() <= job.request.claim_timeout:
            job.report.skip(marker.original, "being imported by another run")
            continue
        why = "an earlier try of this task" if ours else f"a run that stopped {marker.age():.0f} s ago"
        published_sha256 = _published_sha256(job, marker) if marker.kind is MarkerKind.STAGED else None
        if published_sha256 is not None:
            await _finish(job, marker, entry, why, published_sha256)
        elif await _release(job, marker, entry, why):
            released.append(_as_released(job, marker, entry))
    return released


async def _finish(job: ImportJob, marker: Marker, entry: RemoteEntry, why: str, sha256: str) -> None:
    log.warning("%s: already published by %s; completing its remote step", job.report.what(marker.original), why)
    outcome, error, retryable = await job.finish(marker, entry.size, entry.mtime_ns, sha256)
    if error is not None:
        job.report.fail(_as_released(job, marker, entry), error, time.monotonic(), retryable=retryable)
    else:
        job.report.skip(marker.original, f"already imported; {outcome}")


async def _release(job: ImportJob, marker: Marker, entry: RemoteEntry, why: str) -> bool:
    log.warning("%s: resuming a %s marker left by %s", job.report.what(marker.original), marker.kind.value, why)
    return await job.release(marker, _as_released(job, marker, entry), time.monotonic())


def _as_released(job: ImportJob, marker: Marker, entry: RemoteEntry) -> RemoteEntry:
    return RemoteEntry(
        name=marker.original,
        path=f"{job.folder.rstrip('/')}/{marker.original}",
        size=entry.size,
        mtime=entry.mtime,
        is_file=True,
        is_dir=False,
        mtime_ns=entry.mtime_ns,
    )


def _published_sha256(job: ImportJob, staged: Marker) -> str | None:
    """The full sha256 of the staged file's published copy, if one is at the destination."""
    destination = job.request.destination
    for final_name in dict.fromkeys((staged.original, plaintext_name(staged.original))):
        for candidate in destination.published_candidates(final_name):
            digest = destination.sha256_of(candidate)
            if digest is not None and digest.startswith(staged.tag):
                return digest
    return None
