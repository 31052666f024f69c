"""Import a batch: select, claim, download (+decrypt), publish, record, then delete/archive/keep.

Exactly once: a file is claimed by an atomic remote rename (only one concurrent run wins), published
locally by an atomic rename, recorded as committed in the ledger, and only then deleted, archived or
released on the server. A run that finds a claim left by a crashed run finishes it from the ledger
(committed: just complete the remote step) or, once the claim is older than ``claim_timeout``,
releases it and imports the file again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import cast

import asyncssh

from airflow_provider_actito_sftp.exceptions import ActitoSftpError
from airflow_provider_actito_sftp.session import AsyncSftpSession, RemoteEntry, remote_bytes
from airflow_provider_actito_sftp.transfer.destinations import Destination
from airflow_provider_actito_sftp.transfer.download import DecryptOptions, Downloaded, download
from airflow_provider_actito_sftp.transfer.gpg_stream import GpgStreamError, SignaturePolicy
from airflow_provider_actito_sftp.transfer.ledger import COMMITTED, PUBLISHING, Ledger, LedgerEntry
from airflow_provider_actito_sftp.transfer.names import (
    Claim,
    UnsafeNameError,
    check_remote_name,
    new_claim,
    parse_claim,
    plaintext_name,
)
from airflow_provider_actito_sftp.transfer.records import Direction, Status, TransferRecord
from airflow_provider_actito_sftp.transfer.selection import FileFilter

log = logging.getLogger(__name__)

PGP_BINARY_TAGS = {0x84, 0x85, 0x86, 0xC1, 0x8C, 0x8D, 0xC3}  # PKESK / SKESK packet headers
PGP_ARMOR = b"-----BEGIN PGP MESSAGE-----"


class AfterImport(StrEnum):
    KEEP = "keep"
    DELETE = "delete"
    MOVE = "move"


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
    """One import run over one open session."""

    def __init__(self, session: AsyncSftpSession, request: ImportRequest, ledger: Ledger) -> None:
        self.session = session
        self.request = request
        self.ledger = ledger
        self.settings = session.settings
        self.folder = session.location_path(request.location)
        self.result = ImportResult()
        self._slots = asyncio.Semaphore(self.settings.advanced.transfer_concurrency)

    async def run(self) -> ImportResult:
        entries = await self.session.list_location(self.request.location)
        await self._recover_claims(entries)
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
        if self._already_imported(entry):
            self.result.skipped.append((entry.name, "already imported (ledger)"))
            return
        claim = new_claim(entry.name)
        try:
            await self.session.sftp.rename(self._path(entry.name), self._path(claim.claim_name))
        except asyncssh.SFTPNoSuchFile:
            self.result.skipped.append((entry.name, "claimed by another run"))
            return
        if self._already_imported(entry):  # a concurrent run committed it between our listing and claim
            await self._release(claim)
            self.result.skipped.append((entry.name, "already imported (ledger)"))
            return
        await self._import_claimed(entry, claim, started)

    def _already_imported(self, entry: RemoteEntry) -> bool:
        recorded = self.ledger.get(entry.name)
        return bool(
            recorded and recorded.state == COMMITTED and recorded.same_file(entry.size, entry.mtime.timestamp())
        )

    async def _import_claimed(self, entry: RemoteEntry, claim: Claim, started: float) -> None:
        claimed_path = self._path(claim.claim_name)
        try:
            decrypt = await self._decrypt_options(entry, claimed_path)
            final_name = plaintext_name(entry.name) if decrypt else entry.name
            downloaded = await download(
                self.session,
                claimed_path,
                entry.size,
                self.request.destination,
                final_name,
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
        local = self._commit(entry, downloaded)
        await self._finish_remote(claim)
        self.result.imported.append(self._record(entry, Status.SUCCESS, started, downloaded=downloaded, local=local))

    async def _decrypt_options(self, entry: RemoteEntry, claimed_path: bytes) -> DecryptOptions | None:
        keys = self.settings.keys.inbound_pgp_private_keys
        looks_encrypted = await self._looks_like_pgp(claimed_path)
        if self.settings.inbound.pgp_required:
            if not looks_encrypted:
                raise ImportRefusedError("not PGP-encrypted, but the inbound policy requires PGP")
            if not keys:
                raise ImportRefusedError("inbound PGP is required but no inbound key pair is configured")
        elif not (looks_encrypted and keys):
            return None
        assert keys is not None
        partner_key = self.settings.keys.partner_pgp_public_key
        return DecryptOptions(
            secret_keys=keys,
            signature_policy=self.request.signature_policy,
            partner_public_key=partner_key,
            partner_fingerprint=_primary_fingerprint(partner_key),
        )

    async def _looks_like_pgp(self, path: bytes) -> bool:
        async with self.session.sftp.open(path, "rb") as remote:
            head = cast("bytes", await remote.read(64))
        return bool(head) and (head[0] in PGP_BINARY_TAGS or head.lstrip().startswith(PGP_ARMOR))

    def _commit(self, entry: RemoteEntry, downloaded: Downloaded) -> str:
        """Publish the local file; the ledger says 'publishing' before and 'committed' after."""
        destination = self.request.destination
        publishing = LedgerEntry(
            name=entry.name,
            size=entry.size,
            mtime=entry.mtime.timestamp(),
            sha256=downloaded.sha256,
            destination=destination.final_uri(downloaded.staged.final_name),
            state=PUBLISHING,
        )
        self.ledger.put(publishing)
        local = destination.publish(downloaded.staged)
        self.ledger.put(replace(publishing, state=COMMITTED))
        return local

    async def _finish_remote(self, claim: Claim) -> None:
        """After the local commit: delete, archive, or give the file its name back (keep)."""
        claimed_path = self._path(claim.claim_name)
        after = self.request.after_import
        if after is AfterImport.DELETE:
            await self.session.sftp.remove(claimed_path)
            self.ledger.remove(claim.original)
        elif after is AfterImport.MOVE:
            assert self.request.archive_location is not None
            archive = self.session.location_path(self.request.archive_location)
            await self._move_without_clobbering(claimed_path, archive, claim.original)
            self.ledger.remove(claim.original)
        else:
            await self._release(claim)

    async def _move_without_clobbering(self, source: bytes, folder: str, name: str) -> str:
        target = name
        if await self.session.sftp.exists(self._path(target, folder)):
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            target = f"{name}.{stamp}"
        await self.session.sftp.rename(source, self._path(target, folder))
        return target

    async def _release(self, claim: Claim) -> None:
        await self.session.sftp.rename(self._path(claim.claim_name), self._path(claim.original))

    async def _release_quietly(self, claim: Claim) -> None:
        try:
            await self._release(claim)
        except (asyncssh.Error, OSError) as e:
            log.error(
                "%s: could not release the claim %r (%s); the next run releases it after %.0f s",
                self._what(claim.original),
                claim.claim_name,
                e,
                self.request.claim_timeout,
            )

    async def _quarantine_or_release(self, claim: Claim) -> None:
        if self.request.quarantine_location is None:
            await self._release_quietly(claim)
            return
        quarantine = self.session.location_path(self.request.quarantine_location)
        try:
            moved = await self._move_without_clobbering(self._path(claim.claim_name), quarantine, claim.original)
            log.warning("%s: moved to quarantine %s/%s", self._what(claim.original), quarantine, moved)
        except (asyncssh.Error, OSError) as e:
            log.error("%s: could not move to quarantine (%s); leaving it in place", self._what(claim.original), e)
            await self._release_quietly(claim)

    # --- claims left by earlier runs ----------------------------------------------------------------

    async def _recover_claims(self, entries: list[RemoteEntry]) -> None:
        for entry in entries:
            claim = parse_claim(entry.name)
            if claim is None or not self.request.file_filter.matches(claim.original):
                continue
            recorded = self.ledger.get(claim.original)
            if _committed(recorded, entry):
                log.warning("%s: finishing an import a previous run committed", self._what(claim.original))
                await self._finish_remote(claim)
                self.result.skipped.append((claim.original, "already imported; finished its remote step"))
            elif claim.age() > self.request.claim_timeout:
                log.warning("%s: releasing a claim abandoned %.0f s ago", self._what(claim.original), claim.age())
                await self._release_quietly(claim)
                entries.append(
                    RemoteEntry(claim.original, f"{self.folder}/{claim.original}", entry.size, entry.mtime, True, False)
                )
            else:
                self.result.skipped.append((claim.original, "being imported by another run"))

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
        return TransferRecord(
            conn_id=self.settings.conn_id,
            location=self.request.location,
            remote_path=entry.path,
            local_path=local,
            direction=Direction.DOWNLOAD,
            status=status,
            wire_bytes=downloaded.wire_bytes if downloaded else 0,
            plaintext_bytes=downloaded.plaintext_bytes if downloaded else 0,
            sha256=downloaded.sha256 if downloaded else None,
            pgp_fingerprint=downloaded.pgp_fingerprint if downloaded else None,
            duration_seconds=round(time.monotonic() - started, 3),
            started_at=datetime.now(UTC).isoformat(),
            error=error,
        )


def _committed(recorded: LedgerEntry | None, entry: RemoteEntry) -> bool:
    return bool(recorded and recorded.state == COMMITTED and recorded.same_file(entry.size, entry.mtime.timestamp()))


def _primary_fingerprint(armored: str | None) -> str | None:
    if not armored:
        return None
    from airflow_provider_actito_sftp.keys.pgp_keys import validate_partner_key

    try:
        return validate_partner_key(armored).fingerprint
    except ActitoSftpError:
        return None
