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

Files are taken oldest first, at most ``max_files`` / ``max_bytes`` a run (:class:`~.selection.BatchLimit`).
Every file ends in exactly one of: imported, refused (bad input: not retried), failed (transport:
retried), or skipped (with the reason). One file's error never stops or hides the others.
A detached signature (``F.sig`` / ``F.asc``) goes with its data file: checked before the publish under the
``signature_policy``, given the data file's fate after step 5 (:mod:`~.signatures`).
With ``claim="none"`` (read-only folders) steps 1, 3 and 5's rename are left out and the ledger alone
makes imports happen once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable

import asyncssh
from asyncssh import SFTPAttrs

from airflow_provider_actito_sftp.exceptions import (
    FileRefusedError,
    GpgStreamError,
    ImportRefusedError,
    PublishConflictError,
    RemoteChangedError,
)
from airflow_provider_actito_sftp.pgp.sniff import DecryptionKeys, decide_decryption
from airflow_provider_actito_sftp.ssh.session import AsyncSftpSession, RemoteEntry, mtime_ns_of
from airflow_provider_actito_sftp.transfer.download import Downloaded, Expected, RemoteSource, download
from airflow_provider_actito_sftp.transfer.import_report import ImportResult
from airflow_provider_actito_sftp.transfer.import_state import LEFT_TO_THE_OTHER_TRY, ImportRequest, ImportState
from airflow_provider_actito_sftp.transfer.in_flight import FileSlots
from airflow_provider_actito_sftp.transfer.ledger import Ledger, Seen
from airflow_provider_actito_sftp.transfer.names import (
    REPORT_FOLDER,
    Marker,
    check_remote_name,
    new_claim,
    plaintext_name,
    too_long_to_import,
)
from airflow_provider_actito_sftp.transfer.options import AfterImport, Claim, OnConflict
from airflow_provider_actito_sftp.transfer.reconnect import source_for
from airflow_provider_actito_sftp.transfer.recovery import finish_if_published_meanwhile, recover
from airflow_provider_actito_sftp.transfer.remote_folder import describe, is_regular
from airflow_provider_actito_sftp.transfer.remote_steps import (
    finish_import,
    quarantine_or_release,
    quarantine_unclaimed,
    record_in_ledger,
)
from airflow_provider_actito_sftp.transfer.selection import not_in_ledger
from airflow_provider_actito_sftp.transfer.signatures import (
    Pairing,
    SignatureCheck,
    WaitingForSignature,
    check_signature_keys,
    consume_signature,
    pair_signatures,
    ready_data_files,
    set_signature_aside,
)
from airflow_provider_actito_sftp.transfer.streams import close_in_background, close_quietly, open_for_reading

log = logging.getLogger(__name__)


PARTIAL_SWEPT = (
    "its local partial file was removed by another try of this task instance starting beside this one (a zombie "
    "beside its retry?); left on the server for a later run"
)


class _Skip(Exception):
    """Leave the file for a later run (not an error)."""


