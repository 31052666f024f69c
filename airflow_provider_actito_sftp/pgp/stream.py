"""gpg as a streaming filter (stdin -> stdout) in a temporary GNUPGHOME, and the one pump that drives it.

Data never passes through python-gnupg result objects: :func:`pump` feeds gpg's stdin and drains its
stdout at the same time, in chunks, so memory stays flat whatever the file size. gpg's status lines
(:mod:`~airflow_provider_actito_sftp.pgp.verdict`) decide success; the sink receives output before the
verdict, so callers publish it only once :func:`decrypt_stream` or :func:`encrypt_stream` returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import inspect
import os
from collections.abc import AsyncIterable, AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_provider_actito_sftp.exceptions import GpgStreamError, GpgUnavailableError
from airflow_provider_actito_sftp.pgp.armor import ascii_armor
from airflow_provider_actito_sftp.pgp.home import GPG_BINARY, temporary_gnupg_home
from airflow_provider_actito_sftp.pgp.verdict import (
    GpgOutcome,
    SignaturePolicy,
    check_decryption,
    check_encryption,
    check_unwrapping,
    inner_policy,
)

PIPE_CHUNK = 1 << 20

Sink = Callable[[bytes], object]
"""Where gpg's output goes: a function of one chunk, awaited if it returns an awaitable (``file.write``,
an async writer's ``write``)."""


@dataclass(frozen=True)
class DecryptOptions:
    """How to decrypt inbound files.

    :param secret_keys: our armored inbound secret keys.
    :param signature_policy: what to require of the partner's signature.
    :param partner_public_key: the partner's key, for signature checks.
    :param partner_fingerprint: its primary fingerprint.
    :param signed_outside: the file is a signed message whose data is the encrypted message (the partner
        signed the encrypted file): one gpg reads the signature, a second decrypts what it signed.
    """

    secret_keys: str
    signature_policy: SignaturePolicy = SignaturePolicy.IGNORE
    partner_public_key: str | None = None
    partner_fingerprint: str | None = None
    signed_outside: bool = False

    @property
    def verifying_key(self) -> str | None:
        """The partner's key to check signatures with: None when signatures are ignored (nor imported)."""
        return self.partner_public_key if self.signature_policy is not SignaturePolicy.IGNORE else None


@dataclass(frozen=True)
class EncryptOptions:
    """Outbound PGP.

    :param partner_public_key: the partner's armored public key, the only recipient.
    :param armor: ASCII-armored output instead of binary.
    """

    partner_public_key: str
    armor: bool = False


async def decrypt_stream(blocks: AsyncIterable[bytes], sink: Sink, options: DecryptOptions) -> str | None:
    """Decrypt ``blocks`` into ``sink`` with our inbound keys; return the decrypting key's fingerprint.

    :param blocks: the encrypted data; its errors (a cut connection) propagate as they are.
    :param sink: receives the plaintext, before the verdict: discard it unless this returns.
    :param options: our keys and the signature policy.
    :raises GpgStreamError: the verdict of :func:`~airflow_provider_actito_sftp.pgp.verdict.check_decryption`.
    """
    blocks = ascii_armor(blocks)  # armor a Windows tool wrote (a byte-order mark, UTF-16) as gpg reads it
    policy = options.signature_policy
    if options.signed_outside:
        inner = decrypting(options.secret_keys, partner_public_key=options.verifying_key)
        outer_outcome, outcome = await unwrap_into(blocks, sink, options, inner)
        check_unwrapping(outer_outcome, policy, options.partner_fingerprint)
        return check_decryption(outcome, inner_policy(policy), options.partner_fingerprint)
    async with decrypting(options.secret_keys, partner_public_key=options.verifying_key) as gpg:
        outcome = await pump(gpg, blocks, sink)
    return check_decryption(outcome, policy, options.partner_fingerprint)


async def unwrap_into(
    blocks: AsyncIterable[bytes],
    sink: Sink,
    options: DecryptOptions,
    inner_filter: contextlib.AbstractAsyncContextManager[GpgFilter],
) -> tuple[GpgOutcome, GpgOutcome]:
    """The signature outside the encryption: an outer gpg reads the signed message and writes its data, the
    encrypted message, straight into ``inner_filter`` (gpg or sq), which decrypts it into ``sink``.

    :return: what the outer gpg reported (:func:`~.verdict.check_unwrapping` judges it) and what the inner
        filter reported.
    """
    async with (
        decrypting(options.secret_keys, partner_public_key=options.verifying_key) as outer,
        inner_filter as inner,
    ):

        async def unwrap() -> GpgOutcome:
            try:
                outcome = await pump(outer, blocks, _into(inner))
                await inner.close_input()  # waits for the inner to take the rest: only while it is drained
            except BaseException:
                await inner.kill()  # the drain stopped (or failed): a graceful close would wait forever
                raise
            return outcome

        async def decrypt() -> GpgOutcome:
            await _drain(inner, sink)
            return await inner.finish()

        outer_outcome, inner_outcome = await _run_together(unwrap(), decrypt())
    return outer_outcome, inner_outcome


