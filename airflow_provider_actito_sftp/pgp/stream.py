"""gpg as a streaming filter (stdin -> stdout) inside a temporary GNUPGHOME, for the transfer engine.

Data never passes through python-gnupg result objects: the engine feeds gpg's stdin and reads its stdout
in chunks, so memory stays flat whatever the file size. gpg's ``--status-fd`` lines decide success; the
caller publishes output only after :meth:`GpgFilter.finish` accepted them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from airflow_provider_actito_sftp.exceptions import GpgStreamError
from airflow_provider_actito_sftp.pgp.home import GPG_BINARY, temporary_gnupg_home
from airflow_provider_actito_sftp.transfer.options import SignaturePolicy

PIPE_CHUNK = 1 << 20


@dataclass
class GpgOutcome:
    """What gpg reported."""

    returncode: int
    status_lines: list[str] = field(default_factory=list)
    own_key_ids: frozenset[str] = frozenset()  # long key ids of the secret keys gpg had

    def has(self, keyword: str) -> bool:
        return any(line.split()[1:2] == [keyword] for line in self.status_lines)

    def every(self, keyword: str) -> list[list[str]]:
        return [line.split()[2:] for line in self.status_lines if line.split()[1:2] == [keyword]]

    def first(self, keyword: str) -> list[str] | None:
        for line in self.status_lines:
            words = line.split()
            if words[1:2] == [keyword]:
                return words[2:]
        return None


class GpgFilter:
    """A running ``gpg`` reading stdin and writing stdout. Use :func:`decrypting` or :func:`encrypting`."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._stderr_task = asyncio.ensure_future(self._collect_stderr())
        self._stderr_lines: list[str] = []
        self.own_key_ids: frozenset[str] = frozenset()

    async def _collect_stderr(self) -> None:
        assert self._process.stderr is not None
        async for raw in self._process.stderr:
            self._stderr_lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    async def write(self, data: bytes) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(data)
        await self._process.stdin.drain()

    async def close_input(self) -> None:
        assert self._process.stdin is not None
        if not self._process.stdin.is_closing():
            self._process.stdin.close()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                await self._process.stdin.wait_closed()

    async def read(self) -> bytes:
        """Return the next chunk of output, or b"" at the end."""
        assert self._process.stdout is not None
        return await self._process.stdout.read(PIPE_CHUNK)

    async def finish(self) -> GpgOutcome:
        returncode = await self._process.wait()
        await self._stderr_task
        status = [line for line in self._stderr_lines if line.startswith("[GNUPG:] ")]
        return GpgOutcome(returncode, status, self.own_key_ids)

    async def kill(self) -> None:
        if self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        with contextlib.suppress(Exception):
            await self._stderr_task


async def _start(home: Path, *args: str) -> GpgFilter:
    process = await asyncio.create_subprocess_exec(
        GPG_BINARY,
        "--homedir",
        str(home),
        "--batch",
        "--no-tty",
        "--yes",
        "--quiet",
        "--status-fd",
        "2",
        "--no-auto-key-retrieve",
        "--no-auto-key-locate",
        "--pinentry-mode",
        "error",  # our keys have no passphrase: never let gpg-agent ask anyone for one
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=PIPE_CHUNK * 2,
    )
    return GpgFilter(process)


@contextlib.asynccontextmanager
async def decrypting(secret_keys: str, *, partner_public_key: str | None = None) -> AsyncIterator[GpgFilter]:
    """A gpg filter that decrypts with our inbound secret keys (and can verify the partner's signature)."""
    with temporary_gnupg_home() as gpg:
        gpg.import_keys(secret_keys)
        secret = gpg.list_keys(secret=True)
        if not secret:
            raise GpgStreamError("no inbound PGP secret key is configured (actito-sftp pgp-key generate)")
        if partner_public_key and not gpg.import_keys(partner_public_key).fingerprints:
            raise GpgStreamError("the partner's PGP key (needed to verify signatures) does not import")
        process = await _start(Path(gpg.gnupghome), "--decrypt")
        process.own_key_ids = frozenset(
            key_id for key in secret for key_id in [key["keyid"], *(sub[0] for sub in key.get("subkeys", []))]
        )
        try:
            yield process
        finally:
            await process.kill()


@contextlib.asynccontextmanager
async def encrypting(partner_public_key: str, *, armor: bool, compress: bool) -> AsyncIterator[tuple[GpgFilter, str]]:
    """A gpg filter that encrypts to the partner's key only; yields it with the key's fingerprint."""
    with temporary_gnupg_home() as gpg:
        fingerprints = list(dict.fromkeys(gpg.import_keys(partner_public_key).fingerprints))
        if len(fingerprints) != 1:
            raise GpgStreamError(f"expected one partner public key, found {len(fingerprints)}")
        fingerprint = fingerprints[0]
        # This home holds only the partner's key: trusting it ultimately trusts nothing else.
        gpg.trust_keys([fingerprint], "TRUST_ULTIMATE")
        compression = ["--compress-algo", "zlib", "-z", "1"] if compress else ["--compress-algo", "none"]
        process = await _start(
            Path(gpg.gnupghome),
            "--encrypt",
            "--recipient",
            fingerprint,
            *(["--armor"] if armor else []),
            *compression,
        )
        try:
            yield process, fingerprint
        finally:
            await process.kill()


