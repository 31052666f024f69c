"""Sequoia's ``sq`` as the second decryption backend, for the messages gpg 2.2 cannot read.

``sq encrypt`` pads its messages by default (a compressed packet followed by padding); gpg 2.2 opens the
session key, reads the data, then fails on the padding. When ``sq`` is installed on the worker, such a
file is decrypted again with it: still streaming (``sq`` withholds its last 25 MiB of output until the
integrity check passed, and its exit status is the verdict), still with our keys only, in a fresh 0700
folder that is removed afterwards. Without ``sq`` the file is refused, naming the partner-side fix.

``sq`` has no machine-readable status: its exit code decides decryption and integrity, and the signature
policy is checked from its summary lines (``1 good signature.``, ``1 unknown checksum.``), refusing any
signature that is not a good one by the partner's key (fail closed on wording this module does not know).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

from airflow_provider_actito_sftp.exceptions import GpgStreamError, SequoiaDecryptError
from airflow_provider_actito_sftp.pgp.armor import ascii_armor
from airflow_provider_actito_sftp.pgp.home import temporary_gnupg_home
from airflow_provider_actito_sftp.pgp.stream import DecryptOptions, GpgFilter, Sink, pump, start_filter, unwrap_into
from airflow_provider_actito_sftp.pgp.verdict import (
    NO_INTEGRITY,
    GpgOutcome,
    SignaturePolicy,
    check_unwrapping,
    inner_policy,
)

SQ_BINARY = "sq"
_COUNT = re.compile(r"^(\d+) ([a-z ]+?)s?$")  # "1 good signature", "2 unknown checksums"
_SUMMARY_WORDS = ("signature", "checksum")
_GOOD = "good signature"
# sq's refusal of encrypted data without integrity protection (a SED packet: "Symmetrically Encrypted Data
# Packet v0 is not considered secure since 2004-02-01"), said in our words as gpg's is (verdict.NO_INTEGRITY)
_NO_INTEGRITY = re.compile(r"Symmetrically Encrypted Data Packet|\bSED\b")


def sequoia_installed() -> bool:
    """Whether Sequoia's ``sq`` is on the PATH (then files gpg cannot read are decrypted with it)."""
    return shutil.which(SQ_BINARY) is not None


async def sequoia_decrypt_stream(blocks: AsyncIterable[bytes], sink: Sink, options: DecryptOptions) -> None:
    """Decrypt ``blocks`` into ``sink`` with ``sq`` and our inbound keys, applying the signature policy.

    :param blocks: the encrypted data; its errors propagate as they are.
    :param sink: receives the plaintext, before the verdict: discard it unless this returns.
    :param options: our keys and the signature policy.
    :raises SequoiaDecryptError: ``sq`` could not decrypt it either (its reason quoted).
    :raises GpgStreamError: the signature policy is not met.
    :raises OSError: ``sq`` was killed (a retry may succeed).
    """
    blocks = ascii_armor(blocks)  # armor a Windows tool wrote (a byte-order mark, UTF-16) as sq reads it
    if options.signed_outside:  # gpg unwraps the signed message, sq decrypts what it signed
        inner_options = dataclasses.replace(options, signature_policy=inner_policy(options.signature_policy))
        outer, outcome = await unwrap_into(blocks, sink, options, sequoia_decrypting(inner_options))
        check_unwrapping(outer, options.signature_policy, options.partner_fingerprint)
        check_sequoia_decryption(outcome, inner_options.signature_policy)
        return
    async with sequoia_decrypting(options) as sq:
        outcome = await pump(sq, blocks, sink)
    check_sequoia_decryption(outcome, options.signature_policy)


