"""Import a batch: select, claim, download (+decrypt), publish, then delete/archive/keep.

Exactly once, with the state kept where every worker sees it — on the partner's server:

1. **claim**: rename ``F`` to ``.F.actito-claim-<time>-<owner>-<token>``. The rename is atomic, so of
   two concurrent runs only one gets the file. ``owner`` names the task instance (not the try), so a
   retry resumes its own claims at once (:mod:`~.recovery`).
2. download and decrypt into a hidden local partial file; gpg must report an integrity-checked
   success, and the file must still have the size and modification time it was listed with.
3. **stage**: rename the claim to ``.F.actito-staged-<time>-<owner>-<sha256>``: the content is
   verified and its hash is on record.
4. **publish**: atomic local link/rename to the final name, never over an existing file unless
   ``on_conflict`` says so, then the folder is fsynced.
5. **finish**: delete the staged file, move it to the archive, or (``keep``) record ``F`` in the
   Variable ledger and rename it back to ``F``.

Every file ends in exactly one of: imported, refused (bad input: not retried), failed (transport:
retried), or skipped (with the reason). One file's error never stops or hides the others.
With ``claim="none"`` (read-only folders) steps 1, 3 and 5's rename are left out and the ledger alone
makes imports happen once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import asyncssh

from airflow_provider_actito_sftp.exceptions import (
    GpgStreamError,
    ImportRefusedError,
    OutputLimitError,
    PublishConflictError,
    RemoteChangedError,
)
from airflow_provider_actito_sftp.pgp.sniff import DecryptionKeys, decide_decryption
from airflow_provider_actito_sftp.ssh.session import AsyncSftpSession, RemoteEntry, mtime_ns_of
from airflow_provider_actito_sftp.transfer.destinations import Destination
from airflow_provider_actito_sftp.transfer.download import Downloaded, Expected, OutputLimits, RemoteSource, download
from airflow_provider_actito_sftp.transfer.import_report import ImportReport, ImportResult, remote_step_refused
from airflow_provider_actito_sftp.transfer.ledger import Ledger, LedgerEntry, Seen
from airflow_provider_actito_sftp.transfer.names import Marker, check_remote_name, new_claim, plaintext_name
from airflow_provider_actito_sftp.transfer.options import AfterImport, Claim, OnConflict, SignaturePolicy
from airflow_provider_actito_sftp.transfer.remote_folder import RemoteFolder, describe, is_regular, is_transport_error
from airflow_provider_actito_sftp.transfer.selection import FileFilter
from airflow_provider_actito_sftp.transfer.streams import open_for_reading

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportRequest:
    """What to import and what to do afterwards (built by the hook from validated ``ImportOptions``).

    :param owner: who imports (:func:`~.names.owner_id` of dag, task, run, map index): claims and
        partial files carry it so that a retry resumes them at once.
    """

    location: str
    file_filter: FileFilter
    destination: Destination
    after_import: AfterImport = AfterImport.KEEP
    archive_location: str | None = None
    quarantine_location: str | None = None
    signature_policy: SignaturePolicy = SignaturePolicy.IGNORE
    claim_timeout: float = 3600.0
    owner: str = ""
    claim: Claim = Claim.RENAME
    limits: OutputLimits = field(default_factory=OutputLimits)


REFUSALS = (ImportRefusedError, GpgStreamError, OutputLimitError, PublishConflictError)


class _Skip(Exception):
    """Leave the file for a later run (not an error)."""


class ImportJob:
    """One import run over one open session.

    :param ledger: used only with ``after_import="keep"``.
    """

    def __init__(self, session: AsyncSftpSession, request: ImportRequest, ledger: Ledger) -> None:
        self.session = session
        self.request = request
        self.ledger = ledger
        self.settings = session.settings
        self.remote = RemoteFolder(session, request.location)
        self.folder = self.remote.path
        self.report = ImportReport(self.settings.conn_id, request.location)
        self._keep = request.after_import is AfterImport.KEEP
        self._slots = asyncio.Semaphore(self.settings.advanced.transfer_concurrency)
        self._local_names: dict[str, str] = {}  # final local name -> remote name, for this run
        self._decryption = DecryptionKeys(self.settings.keys, request.signature_policy)

    async def run(self) -> ImportResult:
        from airflow_provider_actito_sftp.transfer.recovery import recover

        self.request.destination.sweep_partials(self.request.claim_timeout)
        entries = await self.session.list_location(self.request.location)
        if self.request.claim is Claim.RENAME:
            entries += await recover(self, entries)
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
        return self.report.result

    async def _guarded(self, entry: RemoteEntry) -> None:
        async with self._slots:
            started = time.monotonic()
            try:
                await self._import(entry, started)
            except Exception as e:  # a bug must not stop the other files or hide this one
                log.exception("%s: unexpected error", self.report.what(entry.name))
                self.report.fail(entry, f"unexpected error: {describe(e)}", started)

    # --- one file ---------------------------------------------------------------------------------

    async def _import(self, entry: RemoteEntry, started: float) -> None:
        try:
            check_remote_name(entry.name)
        except ValueError as e:
            # Never touched: a hostile name is not renamed, moved or turned into a local path.
            self.report.refuse(entry, f"unsafe remote name: {e}", started)
            return
        seen = self._ledger_says(entry)
        if seen is Seen.SAME:
            self.report.skip(entry.name, "already imported (ledger)")
            return
        if self.request.claim is Claim.NONE:
            await self._import_in_place(entry, seen, started)
            return
        claim = new_claim(entry.name, self.request.owner)
        if not claim.fits():
            self.report.refuse(
                entry, "the name is too long to claim (rename it on the server, or use claim='none')", started
            )
            return
        try:
            await self.remote.rename(entry.name, claim.name)
        except asyncssh.SFTPNoSuchFile:
            self.report.skip(entry.name, "claimed by another run")
            return
        except (asyncssh.Error, OSError) as e:
            self._claim_failed(entry, e, started)
            return
        if self._keep and self._ledger_says(entry) is Seen.SAME:  # a concurrent run committed it meanwhile
            if await self.release(claim, entry, started, "already imported (ledger)"):
                self.report.skip(entry.name, "already imported (ledger)")
            return
        await self._import_claimed(entry, claim, seen, started)

    def _claim_failed(self, entry: RemoteEntry, error: BaseException, started: float) -> None:
        if is_transport_error(error):
            self.report.fail(entry, f"could not claim it: {describe(error)}", started)
            return
        hint = ""
        if isinstance(error, asyncssh.SFTPPermissionDenied):
            hint = " (a read-only folder? import it with claim='none' and after_import='keep')"
        self.report.refuse(entry, f"could not rename it to claim it: {describe(error)}{hint}", started)

    def _transfer_failed(self, entry: RemoteEntry, error: BaseException, started: float) -> None:
        if isinstance(error, asyncssh.SFTPError) and not is_transport_error(error):
            self.report.refuse(entry, f"could not read it: {describe(error)}", started)  # a retry would too
        else:
            self.report.fail(entry, f"transfer failed: {describe(error)}", started)

    def _ledger_says(self, entry: RemoteEntry) -> Seen:
        if not self._keep:
            return Seen.CHANGED
        recorded = self.ledger.get(entry.name)
        return Seen.CHANGED if recorded is None else recorded.compare(entry.size, entry.mtime_ns)

    async def _import_claimed(self, entry: RemoteEntry, claim: Marker, seen: Seen, started: float) -> None:
        try:
            downloaded = await self._download(entry, claim.name, seen)
        except _Skip as e:
            if await self.release(claim, entry, started, str(e)):
                self.report.skip(entry.name, str(e))
            return
        except REFUSALS as e:
            if await self._quarantine_or_release(claim, entry, started, str(e)):
                self.report.refuse(entry, str(e), started)
            return
        except (asyncssh.Error, OSError) as e:
            if await self.release(claim, entry, started, f"transfer failed: {describe(e)}"):
                self._transfer_failed(entry, e, started)
            return
        if seen is Seen.UNSURE and self._unchanged(entry, downloaded):
            await self.release(claim, entry, started, "already imported (same content)")
            return
        staged = claim.staged(downloaded.sha256)
        try:
            await self.remote.rename(claim.name, staged.name)
        except (asyncssh.Error, OSError) as e:
            self.request.destination.discard(downloaded.staged)
            reason = f"could not stage it on the server: {describe(e)}"
            if await self.release(claim, entry, started, reason):
                self.report.fail(entry, reason, started)
            return
        local = await self._publish(entry, downloaded, staged, started)
        if local is None:
            return
        outcome, error, retryable = await self.finish(staged, entry.size, entry.mtime_ns, downloaded.sha256)
        self.report.imported(entry, downloaded, local, outcome, error, started, retryable=retryable)

    async def _import_in_place(self, entry: RemoteEntry, seen: Seen, started: float) -> None:
        """``claim="none"``: read the file where it is; the ledger alone records the import."""
        try:
            downloaded = await self._download(entry, entry.name, seen)
        except _Skip as e:
            self.report.skip(entry.name, str(e))
            return
        except REFUSALS as e:
            self.report.refuse(entry, str(e), started)
            return
        except (asyncssh.Error, OSError) as e:
            self._transfer_failed(entry, e, started)
            return
        if seen is Seen.UNSURE and self._unchanged(entry, downloaded):
            return
        local = await self._publish(entry, downloaded, None, started)
        if local is not None:
            self._put_ledger(entry.name, entry.size, entry.mtime_ns, downloaded.sha256)
            self.report.imported(entry, downloaded, local, "kept in place (claim='none')", None, started)

    async def _download(self, entry: RemoteEntry, current: str, seen: Seen) -> Downloaded:
        """Check the entry is still the regular file listed, then stream it into a staged local file."""
        attrs = await self.remote.lstat(current)
        if not is_regular(attrs):
            raise ImportRefusedError("not a regular file on the server (a symlink?): never followed")
        expected = Expected(entry.size, entry.mtime_ns)
        if Expected(attrs.size or 0, mtime_ns_of(attrs)) != expected:
            raise _Skip("changed since it was listed (still being written?); left for a later run")
        downloaded: Downloaded | None = None
        try:
            async with open_for_reading(self.session.sftp, self.remote.file(current)) as handle:
                downloaded = await self._read(entry, handle, expected, seen)
        except BaseException:
            if downloaded is not None:  # complete, but closing the remote file failed (a cut): not kept
                self.request.destination.discard(downloaded.staged)
            raise
        return downloaded

    async def _read(
        self, entry: RemoteEntry, handle: asyncssh.SFTPClientFile, expected: Expected, seen: Seen
    ) -> Downloaded:
        """Decide (PGP? which local name?) from the first block, then stream the rest into a partial file."""
        source = RemoteSource(handle, expected)
        decrypt = decide_decryption(
            await source.head(),
            entry.size,
            pgp_required=self.settings.inbound.pgp_required,
            options=self._decryption,
        )
        final_name = plaintext_name(entry.name) if decrypt else entry.name
        # An UNSURE file may be the one already published: its content decides, after the download.
        self._reserve(final_name, entry.name, check_existing=seen is not Seen.UNSURE)
        try:
            return await download(
                source,
                self.request.destination,
                final_name,
                decrypt=decrypt,
                limits=self.request.limits,
                label=f"download {self.request.location}/{entry.name}",
            )
        except RemoteChangedError as e:
            raise _Skip(str(e)) from e
        finally:
            self._local_names.pop(final_name, None)

    def _reserve(self, final_name: str, remote_name: str, *, check_existing: bool) -> None:
        """Refuse a second file of this run that would publish to the same local name."""
        destination = self.request.destination
        other = self._local_names.get(final_name)
        if other is not None and destination.on_conflict is not OnConflict.RENAME:
            raise ImportRefusedError(f"{other!r}, imported by this run too, is published as {final_name!r}")
        if check_existing and destination.on_conflict is OnConflict.FAIL and destination.exists(final_name):
            raise PublishConflictError(
                f"{final_name!r} already exists in {destination.uri}; it is not replaced (on_conflict='fail')"
            )
        self._local_names[final_name] = remote_name

    def _unchanged(self, entry: RemoteEntry, downloaded: Downloaded) -> bool:
        """For :attr:`Seen.UNSURE`: the content is what the ledger recorded, so nothing is published."""
        recorded = self.ledger.get(entry.name)
        if recorded is None or recorded.sha256 != downloaded.sha256:
            return False
        self.request.destination.discard(downloaded.staged)
        self._put_ledger(entry.name, entry.size, entry.mtime_ns, downloaded.sha256)
        self.report.skip(entry.name, "already imported (same content)")
        return True

    async def _publish(
        self, entry: RemoteEntry, downloaded: Downloaded, staged: Marker | None, started: float
    ) -> str | None:
        try:  # link + folder fsync in a worker thread: the event loop moves other files meanwhile
            return await asyncio.to_thread(self.request.destination.publish, downloaded.staged)
        except (PublishConflictError, OSError) as e:
            self.request.destination.discard(downloaded.staged)
            if staged is not None and not await self.release(staged, entry, started, str(e)):
                return None
            if isinstance(e, PublishConflictError):
                self.report.refuse(entry, str(e), started)
            else:
                self.report.fail(entry, f"could not publish it locally: {e}", started)
            return None

    # --- remote steps after publish -----------------------------------------------------------------

    async def finish(self, staged: Marker, size: int, mtime_ns: int, sha256: str) -> tuple[str, str | None, bool]:
        """Delete, archive, or record and rename back; return what happened, the error or None, and whether a
        retry may succeed (not when the server refuses the step itself). Never raises."""
        after = self.request.after_import
        try:
            if after is AfterImport.DELETE:
                await self.remote.remove(staged.name)
                return "deleted from the server", None, True
            if after is AfterImport.MOVE:
                assert self.request.archive_location is not None
                archive = self.session.location_path(self.request.archive_location)
                moved = await self.remote.move_without_clobbering(staged.name, archive, staged.original)
                return f"archived as {archive.rstrip('/')}/{moved}", None, True
            self._put_ledger(staged.original, size, mtime_ns, sha256)
            await self.remote.rename(staged.name, staged.original)
            return "kept on the server (recorded in the ledger)", None, True
        except (asyncssh.Error, OSError) as e:
            if isinstance(e, asyncssh.SFTPNoSuchFile) and not await self._still_there(staged.name):
                return "finished by another run's recovery", None, True
            if isinstance(e, asyncssh.SFTPPermissionDenied | asyncssh.SFTPOpUnsupported):  # the server's rule
                return "not finished", remote_step_refused(after, staged.name, describe(e)), False
            error = f"imported, but the remote step failed ({describe(e)}); it stays as {staged.name!r} until retried"
            return "not finished", error, True

    async def _still_there(self, name: str) -> bool:
        try:
            return await self.remote.exists(name)
        except (asyncssh.Error, OSError):
            return True

    def _put_ledger(self, name: str, size: int, mtime_ns: int, sha256: str) -> None:
        entry = LedgerEntry(
            name,
            size,
            mtime_ns / 1e9,
            sha256,
            self.request.destination.uri,
            mtime_ns=mtime_ns,
            imported_at=time.time(),
        )
        self.ledger.put(entry)

    async def release(self, marker: Marker, entry: RemoteEntry, started: float, why: str = "") -> bool:
        """Rename a marker back to the file's name. If that fails the file would stay hidden: that is its
        one outcome (a retryable failure, saying ``why`` it was being released); return False then."""
        try:
            await self.remote.rename(marker.name, marker.original)
        except (asyncssh.Error, OSError) as e:
            self.report.fail(
                entry,
                f"{why + '; ' if why else ''}left hidden as {marker.name!r}: could not rename it back "
                f"({describe(e)}); a retry of this task resumes it at once, another run after "
                f"{self.request.claim_timeout:.0f} s",
                started,
            )
            return False
        return True

    async def _quarantine_or_release(self, claim: Marker, entry: RemoteEntry, started: float, why: str) -> bool:
        if self.request.quarantine_location is None:
            return await self.release(claim, entry, started, why)
        quarantine = self.session.location_path(self.request.quarantine_location)
        try:
            moved = await self.remote.move_without_clobbering(claim.name, quarantine, claim.original)
            log.warning("%s: moved to quarantine %s/%s", self.report.what(claim.original), quarantine, moved)
            return True
        except (asyncssh.Error, OSError) as e:
            log.error("%s: could not move to quarantine (%s); leaving it in place", self.report.what(claim.original), e)
            return await self.release(claim, entry, started, why)
