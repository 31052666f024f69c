"""Detached signatures beside the data files: which ``.sig`` / ``.asc`` signs which file, the check of one file's
signature during its import, and what then happens to the signature file.

**Naming.** ``X.sig`` or ``X.asc`` signs ``X``, as its name says:

- if ``X`` is on the server, the file ``X`` as stored: ``data.csv.sig`` the plaintext file ``data.csv``,
  ``data.csv.pgp.sig`` the encrypted file ``data.csv.pgp`` (``gpg --detach-sign data.csv.pgp``);
- else (``.sig`` only), if an encrypted file on the server decrypts to ``X`` (``data.csv.pgp`` to ``data.csv``),
  that file's decrypted content (the partner signed ``data.csv``, then encrypted it).

A ``.sig`` file is always a signature; an ``.asc`` file only beside the file it signs (else it is armored data, as
``x.csv.asc`` beside ``x.csv.pgp``).
A data file has at most one (the one of the file as stored first). A signature is never imported as a file of its
own: it goes with its data file. One without a data file is left alone and reported (it may be arriving).

**Policy** (``signature_policy``). ``ignore``: a signature is not checked, but still goes with its data file.
``accept`` and ``require``: a data file with a signature is published only once the signature verifies with the
partner's key (a bad one, or one by another key, refuses the file: no retry). Without one, ``accept`` imports the
file; ``require`` accepts a signature inside an encrypted file instead, and otherwise waits: the file is skipped
("waiting for its detached signature") until :data:`SIGNATURE_GRACE` after its last modification, then refused.
A data file whose signature is still being written (younger than ``min_age``) waits under every policy.

**After the import** the signature is deleted, archived or kept as ``after_import`` did to its data file (once that
succeeded); a refused data file moved to quarantine takes it along. Its outcome is in the data file's record.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, NoReturn, cast

import asyncssh

from airflow_provider_actito_sftp.exceptions import ConnectionConfigError, GpgStreamError, ImportRefusedError
from airflow_provider_actito_sftp.pgp.detached import MAX_SIGNATURE_BYTES, DetachedVerifier, detached_verifier
from airflow_provider_actito_sftp.pgp.stream import DecryptOptions
from airflow_provider_actito_sftp.pgp.verdict import UNSIGNED, SignaturePolicy
from airflow_provider_actito_sftp.transfer.download import RemoteSource
from airflow_provider_actito_sftp.transfer.names import PGP_SUFFIXES, parse_marker, plaintext_name, shown_name
from airflow_provider_actito_sftp.transfer.options import AfterImport, Claim, ImportOptions
from airflow_provider_actito_sftp.transfer.remote_folder import describe, is_regular

if TYPE_CHECKING:
    from airflow_provider_actito_sftp.connection.settings import ConnectionSettings
    from airflow_provider_actito_sftp.ssh.session import RemoteEntry
    from airflow_provider_actito_sftp.transfer.download import Downloaded
    from airflow_provider_actito_sftp.transfer.import_state import ImportState
    from airflow_provider_actito_sftp.transfer.selection import FileFilter

log = logging.getLogger("airflow_provider_actito_sftp.transfer.importer")

SIGNATURE_SUFFIXES = (".sig", ".asc")
_ENCRYPTED_SUFFIXES = tuple(suffix for suffix in PGP_SUFFIXES if suffix not in SIGNATURE_SUFFIXES)  # .pgp, .gpg
SIGNATURE_GRACE = 15 * 60.0  # seconds after its last modification a data file waits for a required signature


class Covers(StrEnum):
    """What a detached signature signs."""

    STORED = "the file as stored"
    PLAINTEXT = "its decrypted content"


@dataclass(frozen=True)
class DetachedSignature:
    """A data file's signature file on the server.

    :param entry: the signature file as listed.
    :param covers: what it signs.
    :param complete: older than ``min_age`` (else it may still be being written).
    """

    entry: RemoteEntry
    covers: Covers
    complete: bool

    @property
    def name(self) -> str:
        return self.entry.name


@dataclass
class Pairing:
    """The signatures of a location listing.

    :param of: each data file's signature, by the data file's name.
    :param names: every signature file's name (none is imported as a file of its own).
    :param left_alone: the signature files left alone and why, for the report.
    """

    of: dict[str, DetachedSignature] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)
    left_alone: list[tuple[str, str]] = field(default_factory=list)

    def skip_with(self, entry: RemoteEntry, skip: Callable[[str, str], None]) -> None:
        """Report ``entry``'s signature, if it has one, as left beside it (``entry`` is not imported this run)."""
        if (signature := self.of.get(entry.name)) is not None:
            skip(signature.name, f"the detached signature of '{shown_name(entry.name)}', kept beside it")


