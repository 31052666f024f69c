"""Import a batch: select, claim, download (+decrypt), publish, then delete/archive/keep.

Exactly once, with the state kept where every worker sees it — on the partner's server:

1. **claim**: rename ``F`` to ``.F.actito-claim-<time>-<token>``. The rename is atomic, so of two
   concurrent runs only one gets the file.
2. download and decrypt into a hidden local partial file; gpg must report an integrity-checked success.
3. **stage**: rename the claim to ``.F.actito-staged-<time>-<sha256>``: the content is verified and
   its hash is on record.
4. **publish**: atomic local rename to the final name.
5. **finish**: delete the staged file, move it to the archive, or (``keep``) record ``F`` in the
   Variable ledger and rename it back to ``F``.

A run that finds markers left by a crashed run: a staged file whose content is already published
(same sha256 at the destination) only gets step 5; other markers older than ``claim_timeout`` are
released (renamed back) and imported again; younger ones belong to a run still working and are left.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

import asyncssh

from airflow_provider_actito_sftp.exceptions import ActitoSftpError
from airflow_provider_actito_sftp.session import AsyncSftpSession, RemoteEntry, remote_bytes
from airflow_provider_actito_sftp.transfer.destinations import Destination
from airflow_provider_actito_sftp.transfer.download import DecryptOptions, Downloaded, download
from airflow_provider_actito_sftp.transfer.gpg_stream import GpgStreamError
from airflow_provider_actito_sftp.transfer.ledger import Ledger, LedgerEntry
from airflow_provider_actito_sftp.transfer.names import (
    Marker,
    MarkerKind,
    UnsafeNameError,
    check_remote_name,
    new_claim,
    parse_marker,
    plaintext_name,
)
from airflow_provider_actito_sftp.transfer.options import AfterImport, SignaturePolicy
from airflow_provider_actito_sftp.transfer.records import Direction, Status, TransferRecord
from airflow_provider_actito_sftp.transfer.selection import FileFilter

log = logging.getLogger(__name__)

PGP_BINARY_TAGS = {0x84, 0x85, 0x86, 0xC1, 0x8C, 0x8D, 0xC3}  # PKESK / SKESK packet headers
PGP_ARMOR = b"-----BEGIN PGP MESSAGE-----"


@dataclass(frozen=True)
class ImportRequest:
    """What to import and what to do afterwards (validated by the operator)."""

    location: str
    file_filter: FileFilter
    destination: Destination
    after_import: AfterImport = AfterImport.KEEP
    archive_location: str | None = None
    quarantine_location: str | None = None
    signature_policy: SignaturePolicy = SignaturePolicy.IGNORE
    claim_timeout: float = 3600.0


@dataclass
class ImportResult:
    imported: list[TransferRecord] = field(default_factory=list)
    refused: list[TransferRecord] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def records(self) -> list[TransferRecord]:
        return self.imported + self.refused


class ImportRefusedError(ActitoSftpError):
    """A file was refused; the message says why. The file is left in place or quarantined."""


class ImportJob:
    """One import run over one open session.

    :param ledger: used only with ``after_import="keep"``.
    """

    def __init__(self, session: AsyncSftpSession, request: ImportRequest, ledger: Ledger) -> None:
        self.session = session
        self.request = request
        self.ledger = ledger
        self.settings = session.settings
        self.folder = session.location_path(request.location)
        self.result = ImportResult()
        self._keep = request.after_import is AfterImport.KEEP
        self._slots = asyncio.Semaphore(self.settings.advanced.transfer_concurrency)

    async def run(self) -> ImportResult:
        entries = await self.session.list_location(self.request.location)
        entries += await self._recover(entries)
        ready = self.request.file_filter.ready(entries)
        log.info(
            "Connection %r, location %r (%s): %d of %d entries ready to import",
            self.settings.conn_id,
            self.request.location,
            self.folder,
            len(ready),
            len(entries),
        )
        await asyncio.gather(*(self._guarded(entry) for entry in ready))
        return self.result

    def _what(self, name: str) -> str:
        return f"Connection {self.settings.conn_id!r}, location {self.request.location!r}, file {name!r}"

    def _path(self, name: str, folder: str | None = None) -> bytes:
        return remote_bytes(f"{(folder or self.folder).rstrip('/')}/{name}")

    async def _rename(self, old: str, new: str, new_folder: str | None = None) -> None:
        await self.session.sftp.rename(self._path(old), self._path(new, new_folder))

    async def _guarded(self, entry: RemoteEntry) -> None:
        async with self._slots:
            await self._import(entry)

    # --- one file ---------------------------------------------------------------------------------

    async def _import(self, entry: RemoteEntry) -> None:
        started = time.monotonic()
        try:
            check_remote_name(entry.name)
        except UnsafeNameError as e:
            # Never touched: a hostile name is not renamed, moved or turned into a local path.
            self._refuse(entry, f"unsafe remote name: {e}", started)
            return
        if self._keep and self._in_ledger(entry):
            self.result.skipped.append((entry.name, "already imported (ledger)"))
            return
        claim = new_claim(entry.name)
        try:
            await self._rename(entry.name, claim.name)
        except asyncssh.SFTPNoSuchFile:
            self.result.skipped.append((entry.name, "claimed by another run"))
            return
        if self._keep and self._in_ledger(entry):  # committed by a concurrent run since our listing
            await self._release(claim)
            self.result.skipped.append((entry.name, "already imported (ledger)"))
            return
        await self._import_claimed(entry, claim, started)

    def _in_ledger(self, entry: RemoteEntry) -> bool:
        recorded = self.ledger.get(entry.name)
        return recorded is not None and recorded.same_file(entry.size, entry.mtime.timestamp())

    async def _import_claimed(self, entry: RemoteEntry, claim: Marker, started: float) -> None:
        try:
            decrypt = await self._decrypt_options(claim)
            downloaded = await download(
                self.session,
                self._path(claim.name),
                entry.size,
                self.request.destination,
                plaintext_name(entry.name) if decrypt else entry.name,
                decrypt=decrypt,
                label=f"download {self.request.location}/{entry.name}",
            )
        except (ImportRefusedError, GpgStreamError) as e:
            await self._quarantine_or_release(claim)
            self._refuse(entry, str(e), started)
            return
        except (asyncssh.Error, OSError, ActitoSftpError) as e:
            await self._release_quietly(claim)
            self._refuse(entry, f"transfer failed: {e}", started)
            return
        staged = claim.staged(downloaded.sha256)
        try:
            await self._rename(claim.name, staged.name)
        except (asyncssh.Error, OSError) as e:
            self.request.destination.discard(downloaded.staged)
            await self._release_quietly(claim)
            self._refuse(entry, f"transfer failed: {e}", started)
            return
        local = self.request.destination.publish(downloaded.staged)
        await self._finish(staged, entry.size, entry.mtime.timestamp(), downloaded.sha256)
        self.result.imported.append(self._record(entry, Status.SUCCESS, started, downloaded=downloaded, local=local))

    async def _decrypt_options(self, claim: Marker) -> DecryptOptions | None:
        keys = self.settings.keys.inbound_pgp_private_keys
        looks_encrypted = await self._looks_like_pgp(self._path(claim.name))
        if self.settings.inbound.pgp_required:
            if not looks_encrypted:
                raise ImportRefusedError("not PGP-encrypted, but the inbound policy requires PGP")
            if not keys:
                raise ImportRefusedError("inbound PGP is required but no inbound key pair is configured")
        elif not (looks_encrypted and keys):
            return None
        assert keys is not None
        return DecryptOptions(
            secret_keys=keys,
            signature_policy=self.request.signature_policy,
            partner_public_key=self.settings.keys.partner_pgp_public_key,
            partner_fingerprint=self._partner_fingerprint,
        )

    @functools.cached_property
    def _partner_fingerprint(self) -> str | None:
        """The partner key's primary fingerprint, looked up once per run (it needs a gpg home)."""
        return _primary_fingerprint(self.settings.keys.partner_pgp_public_key)

    async def _looks_like_pgp(self, path: bytes) -> bool:
        async with self.session.sftp.open(path, "rb") as remote:
            head = cast("bytes", await remote.read(64))
        return bool(head) and (head[0] in PGP_BINARY_TAGS or head.lstrip().startswith(PGP_ARMOR))

    async def _finish(self, staged: Marker, size: int, mtime: float, sha256: str) -> None:
        """After the local publish: delete, archive, or record and give the file its name back (keep)."""
        after = self.request.after_import
        if after is AfterImport.DELETE:
            await self.session.sftp.remove(self._path(staged.name))
        elif after is AfterImport.MOVE:
            assert self.request.archive_location is not None
            archive = self.session.location_path(self.request.archive_location)
            await self._move_without_clobbering(staged.name, archive, staged.original)
        else:
            destination = self.request.destination.uri
            self.ledger.put(LedgerEntry(staged.original, size, mtime, sha256, destination))
            await self._rename(staged.name, staged.original)

    async def _move_without_clobbering(self, current: str, folder: str, name: str) -> str:
        target = name
        if await self.session.sftp.exists(self._path(target, folder)):
            target = f"{name}.{datetime.now(UTC):%Y%m%dT%H%M%S}"
        await self._rename(current, target, folder)
        return target

    async def _release(self, marker: Marker) -> None:
        await self._rename(marker.name, marker.original)

    async def _release_quietly(self, marker: Marker) -> None:
        try:
            await self._release(marker)
        except (asyncssh.Error, OSError) as e:
            log.error(
                "%s: could not rename %r back (%s); the next run releases it after %.0f s",
                self._what(marker.original),
                marker.name,
                e,
                self.request.claim_timeout,
            )

    async def _quarantine_or_release(self, claim: Marker) -> None:
        if self.request.quarantine_location is None:
            await self._release_quietly(claim)
            return
        quarantine = self.session.location_path(self.request.quarantine_location)
        try:
            moved = await self._move_without_clobbering(claim.name, quarantine, claim.original)
            log.warning("%s: moved to quarantine %s/%s", self._what(claim.original), quarantine, moved)
        except (asyncssh.Error, OSError) as e:
            log.error("%s: could not move to quarantine (%s); leaving it in place", self._what(claim.original), e)
            await self._release_quietly(claim)

    # --- markers left by earlier runs ---------------------------------------------------------------

    async def _recover(self, entries: list[RemoteEntry]) -> list[RemoteEntry]:
        """Finish or release markers of interrupted runs; return the files released for import."""
        released: list[RemoteEntry] = []
        for entry in entries:
            marker = parse_marker(entry.name)
            if marker is None or not self.request.file_filter.matches(marker.original):
                continue
            if marker.kind is MarkerKind.STAGED and self._already_published(marker):
                log.warning("%s: already published by an interrupted run; finishing it", self._what(marker.original))
                with contextlib.suppress(asyncssh.SFTPNoSuchFile):  # another run may have finished it first
                    await self._finish(marker, entry.size, entry.mtime.timestamp(), marker.tag)
                self.result.skipped.append((marker.original, "already imported; completed its remote step"))
            elif marker.age() > self.request.claim_timeout:
                log.warning(
                    "%s: releasing a %s marker left %.0f s ago",
                    self._what(marker.original),
                    marker.kind.value,
                    marker.age(),
                )
                await self._release_quietly(marker)
                released.append(
                    RemoteEntry(
                        marker.original, f"{self.folder}/{marker.original}", entry.size, entry.mtime, True, False
                    )
                )
            else:
                self.result.skipped.append((marker.original, "being imported by another run"))
        return released

    def _already_published(self, staged: Marker) -> bool:
        for final_name in {staged.original, plaintext_name(staged.original)}:
            digest = self.request.destination.sha256_of(final_name)
            if digest is not None and digest.startswith(staged.tag):
                return True
        return False

    # --- records ------------------------------------------------------------------------------------

    def _refuse(self, entry: RemoteEntry, reason: str, started: float) -> None:
        log.error("%s: refused: %s", self._what(entry.name), reason)
        self.result.refused.append(self._record(entry, Status.FAILED, started, error=reason))

    def _record(
        self,
        entry: RemoteEntry,
        status: Status,
        started: float,
        *,
        downloaded: Downloaded | None = None,
        local: str = "",
        error: str | None = None,
    ) -> TransferRecord:
        return TransferRecord.finished(
            conn_id=self.settings.conn_id,
            location=self.request.location,
            remote_path=entry.path,
            local_path=local,
            direction=Direction.DOWNLOAD,
            status=status,
            started=started,
            moved=downloaded,
            error=error,
        )


def _primary_fingerprint(armored: str | None) -> str | None:
    if not armored:
        return None
    from airflow_provider_actito_sftp.keys.pgp_keys import validate_partner_key

    try:
        return validate_partner_key(armored).fingerprint
    except ActitoSftpError:
        return None
