"""Export a batch: check keys and targets first, then encrypt + upload each file under a lock, rename."""

from __future__ import annotations

import asyncio
import glob
import hashlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import asyncssh

from airflow_provider_actito_sftp.exceptions import (
    ActitoSftpError,
    ExportRefusedError,
    PgpKeyError,
    SourceUnavailableError,
    UnsafeNameError,
)
from airflow_provider_actito_sftp.pgp.keys import validate_partner_key
from airflow_provider_actito_sftp.ssh.protocol import is_transport_error
from airflow_provider_actito_sftp.ssh.session import AsyncSftpSession, remote_bytes
from airflow_provider_actito_sftp.transfer.import_report import BatchRecords
from airflow_provider_actito_sftp.transfer.ledger import Delivery, DeliveryLog
from airflow_provider_actito_sftp.transfer.names import check_remote_name
from airflow_provider_actito_sftp.transfer.options import Overwrite
from airflow_provider_actito_sftp.transfer.records import Direction, TransferRecord
from airflow_provider_actito_sftp.transfer.remote_folder import describe
from airflow_provider_actito_sftp.transfer.upload import EncryptOptions, Uploaded, upload

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceFile:
    """A file to export: a local path or an ObjectStoragePath (anything with ``open('rb')``)."""

    name: str
    location: Any

    def open(self) -> IO[bytes]:
        if isinstance(self.location, Path):
            return self.location.open("rb")
        handle: IO[bytes] = self.location.open("rb")
        return handle

    def size(self) -> int | None:
        try:
            return int(self.location.stat().st_size)
        except (AttributeError, OSError, TypeError):
            return None

    @property
    def uri(self) -> str:
        return str(self.location)


def resolve_sources(sources: str | os.PathLike[str] | Any | Sequence[Any]) -> list[SourceFile]:
    """Expand paths, globs and ObjectStoragePaths into files, sorted by name.

    :raises SourceUnavailableError: a source matches nothing or is not a file.
    """
    items = [sources] if isinstance(sources, str | os.PathLike) or not isinstance(sources, Sequence) else sources
    files: list[SourceFile] = []
    for item in items:
        if isinstance(item, str | os.PathLike) and not hasattr(item, "protocol"):
            text = os.fspath(item)
            matches = sorted(glob.glob(text)) if glob.has_magic(text) else [text]
            if not matches:
                raise SourceUnavailableError(f"source {text!r} matches no file")
            for match in matches:
                path = Path(match)
                if not path.is_file():
                    raise SourceUnavailableError(f"source {match!r} is not a file")
                files.append(SourceFile(path.name, path))
        else:
            if not item.is_file():
                raise SourceUnavailableError(f"source {item} is not a file")
            files.append(SourceFile(item.name, item))
    return files


@dataclass(frozen=True)
class ExportRequest:
    """What to upload.

    :param remote_name: a format string for the remote name, ``{name}`` being the source file name.
    :param overwrite: what to do with a target that already exists on the server.
    :param deliveries: files this task instance delivered in earlier tries: with ``overwrite="fail"`` a
        target that exists because of them (same source hash, same remote size) counts as done.
    """

    location: str
    sources: list[SourceFile]
    remote_name: str | None = None
    overwrite: Overwrite = Overwrite.FAIL
    deliveries: DeliveryLog | None = None


@dataclass
class ExportResult:
    """Every source's outcome: uploaded, refused (bad input: not retried) or failed (transport: retried)."""

    uploaded: list[TransferRecord] = field(default_factory=list)
    refused: list[TransferRecord] = field(default_factory=list)
    failed: list[TransferRecord] = field(default_factory=list)