def ready_data_files(pairing: Pairing, ready: list[RemoteEntry], skip: Callable[[str, str], None]) -> list[RemoteEntry]:
    """The ready files to import: not the signatures (they go with their data files), nor a data file whose
    signature is still being written (it waits); the signatures left alone and the waiting files are reported
    through ``skip``."""
    for name, reason in pairing.left_alone:
        skip(name, reason)
    data = []
    for entry in ready:
        if entry.name in pairing.names:
            continue
        signature = pairing.of.get(entry.name)
        if signature is not None and not signature.complete:
            shown = shown_name(signature.name)
            skip(entry.name, f"waiting for its detached signature '{shown}' (modified less than min_age ago)")
            continue
        data.append(entry)
    return data


class WaitingForSignature(Exception):
    """The data file waits for its detached signature: left for a later run (a skip, not an error)."""


def signed_name(name: str) -> str | None:
    """``X`` for ``X.sig`` or ``X.asc`` (any case), else None."""
    return name[:-4] if name.lower().endswith(SIGNATURE_SUFFIXES) and len(name) > 4 else None


def pair_signatures(entries: list[RemoteEntry], file_filter: FileFilter, *, now: float | None = None) -> Pairing:
    """Find which files of a listing are detached signatures, and of which data file (see the module's docstring).

    :param entries: the location's listing.
    :param file_filter: the import's selection: its lock suffix and ``min_age`` (a signature still being written is
        not complete) and its pattern (only signatures of, or matching, it are reported).
    :param now: the time to measure ages against (default: now).
    """
    moment = time.time() if now is None else now
    files = {entry.name: entry for entry in entries if file_filter.present(entry)}
    claimed = {marker.original for entry in entries if (marker := parse_marker(entry.name)) is not None}
    in_other_hands = claimed | {plaintext_name(name) for name in claimed}  # being imported by another run
    plaintexts: dict[str, list[str]] = {}
    for name in sorted(files):
        if name.lower().endswith(_ENCRYPTED_SUFFIXES):
            plaintexts.setdefault(plaintext_name(name), []).append(name)
    # An .asc file is a signature only where it signs a file (else it is armored data).
    sig_files = {name for name in files if name.lower().endswith(".sig")}
    armored = {name for name in files if name.lower().endswith(".asc") and _target(name, files, plaintexts, sig_files)}
    signatures = sorted(sig_files) + sorted(armored)
    pairing = Pairing(names=set(signatures))
    taken: set[str] = set()
    for covers in Covers:  # the file as stored first: a data file has one signature
        for name in signatures:
            found = _target(name, files, plaintexts, pairing.names)
            if name in taken or found is None or found[1] is not covers or found[0] in pairing.of:
                continue
            entry = files[name]
            pairing.of[found[0]] = DetachedSignature(entry, covers, file_filter.old_enough(entry, moment))
            taken.add(name)
    for name in signatures:
        target = signed_name(name) or name
        if name in taken or target in in_other_hands or not (file_filter.matches(name) or file_filter.matches(target)):
            continue
        found = _target(name, files, plaintexts, pairing.names)
        reason = (
            f"a detached signature of '{shown_name(found[0])}', which has another one: left alone"
            if found is not None
            else f"a detached signature, but its data file '{shown_name(target)}' is not in the location: left alone "
            "(it may be arriving)"
        )
        pairing.left_alone.append((name, reason))
    return pairing


def _target(
    name: str, files: dict[str, RemoteEntry], plaintexts: dict[str, list[str]], signatures: set[str]
) -> tuple[str, Covers] | None:
    """The data file ``name`` signs and what of it, or None (see the module's docstring)."""
    target = signed_name(name)
    if target is None:
        return None
    if target in files and not target.lower().endswith(".sig") and target not in signatures:
        return target, Covers.STORED
    if name.lower().endswith(".asc"):  # x.csv.asc beside x.csv.pgp: both armored and binary encrypted data
        return None
    encrypted = [candidate for candidate in plaintexts.get(target, []) if candidate not in signatures]
    return (encrypted[0], Covers.PLAINTEXT) if encrypted else None


def check_signature_keys(settings: ConnectionSettings, options: ImportOptions) -> None:
    """Refuse, before anything is read, an import whose signature policy cannot be met: ``require`` without the
    partner's key (every file would be refused).

    :raises ConnectionConfigError: ``signature_policy="require"`` and no partner PGP public key configured.
    """
    if options.signature_policy is SignaturePolicy.REQUIRE and not settings.keys.partner_pgp_public_key:
        problem = (
            "signature_policy='require' checks every file's signature with the partner's PGP public key, and none is "
            "configured: set it{how}, or import with signature_policy='accept' or 'ignore'"
        )
        how = f" (`actito-sftp partner-key set {settings.conn_id} FILE`, or the connection page)"
        field = "partner_pgp_public_key"
        raise ConnectionConfigError(settings.conn_id, field, problem.format(how=how), on_page=problem.format(how=""))