async def filter_file(gpg: GpgFilter, source: IO[bytes], sink: IO[bytes]) -> GpgOutcome:
    """Run a local file through ``gpg`` into ``sink`` (reads and writes overlap); return gpg's report."""

    async def feed() -> None:
        try:
            while chunk := await asyncio.to_thread(source.read, PIPE_CHUNK):
                await gpg.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # gpg stopped reading: its status says why
        finally:
            await gpg.close_input()

    async def drain() -> None:
        while chunk := await gpg.read():
            sink.write(chunk)

    await asyncio.gather(feed(), drain())
    return await gpg.finish()


def check_decryption(outcome: GpgOutcome, policy: SignaturePolicy, partner_fingerprint: str | None) -> str | None:
    """Accept or refuse what gpg reported for a decryption; return the decrypting primary key fingerprint.

    :param outcome: what gpg reported for a :func:`decrypting` run.
    :param policy: what to require of the partner's signature.
    :param partner_fingerprint: the partner's signing key, if configured.
    :raises GpgStreamError: not PGP, encrypted with a passphrase, not for our keys, integrity failure, or
        the signature policy failed.
    """
    # gpg 2.2 in batch mode does not always say NO_SECKEY: compare the recipients with our key ids.
    recipients = {words[0] for words in outcome.every("ENC_TO") if words}
    # A passphrase (SKESK) packet that none of our keys could bypass: gpg asked for the passphrase, was
    # refused (batch, no pinentry) and then reports DECRYPTION_FAILED, which reads like tampering.
    passphrase_only = not recipients & outcome.own_key_ids and not outcome.has("DECRYPTION_OKAY")
    if outcome.has("NEED_PASSPHRASE_SYM") and passphrase_only:
        raise GpgStreamError(
            "encrypted with a passphrase (symmetric), not to our PGP key: ask the partner to encrypt to our public key"
        )
    known = bool(outcome.own_key_ids and recipients)
    wrong_key = not recipients & outcome.own_key_ids if known else outcome.has("NO_SECKEY")
    if wrong_key and not outcome.has("DECRYPTION_OKAY"):
        raise GpgStreamError("not encrypted to any of our inbound PGP keys (a retired or foreign key?)")
    if outcome.has("NODATA") or not outcome.has("BEGIN_DECRYPTION"):
        raise GpgStreamError("not PGP-encrypted data (plaintext or damaged)")
    if outcome.has("BADMDC") or outcome.has("DECRYPTION_FAILED"):
        raise GpgStreamError("integrity check failed: the file is truncated, corrupted or tampered")
    integrity = outcome.has("GOODMDC") or _is_aead(outcome)
    # gpg exits non-zero when it cannot check a signature (no key imported under the "ignore" policy);
    # that is the signature policy's call, not a decryption failure.
    signature_only = outcome.has("ERRSIG") or outcome.has("BADSIG")
    failed = outcome.returncode != 0 and not signature_only
    if failed or not outcome.has("DECRYPTION_OKAY") or not outcome.has("END_DECRYPTION") or not integrity:
        raise GpgStreamError("decryption did not complete with an integrity check: truncated, corrupted or tampered")
    _check_signature(outcome, policy, partner_fingerprint)
    key = outcome.first("DECRYPTION_KEY")
    return key[1] if key and len(key) >= 2 else None


def _is_aead(outcome: GpgOutcome) -> bool:
    info = outcome.first("DECRYPTION_INFO")
    return bool(info and len(info) >= 3 and info[2] != "0")


def _check_signature(outcome: GpgOutcome, policy: SignaturePolicy, partner_fingerprint: str | None) -> None:
    if policy is SignaturePolicy.IGNORE:
        return
    signed = outcome.has("NEWSIG") or outcome.has("GOODSIG") or outcome.has("BADSIG") or outcome.has("ERRSIG")
    valid = outcome.first("VALIDSIG")
    signer = valid[-1] if valid else None
    if outcome.has("BADSIG"):
        raise GpgStreamError("the signature is BAD: the file was altered after signing")
    if signed and (signer is None or signer != partner_fingerprint):
        raise GpgStreamError("signed, but not with the partner's configured key")
    if policy is SignaturePolicy.REQUIRE and signer is None:
        raise GpgStreamError("unsigned, but the signature policy requires the partner's signature")