class ExportJob:
    """One export run over one open session."""

    def __init__(self, session: AsyncSftpSession, request: ExportRequest) -> None:
        self.session = session
        self.request = request
        self.settings = session.settings
        self.folder = session.location_path(request.location)
        self.result = ExportResult()
        self._records = BatchRecords(self.settings.conn_id, request.location, Direction.UPLOAD)
        self._slots = asyncio.Semaphore(self.settings.advanced.transfer_concurrency)

    def _what(self) -> str:
        return f"Connection {self.settings.conn_id!r}, location {self.request.location!r}"

    def remote_name_for(self, source: SourceFile) -> str:
        outbound = self.settings.outbound
        name = self.request.remote_name.format(name=source.name) if self.request.remote_name else source.name
        if outbound.pgp and not self.request.remote_name:
            name += ".asc" if outbound.pgp_armor else ".pgp"
        return name

    async def run(self) -> ExportResult:
        encrypt = self._encrypt_options()
        plan = await self._plan()
        await asyncio.gather(*(self._guarded(source, name, encrypt) for source, name in plan))
        return self.result

    async def _delivered_before(self, source: SourceFile, name: str) -> Delivery | None:
        """The earlier try's delivery of ``name`` if the remote file is still exactly what it sent."""
        delivery = self.request.deliveries.get(name) if self.request.deliveries else None
        if delivery is None:
            return None
        remote_size = (await self.session.sftp.stat(self._path(name))).size
        if remote_size != delivery.wire_bytes or await asyncio.to_thread(_sha256_of, source) != delivery.sha256:
            return None
        return delivery

    def _encrypt_options(self) -> EncryptOptions | None:
        if not self.settings.outbound.pgp:
            return None
        partner_key = self.settings.keys.partner_pgp_public_key
        if not partner_key:
            raise ExportRefusedError(f"{self._what()}: outbound PGP is on but no partner public key is set")
        try:
            validate_partner_key(partner_key)
        except PgpKeyError as e:
            raise ExportRefusedError(f"{self._what()}: the partner's PGP key cannot be used: {e}") from e
        return EncryptOptions(partner_key, armor=self.settings.outbound.pgp_armor)

    async def _plan(self) -> list[tuple[SourceFile, str]]:
        """Check every target before uploading anything: safe names, no duplicates, no clobbering."""
        plan = []
        for source in self.request.sources:
            name = self.remote_name_for(source)
            try:
                check_remote_name(name)
            except UnsafeNameError as e:
                raise ExportRefusedError(f"{self._what()}, file {source.uri!r}: bad remote name: {e}") from e
            plan.append((source, name))
        names = [name for _, name in plan]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ExportRefusedError(f"{self._what()}: several sources map to {', '.join(duplicates)}")
        if self.request.overwrite is Overwrite.REPLACE:
            return plan
        to_send, existing = [], []
        for source, name in plan:
            if not await self.session.sftp.exists(self._path(name)):
                to_send.append((source, name))
            elif (delivery := await self._delivered_before(source, name)) is not None:
                log.info("%s, file %r: already delivered by an earlier try; not sent again", self._what(), name)
                record = self._records.succeeded(self._remote(name), source.uri, time.monotonic(), delivery)
                self.result.uploaded.append(record)
            else:
                existing.append(name)
        if existing:
            raise ExportRefusedError(
                f"{self._what()}: already on the server (overwrite='fail'): {', '.join(existing)}; nothing uploaded"
            )
        return to_send

    def _remote(self, name: str) -> str:
        return f"{self.folder.rstrip('/')}/{name}"

    def _path(self, name: str) -> bytes:
        return remote_bytes(self._remote(name))

    async def _guarded(self, source: SourceFile, name: str, encrypt: EncryptOptions | None) -> None:
        async with self._slots:
            await self._export(source, name, encrypt)

    async def _export(self, source: SourceFile, name: str, encrypt: EncryptOptions | None) -> None:
        started = time.monotonic()
        outbound = self.settings.outbound
        try:
            with source.open() as handle:
                uploaded = await upload(
                    self.session,
                    handle,
                    source.size(),
                    self._path(name),
                    lock_suffix=outbound.lock_suffix if outbound.lock else None,
                    replace=self.request.overwrite is Overwrite.REPLACE,
                    encrypt=encrypt,
                    label=f"upload {self.request.location}/{name}",
                    on_verified=lambda verified: self._note_delivery(name, verified),
                )
        except (asyncssh.Error, OSError, ActitoSftpError) as e:
            retryable = e.retryable if isinstance(e, ActitoSftpError) else is_transport_error(e)  # ours say so
            reason = f"{self._what()}, file {name!r}: upload failed: {describe(e) if retryable else e}"
            log.error("%s", reason)
            record = self._records.failed(self._remote(name), source.uri, started, reason, retryable=retryable)
            (self.result.failed if retryable else self.result.refused).append(record)
            return
        log.info(
            "%s: %s uploaded as %s (%d bytes)", self._what(), source.uri, self._path(name).decode(), uploaded.wire_bytes
        )
        self.result.uploaded.append(self._records.succeeded(self._remote(name), source.uri, started, uploaded))

    def _note_delivery(self, name: str, uploaded: Uploaded) -> None:
        """Noted before the final rename: if its reply is lost, the retry still knows the file is ours."""
        if self.request.deliveries is not None:
            self.request.deliveries.put(
                Delivery(name, uploaded.sha256, uploaded.plaintext_bytes, uploaded.wire_bytes, uploaded.pgp_fingerprint)
            )


def _sha256_of(source: SourceFile) -> str:
    digest = hashlib.sha256()
    with source.open() as handle:
        while block := handle.read(4 << 20):
            digest.update(block)
    return digest.hexdigest()