def _into(gpg: GpgFilter) -> Sink:
    """A sink writing into ``gpg``'s input; if it stopped reading, the rest is dropped (its status says why)."""

    async def write(chunk: bytes) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            await gpg.write(chunk)

    return write


async def encrypt_stream(blocks: AsyncIterable[bytes], sink: Sink, options: EncryptOptions, *, compress: bool) -> str:
    """Encrypt ``blocks`` into ``sink`` to the partner's key only; return that key's fingerprint.

    :param blocks: the plaintext; its errors propagate as they are.
    :param sink: receives the encrypted data, before the verdict: discard it unless this returns.
    :param options: the partner's key and the armor choice.
    :param compress: zlib-compress first (leave off for data that is already compressed).
    :raises GpgStreamError: gpg did not complete the encryption.
    """
    async with encrypting(options.partner_public_key, armor=options.armor, compress=compress) as (gpg, fingerprint):
        outcome = await pump(gpg, blocks, sink)
    check_encryption(outcome)
    return fingerprint


async def pump(gpg: GpgFilter, blocks: AsyncIterable[bytes], sink: Sink) -> GpgOutcome:
    """Run ``blocks`` through ``gpg`` into ``sink``, feeding and draining at once; return gpg's report.

    If gpg stops reading (a broken pipe), feeding stops quietly: gpg's status says why. An error from
    ``blocks`` or ``sink`` cancels the other side, kills gpg and propagates: a cut connection is reported
    as such, not hidden behind gpg's verdict on a truncated message.

    :param gpg: a filter from :func:`decrypting` or :func:`encrypting`.
    :param blocks: the input, in order.
    :param sink: called with each chunk of output, in order (awaited if it returns an awaitable).
    """
    try:
        await _run_together(_feed(gpg, blocks), _drain(gpg, sink))
    except BaseException:
        await gpg.kill()
        raise
    return await gpg.finish()


async def _feed(gpg: GpgFilter, blocks: AsyncIterable[bytes]) -> None:
    """Write every block, then close gpg's input; on an error of ``blocks``, gpg never sees an end."""
    async for block in blocks:
        try:
            await gpg.write(block)
        except (BrokenPipeError, ConnectionResetError):
            break  # gpg stopped reading: its status says why
    await gpg.close_input()


async def _drain(gpg: GpgFilter, sink: Sink) -> None:
    while chunk := await gpg.read():
        written = sink(chunk)
        if inspect.isawaitable(written):
            await written


async def _run_together(*steps: Coroutine[Any, Any, Any]) -> list[Any]:
    """Run coroutines concurrently (a producer and its consumer); if one fails, cancel the others and
    raise that first error itself (not an ExceptionGroup)."""
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class GpgFilter:
    """A running ``gpg`` reading stdin and writing stdout. Use :func:`decrypting` or :func:`encrypting`.

    :param process: gpg, started with pipes for stdin, stdout and stderr (its status lines).
    :param own_key_ids: long key ids of the secret keys in gpg's home (reported in the outcome).
    """

    def __init__(self, process: asyncio.subprocess.Process, own_key_ids: frozenset[str] = frozenset()) -> None:
        self._process = process
        self._stderr_task = asyncio.ensure_future(self._collect_stderr())
        self._stderr_lines: list[str] = []
        self._output_bytes = 0
        self.own_key_ids = own_key_ids

    @property
    def pid(self) -> int:
        """gpg's process id."""
        return self._process.pid

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
        chunk = await self._process.stdout.read(PIPE_CHUNK)
        self._output_bytes += len(chunk)
        return chunk

    async def finish(self) -> GpgOutcome:
        """Wait for the process to exit; return its exit code, status lines and other messages."""
        returncode = await self._process.wait()
        await self._stderr_task
        status = [line for line in self._stderr_lines if line.startswith("[GNUPG:] ")]
        messages = [line for line in self._stderr_lines if not line.startswith("[GNUPG:] ")]
        return GpgOutcome(returncode, status, self.own_key_ids, messages, self._output_bytes)

    async def kill(self) -> None:
        """Kill gpg if it still runs (idempotent)."""
        if self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        with contextlib.suppress(Exception):
            await self._stderr_task