class _TeeSource(RemoteSource):
    """``source`` as the download reads it, each pass over its bytes also fed to ``verifier`` (the signature of
    the file as stored, while it is decrypted)."""

    def __init__(self, source: RemoteSource, verifier: DetachedVerifier) -> None:  # a view: no handle of its own
        self._source, self._verifier = source, verifier
        self.expected = source.expected

    async def head(self) -> bytes:
        return await self._source.head()

    async def blocks(self) -> AsyncIterator[bytes]:
        await self._verifier.start()
        async for block in self._source.blocks():
            await self._verifier.write(block)
            yield block

    def rewind(self) -> None:
        self._source.rewind()

    async def verify_unchanged(self, read_bytes: int) -> None:
        await self._source.verify_unchanged(read_bytes)


class SignatureCheck:
    """One data file's detached signature through its import: read, verified before the file is published, then
    given the data file's fate (:func:`consume_signature`).

    :param job: the import run.
    :param entry: the data file.
    :param signature: its signature (None: it has none).
    """

    def __init__(self, job: ImportState, entry: RemoteEntry, signature: DetachedSignature | None) -> None:
        self.job, self.entry, self.signature = job, entry, signature
        self.policy = job.request.options.signature_policy
        self.signer: str | None = None  # the partner key that made it, once verified
        self._verifier: DetachedVerifier | None = None
        self._tee = False

    @property
    def checked(self) -> bool:
        """Whether the signature is to be verified (there is one, and signatures are not ignored)."""
        return self.signature is not None and self.policy is not SignaturePolicy.IGNORE

    def inline_options(self, decrypt: DecryptOptions | None) -> DecryptOptions | None:
        """How to decrypt: with a detached signature to verify, none is required inside (one there must still be
        the partner's)."""
        if decrypt is not None and self.checked and decrypt.signature_policy is SignaturePolicy.REQUIRE:
            return dataclasses.replace(decrypt, signature_policy=SignaturePolicy.ACCEPT)
        return decrypt

    def before_download(self, decrypt: DecryptOptions | None) -> None:
        """Refuse, or wait, before reading on, when the signature cannot be met whatever the file holds.

        :raises WaitingForSignature: ``require``, no detached signature, and a file not decrypted here (so no
            signature inside is checked), within the grace.
        :raises ImportRefusedError: the same past the grace, or a signature of the decrypted content of a file that
            is not decrypted here.
        """
        if self.policy is SignaturePolicy.REQUIRE and self.signature is None and decrypt is None:
            self.missing("it is not decrypted here, so no signature inside it is checked")
        if self.checked and decrypt is None and self.signature and self.signature.covers is Covers.PLAINTEXT:
            raise ImportRefusedError(
                f"its detached signature '{shown_name(self.signature.name)}' signs its decrypted content, but it is "
                "not decrypted here (no inbound key pair on the connection): configure our key pair, or ask the "
                f"partner to sign the file as sent ('{shown_name(self.entry.name)}.sig')"
            )

    def unsigned_inside(self, error: GpgStreamError) -> None:
        """After a decryption refused as unsigned under ``require``: without a detached signature the file waits
        for one (:meth:`missing`); any other refusal is left to the caller."""
        if self.signature is None and self.policy is SignaturePolicy.REQUIRE and str(error) == UNSIGNED:
            self.missing("it is not signed inside either")

    def missing(self, why: str) -> NoReturn:
        """Wait for the signature while the file is younger than :data:`SIGNATURE_GRACE`, else refuse it."""
        age = time.time() - self.entry.mtime.timestamp()
        names = f"'{shown_name(self.entry.name)}.sig' or '.asc'"
        grace = f"{SIGNATURE_GRACE / 60:g} minutes"
        if age < SIGNATURE_GRACE:
            raise WaitingForSignature(
                f"waiting for its detached signature ({names}; {why}): refused if none comes within {grace} of its "
                f"last modification ({(SIGNATURE_GRACE - age) / 60:.0f} min left); left on the server"
            )
        raise ImportRefusedError(
            f"no detached signature ({names}) came within {grace} of its last modification, and {why}; "
            "signature_policy='require' needs the partner's signature: ask the partner to send the signature "
            "(gpg --detach-sign FILE), or import with signature_policy='accept'"
        )

    @contextlib.asynccontextmanager
    async def verifying(self, source: RemoteSource, decrypt: DecryptOptions | None) -> AsyncIterator[RemoteSource]:
        """The source to download from, the signature file read and its check ready (:meth:`verify` ends it)."""
        if not self.checked:
            yield source
            return
        assert self.signature is not None
        signature = await self._read_signature(self.signature)
        partner_key = self.job.settings.keys.partner_pgp_public_key
        if not partner_key:
            raise GpgStreamError(
                f"it has a detached signature ('{shown_name(self.signature.name)}'), but the "
                "connection has no partner PGP key to check it with: set the partner's public key "
                "(`actito-sftp partner-key set CONN_ID FILE`, or the connection page)"
            )
        async with detached_verifier(signature, partner_key, shown_name(self.signature.name)) as verifier:
            self._verifier = verifier
            self._tee = self.signature.covers is Covers.STORED and decrypt is not None
            yield _TeeSource(source, verifier) if self._tee else source
            self._verifier = None

    async def verify(self, downloaded: Downloaded) -> None:
        """Check the signature on what was downloaded: the bytes read from the server (seen as they came), or the
        staged local file (the file as stored when it was not decrypted, else its decrypted content).

        :raises GpgStreamError: it does not verify.
        """
        if self._verifier is None:
            return
        if self._tee:
            self.signer = await self._verifier.verdict()
        else:
            self.signer = await self._verifier.verify_file(downloaded.staged.partial)

    async def _read_signature(self, signature: DetachedSignature) -> bytes:
        """The signature file's bytes (a regular file of at most :data:`MAX_SIGNATURE_BYTES`, never followed)."""
        remote = self.job.remote
        try:
            attrs = await remote.lstat(signature.name)
            if not is_regular(attrs):
                raise ImportRefusedError(f"its detached signature '{shown_name(signature.name)}' is not a regular file")
            async with remote.sftp.open(remote.file(signature.name), "rb") as handle:
                return cast("bytes", await handle.read(MAX_SIGNATURE_BYTES + 1))  # opened in binary mode
        except asyncssh.SFTPNoSuchFile as e:
            raise WaitingForSignature(
                f"its detached signature '{shown_name(signature.name)}' went away while it was read: left on the "
                "server for a later run"
            ) from e

    def words(self) -> str:
        """What the record says of the signature's check."""
        shown = f"its detached signature '{shown_name(self.signature.name)}'" if self.signature else ""
        if self.signer is not None:
            return f"{shown} verified (the partner's key {self.signer})"
        return f"{shown} not checked (signature_policy='{self.policy}')" if shown else ""