class ImportJob(ImportState):
    """One import run over one open session (its state and the remote steps on its markers:
    :class:`~.import_state.ImportState`).

    :param ledger: used only with ``after_import="keep"``.
    """

    def __init__(self, session: AsyncSftpSession, request: ImportRequest, ledger: Ledger) -> None:
        super().__init__(session, request, ledger)
        self._keep = request.options.after_import is AfterImport.KEEP
        self._slots = FileSlots(self.settings.advanced.transfer_concurrency)
        self._local_names: dict[str, str] = {}  # final local name -> remote name, for this run
        self._decryption = DecryptionKeys(self.settings.keys, request.options.signature_policy)
        check_signature_keys(self.settings, request.options)  # a policy that cannot be met: before anything moves
        self._pairing = Pairing()
        self._checks: dict[str, SignatureCheck] = {}  # remote name -> its signature's check, for this run

    async def run(self) -> ImportResult:
        self.request.destination.sweep_partials(self.request.options.claim_timeout)
        entries = await self.session.list_location(self.request.location)
        if self.request.options.claim is Claim.RENAME:
            entries += await recover(self, entries)
        self._pairing = pair_signatures(entries, self.request.file_filter)
        ready = ready_data_files(self._pairing, self.request.file_filter.ready(entries), self.report.skip)
        new, already = not_in_ledger(ready, self._ledger_says)  # never counted toward max_files / max_bytes
        for entry in already:
            self.report.skip(entry.name, "already imported (ledger)")
            self._pairing.skip_with(entry, self.report.skip)
        batch, later = self.request.batch_limit.take(list(new))
        log.info(
            "Connection %r, location %r (%s): %d of %d entries ready to import; this run takes %d, oldest first",
            self.settings.conn_id,
            self.request.location,
            self.folder,
            len(ready),
            len(entries),
            len(batch),
        )
        self.report.leave_for_later(later)
        await asyncio.gather(*(self._guarded(entry, new[entry]) for entry in batch))
        return self.report.result

    def _check(self, entry: RemoteEntry) -> SignatureCheck:
        """The check of ``entry``'s detached signature, if it has one (one per file and run)."""
        if entry.name not in self._checks:
            self._checks[entry.name] = SignatureCheck(self, entry, self._pairing.of.get(entry.name))
        return self._checks[entry.name]

    async def _guarded(self, entry: RemoteEntry, seen: Seen) -> None:
        async with self._slots.for_size(entry.size):
            started = time.monotonic()
            if self.stopped:
                self.report.skip(entry.name, LEFT_TO_THE_OTHER_TRY)
                return
            try:
                await self._import(entry, seen, started)
            except Exception as e:  # a bug must not stop the other files or hide this one
                log.exception("%s: unexpected error", self.report.what(entry.name))
                self.report.fail(entry, f"unexpected error: {describe(e)}", started)

    # --- one file ---------------------------------------------------------------------------------

    async def _import(self, entry: RemoteEntry, seen: Seen, started: float) -> None:
        try:
            check_remote_name(entry.name)
            refusal = too_long_to_import(
                entry.name, self.request.owner, claims=self.request.options.claim is Claim.RENAME
            )
        except ValueError as e:  # never a local path, never a marker: at most moved, under its own name
            refusal = f"unsafe remote name: {e}"
        if refusal is not None:  # refused before any claim (every marker and partial name must fit too)
            quarantined = await quarantine_unclaimed(self, entry)  # so that later runs do not meet it again
            self.report.refuse(entry, refusal + (f"; moved to {quarantined}" if quarantined else ""), started)
            return
        if self.request.options.claim is Claim.NONE:
            await self._import_in_place(entry, seen, started)
            return
        claim = new_claim(entry.name, self.request.owner)
        try:
            claimed_attrs = await self.remote.rename_then_lstat(entry.name, claim.name)  # one round trip
        except asyncssh.SFTPNoSuchFile:
            self.report.skip(entry.name, "claimed by another run")
            return
        except (asyncssh.Error, OSError) as e:
            self.report.claim_failed(entry, e, started)
            return
        if self._keep and self._ledger_says(entry) is Seen.SAME:  # a concurrent run committed it meanwhile
            await asyncio.gather(claimed_attrs, return_exceptions=True)
            if await self.release(claim, entry, started, "already imported (ledger)"):
                self.report.skip(entry.name, "already imported (ledger)")
            return
        await self._import_claimed(entry, claim, seen, started, claimed_attrs)

    def _ledger_says(self, entry: RemoteEntry) -> Seen:
        if not self._keep:
            return Seen.CHANGED
        recorded = self.ledger.get(entry.name)
        return Seen.CHANGED if recorded is None else recorded.compare(entry.size, entry.mtime_ns)

    async def _import_claimed(
        self, entry: RemoteEntry, claim: Marker, seen: Seen, started: float, attrs: Awaitable[SFTPAttrs]
    ) -> None:
        try:
            downloaded = await self._download(entry, claim.name, seen, attrs)
        except _Skip as e:
            if await self.release(claim, entry, started, str(e)):
                self.report.skip(entry.name, str(e))
            return
        except FileRefusedError as e:  # bad input: a retry would meet it again
            if await quarantine_or_release(self, claim, entry, started, str(e)):
                self.report.refuse(entry, str(e) + await set_signature_aside(self, self._check(entry)), started)
            return
        except (asyncssh.Error, OSError) as e:
            if await self.release(claim, entry, started, f"transfer failed: {describe(e)}"):
                self.report.transfer_failed(entry, e, started)
            return
        if seen is Seen.UNSURE and self._unchanged(entry, downloaded):
            await self.release(claim, entry, started, "already imported (same content)")
            return
        staged = claim.staged(downloaded.sha256)
        try:
            staged_attrs = await self.remote.rename_then_lstat(claim.name, staged.name)
        except (asyncssh.Error, OSError) as e:
            self.request.destination.discard(downloaded.staged)
            reason = f"could not stage it on the server: {describe(e)}"
            if await self.release(claim, entry, started, reason):
                self.report.fail(entry, reason, started)
            return
        if not await self.still_there(staged.name, staged_attrs):  # another try of this task instance took it over
            self.request.destination.discard(downloaded.staged)
            self.taken_over(staged)
            return
        if await finish_if_published_meanwhile(self, staged, entry, downloaded.sha256):
            self.request.destination.discard(downloaded.staged)
            return
        local = await self._publish(entry, downloaded, staged, started)
        if local is None:
            return
        outcome, error, retryable = await finish_import(self, staged, entry.size, entry.mtime_ns, downloaded.sha256)
        if error is None and (signature := await consume_signature(self, self._check(entry))):
            outcome = f"{outcome}; {signature}"
        self.report.imported(entry, downloaded, local, outcome, error, started, retryable=retryable)

    async def _import_in_place(self, entry: RemoteEntry, seen: Seen, started: float) -> None:
        """``claim="none"``: read the file where it is; the ledger alone records the import."""
        try:
            downloaded = await self._download(entry, entry.name, seen)
        except _Skip as e:
            self.report.skip(entry.name, str(e))
            return
        except FileRefusedError as e:  # bad input: a retry would meet it again
            self.report.refuse(entry, str(e) + await set_signature_aside(self, self._check(entry)), started)
            return
        except (asyncssh.Error, OSError) as e:
            self.report.transfer_failed(entry, e, started)
            return
        if seen is Seen.UNSURE and self._unchanged(entry, downloaded):
            return
        local = await self._publish(entry, downloaded, None, started)
        if local is not None:
            record_in_ledger(self, entry.name, entry.size, entry.mtime_ns, downloaded.sha256)
            signature = await consume_signature(self, self._check(entry))
            outcome = "kept in place (claim='none')" + (f"; {signature}" if signature else "")
            self.report.imported(entry, downloaded, local, outcome, None, started)

    async def _download(
        self, entry: RemoteEntry, current: str, seen: Seen, lstat: Awaitable[SFTPAttrs] | None = None
    ) -> Downloaded:
        """Check the entry is still the regular file listed, then stream it into a staged local file.

        :param lstat: the answer of an lstat of ``current`` already sent (by the claim), else one is sent.
        """
        attrs = await (lstat if lstat is not None else self.remote.lstat(current))
        if not is_regular(attrs):
            raise ImportRefusedError("not a regular file on the server (a symlink?): never followed")
        expected = Expected(entry.size, entry.mtime_ns)
        if Expected(attrs.size or 0, mtime_ns_of(attrs)) != expected:
            raise _Skip("changed since it was listed (still being written?); left for a later run")
        handle = await open_for_reading(self.session.sftp, self.remote.file(current))
        try:
            downloaded = await self._read(entry, current, handle, expected, seen)
        except BaseException:
            await close_quietly(handle)
            raise
        close_in_background(handle, self.report.what(entry.name))  # goes out with the stage rename
        return downloaded

    async def _read(
        self, entry: RemoteEntry, current: str, handle: asyncssh.SFTPClientFile, expected: Expected, seen: Seen
    ) -> Downloaded:
        """Stream the file into a partial file (a large one reads on after a cut: :mod:`~.reconnect`)."""
        try:
            async with source_for(self, entry, current, handle, expected) as source:
                return await self._stream(entry, source, seen)
        except (RemoteChangedError, WaitingForSignature) as e:
            raise _Skip(str(e)) from e

    async def _stream(self, entry: RemoteEntry, source: RemoteSource, seen: Seen) -> Downloaded:
        """Decide (PGP? which local name?) from the first block, then stream the rest into a partial file."""
        decrypt = decide_decryption(
            await source.head(),
            entry.size,
            pgp_required=self.settings.inbound.pgp_required,
            options=self._decryption,
        )
        check = self._check(entry)
        decrypt = check.inline_options(decrypt)
        check.before_download(decrypt)
        final_name = plaintext_name(entry.name) if decrypt else entry.name
        # An UNSURE file may be the one already published: its content decides, after the download.
        # A file resumed from a staged marker may be the one its live try publishes meanwhile: content decides.
        unsure = seen is Seen.UNSURE or entry.name in self.resumed_staged
        self._reserve(final_name, entry.name, check_existing=not unsure)
        try:
            async with check.verifying(source, decrypt) as read_from:
                try:
                    downloaded = await download(
                        read_from,
                        self.request.destination,
                        final_name,
                        decrypt=decrypt,
                        limits=self.request.limits,
                        label=f"download {self.request.location}/{entry.name}",
                    )
                except GpgStreamError as e:
                    check.unsigned_inside(e)  # no signature inside nor beside it: it may wait for one
                    raise
                try:
                    await check.verify(downloaded)  # before anything is published
                except BaseException:
                    self.request.destination.discard(downloaded.staged)
                    raise
                return downloaded
        finally:
            self._local_names.pop(final_name, None)

    def _reserve(self, final_name: str, remote_name: str, *, check_existing: bool) -> None:
        """Refuse a second file of this run that would publish to the same local name, and the name of the
        reports' folder."""
        destination = self.request.destination
        if final_name == REPORT_FOLDER:
            raise ImportRefusedError(f"{final_name!r} is the name of the import reports' folder; it is never published")
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
        record_in_ledger(self, entry.name, entry.size, entry.mtime_ns, downloaded.sha256)
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
            elif not os.path.lexists(downloaded.staged.partial):  # swept by a try of this task instance
                self.report.skip(entry.name, PARTIAL_SWEPT)
            else:
                self.report.fail(entry, f"could not publish it locally: {e}", started)
            return None