@contextlib.asynccontextmanager
async def sequoia_decrypting(options: DecryptOptions) -> AsyncIterator[GpgFilter]:
    """``sq decrypt`` as a filter, given our secret keys (and the partner's key to verify signatures).

    :param options: our keys and the signature policy.
    """
    recipient_flag, signer_flag = _flags()
    # A private folder like a GNUPGHOME (0700, swept if the process is killed): the key files live there.
    with temporary_gnupg_home() as gpg:
        folder = Path(gpg.gnupghome)
        argv = [SQ_BINARY, "decrypt", recipient_flag, str(_private_file(folder / "ours.asc", options.secret_keys))]
        if options.verifying_key:
            partner = _private_file(folder / "partner.asc", options.verifying_key)
            required = "1" if options.signature_policy is SignaturePolicy.REQUIRE else "0"
            argv += [signer_flag, str(partner), "--signatures", required]
        # sq may keep state under $HOME (a certificate store in later versions): keep it in this folder.
        env = {**os.environ, "HOME": str(folder), "SEQUOIA_HOME": str(folder)}
        process = await start_filter(*argv, env=env)
        try:
            yield process
        finally:
            await process.kill()


def check_sequoia_decryption(outcome: GpgOutcome, policy: SignaturePolicy) -> None:
    """Accept or refuse what ``sq decrypt`` reported.

    :param outcome: its exit code and stderr lines (``messages``).
    :param policy: what to require of the partner's signature.
    :raises GpgStreamError: decryption or integrity failed, or the signature policy is not met.
    """
    if outcome.returncode < 0:  # killed (out of memory?): this machine's trouble, not the file's; worth a retry
        raise OSError(f"Sequoia's sq was stopped by signal {-outcome.returncode}")
    failure = _reason(outcome.messages) if outcome.returncode != 0 else ""
    if _NO_INTEGRITY.search(failure):
        raise GpgStreamError(NO_INTEGRITY)
    if failure and "Verification failed" not in failure:  # decryption itself failed: that is the cause
        raise SequoiaDecryptError(f"Sequoia's sq could not decrypt it: {failure}")
    kinds = _signature_counts(outcome.messages)
    others = sorted(kind for kind in kinds if kind != _GOOD)
    if policy is not SignaturePolicy.IGNORE and any("bad" in kind for kind in others):
        raise GpgStreamError("the signature is BAD: the file was altered after signing (checked by Sequoia's sq)")
    if policy is not SignaturePolicy.IGNORE and others:
        raise GpgStreamError(f"signed, but not with the partner's configured key (sq: {', '.join(others)})")
    if policy is SignaturePolicy.REQUIRE and not kinds:
        raise GpgStreamError("unsigned, but the signature policy requires the partner's signature")
    if failure:
        raise SequoiaDecryptError(f"Sequoia's sq could not decrypt it: {failure}")


def _signature_counts(messages: list[str]) -> dict[str, int]:
    """sq's summary, e.g. ``1 good signature, 1 unknown checksum.`` as ``{"good signature": 1, "unknown
    checksum": 1}``; a summary part it cannot read counts as ``"unreadable summary"`` (never as good)."""
    counts: dict[str, int] = {}
    for line in messages:
        text = line.strip()
        if not text[:1].isdigit() or not any(word in text for word in _SUMMARY_WORDS):
            continue
        for part in text.removesuffix(".").split(", "):
            match = _COUNT.match(part)
            kind, number = (match.group(2), int(match.group(1))) if match else ("unreadable summary", 1)
            if number > 0:
                counts[kind] = counts.get(kind, 0) + number
    return counts


def _reason(messages: list[str]) -> str:
    """sq's error and its causes on one line (``Error: ...``, ``Caused by: ...``): about the file, never keys."""
    start = next((index for index, line in enumerate(messages) if line.startswith("Error:")), None)
    if start is None:
        return "no reason given"
    lines = [line.strip() for line in messages[start:] if line.strip() and line.strip() != "Caused by:"]
    return "; ".join(line.removeprefix("Error: ") for line in lines)[:300]


@functools.cache
def _flags() -> tuple[str, str]:
    """The flags naming the key files: ``--recipient-key``/``--signer-cert`` up to sq 0.x,
    ``--recipient-file``/``--signer-file`` from sq 1.0."""
    usage = subprocess.run([SQ_BINARY, "decrypt", "--help"], capture_output=True, text=True, timeout=30, check=False)
    if "--recipient-file" in usage.stdout:
        return "--recipient-file", "--signer-file"
    return "--recipient-key", "--signer-cert"


def _private_file(path: Path, text: str) -> Path:
    """Write ``text`` to a new file only its owner can read."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path