async def consume_signature(job: ImportState, check: SignatureCheck) -> str:
    """Do to the signature file what ``after_import`` did to its data file (whose step succeeded); return what the
    record says of it. Never raises: the data file is safe; a signature left behind is reported, and later runs
    report it as left alone."""
    if check.signature is None:
        return ""
    options, name = job.request.options, check.signature.name
    words = check.words()
    if options.claim is Claim.NONE or options.after_import is AfterImport.KEEP:
        return f"{words}, kept beside it"
    try:
        if options.after_import is AfterImport.DELETE:
            await job.remote.remove(name)
            return f"{words}, deleted too"
        assert options.archive_location is not None
        archive = job.session.location_path(options.archive_location)
        moved = await job.remote.move_without_clobbering(name, archive, name)
        return f"{words}, archived as {archive.rstrip('/')}/{shown_name(moved)}"
    except (asyncssh.Error, OSError) as e:
        step = "deleted" if options.after_import is AfterImport.DELETE else "archived"
        log.warning("%s: its detached signature could not be %s: %s", job.report.what(check.entry.name), step, e)
        return f"{words}, but it could not be {step} ({describe(e)}): left on the server"


async def set_signature_aside(job: ImportState, check: SignatureCheck) -> str:
    """After its data file was refused: move the signature file to quarantine too if the data file went there, else
    leave it beside it; return what the refusal adds about it."""
    if check.signature is None:
        return ""
    name = shown_name(check.signature.name)
    quarantine_location = job.request.options.quarantine_location
    try:
        if quarantine_location is None or await job.remote.exists(check.entry.name):
            return f"; its detached signature '{name}' stays beside it"
        quarantine = job.session.location_path(quarantine_location)
        moved = await job.remote.move_without_clobbering(check.signature.name, quarantine, check.signature.name)
    except (asyncssh.Error, OSError) as e:
        return f"; its detached signature '{name}' stays where it is (could not move it to quarantine: {describe(e)})"
    return f"; its detached signature moved to quarantine too, as {quarantine.rstrip('/')}/{shown_name(moved)}"