async def _start(home: Path, *args: str, own_key_ids: frozenset[str] = frozenset()) -> GpgFilter:
    argv = [
        GPG_BINARY,
        "--homedir",
        str(home),
        "--batch",
        "--no-tty",
        "--yes",  # (not --quiet: gpg then leaves out the ERROR status lines that name an algorithm it lacks)
        "--status-fd",
        "2",
        "--no-auto-key-retrieve",
        "--no-auto-key-locate",
        "--pinentry-mode",
        "error",  # our keys have no passphrase: never let gpg-agent ask anyone for one
        *args,
    ]
    # gpg's messages in English whatever the worker's locale: the verdict reads one of them (truncation)
    env = {**os.environ, "LC_ALL": "C", "LANGUAGE": "C"}
    try:
        return await start_filter(*argv, env=env, own_key_ids=own_key_ids)
    except OSError as e:  # gpg could not be run at all (gone since the home was made, out of processes)
        raise GpgUnavailableError(f"gpg could not start on this machine: {e}") from e


async def start_filter(
    *argv: str, env: dict[str, str] | None = None, own_key_ids: frozenset[str] = frozenset()
) -> GpgFilter:
    """Start an OpenPGP tool as a stdin -> stdout filter (no shell), its stderr collected.

    :param argv: the program and its arguments.
    :param env: its environment (None: this process's).
    :param own_key_ids: long key ids of the secret keys it was given (reported in the outcome).
    """
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=PIPE_CHUNK * 2,
        env=env,
    )
    _widen_pipes(process)
    return GpgFilter(process, own_key_ids)


def _widen_pipes(process: asyncio.subprocess.Process) -> None:
    """Give gpg's stdin and stdout pipes :data:`PIPE_CHUNK` of buffer (Linux; 64 KiB by default).

    Each pipe read or write then moves up to 1 MiB instead of 64 KiB: ~16x fewer system calls and event
    loop turns in the task process for the same bytes. Where the kernel refuses (another OS, or a lower
    ``/proc/sys/fs/pipe-max-size``) the default stays: only speed depends on it.
    """
    set_pipe_size = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    transport = getattr(process, "_transport", None)  # asyncio's, which owns the pipes
    if set_pipe_size is None or transport is None:
        return
    for fd_number in (0, 1):
        pipe_transport = transport.get_pipe_transport(fd_number)
        pipe = pipe_transport.get_extra_info("pipe") if pipe_transport is not None else None
        if pipe is None:
            continue
        with contextlib.suppress(OSError):
            fcntl.fcntl(pipe.fileno(), set_pipe_size, PIPE_CHUNK)


@contextlib.asynccontextmanager
async def decrypting(secret_keys: str, *, partner_public_key: str | None = None) -> AsyncIterator[GpgFilter]:
    """A gpg filter that decrypts with our inbound secret keys (and can verify the partner's signature).

    :param secret_keys: our armored inbound secret keys.
    :param partner_public_key: the partner's key, imported to verify signatures (None: not imported).
    :raises GpgStreamError: gpg kept no secret key of ours, or a partner key that does not import.
    :raises GpgUnavailableError: gpg or its gpg-agent does not start on this machine.
    """
    with temporary_gnupg_home(agent=True) as gpg:
        gpg.import_keys(secret_keys)
        secret = gpg.list_keys(secret=True)
        if not secret:
            raise GpgStreamError("gpg found no secret key in the connection's inbound_pgp_private_keys")
        if partner_public_key and not gpg.import_keys(partner_public_key).fingerprints:
            raise GpgStreamError("the partner's PGP key (needed to verify signatures) does not import")
        own_key_ids = frozenset(
            key_id for key in secret for key_id in [key["keyid"], *(sub[0] for sub in key.get("subkeys", []))]
        )
        process = await _start(Path(gpg.gnupghome), "--decrypt", own_key_ids=own_key_ids)
        try:
            yield process
        finally:
            await process.kill()


@contextlib.asynccontextmanager
async def encrypting(partner_public_key: str, *, armor: bool, compress: bool) -> AsyncIterator[tuple[GpgFilter, str]]:
    """A gpg filter that encrypts to the partner's key only; yields it with the key's fingerprint.

    :param partner_public_key: the partner's armored public key.
    :param armor: ASCII-armored output.
    :param compress: zlib level 1 (else no compression).
    :raises GpgStreamError: the key block does not hold exactly one key.
    """
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
