"""Detached signatures (``gpg --detach-sign``, ``sq sign --detached``, ``rnp --sign --detach``): check that a
``.sig`` / ``.asc`` file the partner sent beside a data file signs those bytes, with the partner's key.

The signed bytes are streamed to ``gpg --verify <signature> -`` as they are read (:class:`DetachedVerifier`), so
nothing is read twice and memory stays flat; gpg's status lines decide (:func:`check_detached`): a good signature
by the partner's key, and no bad one. Each check runs in a fresh GNUPGHOME holding the partner's public key only
(:func:`~.home.temporary_gnupg_home`), removed afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

from airflow_provider_actito_sftp.exceptions import GpgStreamError, GpgUnavailableError
from airflow_provider_actito_sftp.pgp.home import GPG_BINARY, temporary_gnupg_home
from airflow_provider_actito_sftp.pgp.packets import PgpKind, sniff
from airflow_provider_actito_sftp.pgp.stream import PIPE_CHUNK, GpgFilter, start_filter
from airflow_provider_actito_sftp.pgp.verdict import GpgOutcome

MAX_SIGNATURE_BYTES = 64 << 10  # a detached signature is a few hundred bytes (a few KiB with many signers)
_ARMORED = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*-----BEGIN PGP (?P<kind>[A-Z0-9 ,/]+)-----")
_SIGNATURE_TAGS = frozenset({0x88, 0x89, 0x8A, 0x8B, 0xC2})  # packet tag 2 (signature), old and new format
_NO_PUBLIC_KEY = "9"  # ERRSIG's return code when the signing key is not in the home (GPG_ERR_NO_PUBKEY)


def detached_form(signature: bytes, name: str) -> None:
    """Refuse what is not a detached signature before gpg reads it: an armored ``PGP SIGNATURE`` block, or binary
    signature packets. (gpg would also refuse a signed message, "not a detached signature"; the check names it.)

    :param signature: the signature file's bytes.
    :param name: its name on the server, for the message.
    :raises GpgStreamError: anything else (an armored message, a signed file, text).
    """
    armored = _ARMORED.match(signature)
    if armored is not None and armored["kind"] == b"SIGNATURE":
        return
    if armored is None and signature[:1] and signature[0] in _SIGNATURE_TAGS:
        return
    what = f"an armored PGP {armored['kind'].decode().lower()}" if armored else _binary_kind(signature)
    raise GpgStreamError(
        f"{name!r} next to it is not a detached OpenPGP signature ({what}): a file named X.sig or X.asc beside X is "
        "read as X's signature; ask the partner to sign with --detach-sign (gpg), --detached (sq) or --detach (rnp)"
    )


def _binary_kind(content: bytes) -> str:
    """What a binary file that is not a detached signature is, in words."""
    kind = sniff(content, len(content)).kind
    if kind is PgpKind.UNENCRYPTED_PGP:
        return "a signed or compressed OpenPGP message, as `gpg --sign` makes"
    if kind is PgpKind.NOT_PGP:
        return "not OpenPGP data"
    return "an encrypted OpenPGP message"


def check_detached(outcome: GpgOutcome, partner_fingerprints: frozenset[str], name: str) -> str:
    """Accept what ``gpg --verify`` reported for a detached signature; return the partner key that signed.

    Accepted: a good signature (``GOODSIG`` and ``VALIDSIG``) by the partner's key, and no bad one (a file with
    several signatures may hold others, e.g. by a key we do not have).

    :param outcome: what gpg reported.
    :param partner_fingerprints: the partner's primary key fingerprint(s), the only keys in gpg's home.
    :param name: the signature file's name on the server, for the message.
    :raises GpgStreamError: a bad signature, one by another key or by an expired or revoked key, or none.
    """
    shown = f"its detached signature {name!r}"
    if outcome.has("BADSIG"):
        raise GpgStreamError(
            f"{shown} is BAD: the file was changed after it was signed (or the signature is another file's); ask the "
            "partner to sign the file as sent and to send both again"
        )
    signers = {words[-1] for words in outcome.every("VALIDSIG") if words}
    good = outcome.has("GOODSIG") and signers & partner_fingerprints
    if good:
        return sorted(signers & partner_fingerprints)[0]
    if outcome.has("REVKEYSIG"):
        raise GpgStreamError(
            f"{shown} is made with the partner's key, which is revoked: ask the partner for their "
            "current key and set it on the connection"
        )
    if outcome.has("EXPKEYSIG"):
        raise GpgStreamError(
            f"{shown} is made with the partner's key, which has expired: ask the partner for their "
            "current key and set it on the connection"
        )
    if outcome.has("EXPSIG"):
        raise GpgStreamError(f"{shown} has expired (it carries an expiry date): ask the partner to sign it again")
    for error in outcome.every("ERRSIG"):
        key_id = error[0] if error else "?"
        if error[5:6] == [_NO_PUBLIC_KEY]:
            raise GpgStreamError(
                f"{shown} is made with another key (key id {key_id}), not the partner's configured key: ask the "
                "partner to sign with the key they gave us, or set their new key on the connection"
            )
        raise GpgStreamError(f"gpg cannot check {shown} (key id {key_id}: an algorithm it does not support?)")
    raise GpgStreamError(f"{shown} holds no OpenPGP signature gpg can read (damaged, or empty)")


class DetachedVerifier:
    """``gpg --verify`` of one detached signature, fed the signed bytes; one pass after another if the bytes are
    read again (:meth:`start` begins a new pass).

    :param home: the GNUPGHOME holding the partner's key (and the signature file).
    :param signature: the signature file in it.
    :param partner_fingerprints: the primary fingerprints imported there.
    :param name: the signature file's name on the server, for messages.
    """

    def __init__(self, home: Path, signature: Path, partner_fingerprints: frozenset[str], name: str) -> None:
        self._home, self._signature = home, signature
        self._fingerprints, self._name = partner_fingerprints, name
        self._gpg: GpgFilter | None = None
        self._reading = False

    async def start(self) -> None:
        """Begin a pass: a new gpg reads the signed bytes from their first one (a pass under way is dropped)."""
        await self.kill()
        argv = [
            GPG_BINARY,
            "--homedir",
            str(self._home),
            "--batch",
            "--no-tty",
            "--status-fd",
            "2",
            "--no-auto-key-retrieve",
            "--no-auto-key-locate",
            "--verify",
            str(self._signature),
            "-",
        ]
        try:
            self._gpg = await start_filter(*argv, env={**os.environ, "LC_ALL": "C", "LANGUAGE": "C"})
        except OSError as e:
            raise GpgUnavailableError(f"gpg could not start on this machine: {e}") from e
        self._reading = True

    async def write(self, data: bytes) -> None:
        """Feed the next signed bytes (dropped once gpg stopped reading: its status says why)."""
        if self._gpg is None or not self._reading:
            return
        try:
            await self._gpg.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self._reading = False

    async def verdict(self) -> str:
        """End the pass; return the partner key that signed (:func:`check_detached`).

        :raises GpgStreamError: the signature does not verify.
        """
        if self._gpg is None:
            raise RuntimeError("no pass was started")
        await self._gpg.close_input()
        outcome = await self._gpg.finish()
        self._gpg = None
        return check_detached(outcome, self._fingerprints, self._name)

    async def verify_file(self, path: Path) -> str:
        """Check the signature on a local file (opened without following a symlink), in one pass."""
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC)
        with os.fdopen(descriptor, "rb") as handle:
            await self.start()
            while chunk := await asyncio.to_thread(handle.read, PIPE_CHUNK):
                await self.write(chunk)
        return await self.verdict()

    async def kill(self) -> None:
        """Stop the pass under way, if any (idempotent)."""
        if self._gpg is not None:
            await self._gpg.kill()
            self._gpg = None


@contextlib.asynccontextmanager
async def detached_verifier(signature: bytes, partner_public_key: str, name: str) -> AsyncIterator[DetachedVerifier]:
    """A verifier of ``signature`` with the partner's key, in a fresh GNUPGHOME removed on exit.

    :param signature: the detached signature's bytes (binary or armored).
    :param partner_public_key: the partner's armored public key.
    :param name: the signature file's name on the server, for messages.
    :raises GpgStreamError: not a detached signature, too large, or a partner key that does not import.
    :raises GpgUnavailableError: gpg does not start on this machine.
    """
    if len(signature) > MAX_SIGNATURE_BYTES:
        raise GpgStreamError(
            f"{name!r} next to it is {len(signature)} bytes: too large for a detached signature (at most "
            f"{MAX_SIGNATURE_BYTES}); a file named X.sig or X.asc beside X is read as X's signature"
        )
    detached_form(signature, name)
    with temporary_gnupg_home() as gpg:
        fingerprints = frozenset(gpg.import_keys(partner_public_key).fingerprints)
        if not fingerprints:
            raise GpgStreamError("the partner's PGP key (needed to verify signatures) does not import")
        home = Path(gpg.gnupghome)
        path = home / "detached.sig"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(signature)
        verifier = DetachedVerifier(home, path, fingerprints, name)
        try:
            yield verifier
        finally:
            await verifier.kill()
