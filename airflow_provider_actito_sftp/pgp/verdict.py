"""What gpg's ``--status-fd`` lines mean: accept or refuse a decryption, an encryption, a signature.

Only the status lines decide: gpg's exit code alone says too little (it is non-zero for a signature it
could not check, and it does not tell a passphrase-encrypted file from a tampered one). Import-light on
purpose: operators import :class:`SignaturePolicy` when a DAG file is parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from airflow_provider_actito_sftp.exceptions import GpgIntegrityError, GpgStreamError


class SignaturePolicy(StrEnum):
    """What to do with signatures on inbound files."""

    IGNORE = "ignore"  # decrypt; signatures are not checked
    ACCEPT = "accept"  # unsigned is fine; a signature must be valid and by the partner's key
    REQUIRE = "require"  # a valid signature by the partner's key is required


@dataclass
class GpgOutcome:
    """What gpg reported.

    :param returncode: gpg's exit code.
    :param status_lines: its ``[GNUPG:] KEYWORD args...`` lines, in order.
    :param own_key_ids: long key ids of the secret keys gpg had (primary keys and subkeys).
    :param messages: its other stderr lines (what Sequoia's ``sq``, which has no status lines, reports).
    :param output_bytes: how many bytes it wrote to its output.
    """

    returncode: int
    status_lines: list[str] = field(default_factory=list)
    own_key_ids: frozenset[str] = frozenset()
    messages: list[str] = field(default_factory=list)
    output_bytes: int | None = None

    def has(self, keyword: str) -> bool:
        """Whether any status line has this keyword.

        :param keyword: e.g. ``"DECRYPTION_OKAY"``.
        """
        return self.first(keyword) is not None

    def every(self, keyword: str) -> list[list[str]]:
        """The arguments of every status line with this keyword, in order.

        :param keyword: e.g. ``"ENC_TO"``.
        """
        return [words[2:] for words in map(str.split, self.status_lines) if words[1:2] == [keyword]]

    def first(self, keyword: str) -> list[str] | None:
        """The arguments of the first status line with this keyword, or None if there is none.

        :param keyword: e.g. ``"VALIDSIG"``.
        """
        return next(iter(self.every(keyword)), None)


def check_encryption(outcome: GpgOutcome) -> None:
    """Accept what gpg reported for an encryption.

    :param outcome: what gpg reported for an encrypting run.
    :raises GpgStreamError: gpg failed or did not finish the encryption.
    """
    if outcome.returncode != 0 or not outcome.has("END_ENCRYPTION"):
        raise GpgStreamError(f"gpg could not encrypt (exit {outcome.returncode})")


def check_decryption(outcome: GpgOutcome, policy: SignaturePolicy, partner_fingerprint: str | None) -> str | None:
    """Accept or refuse what gpg reported for a decryption; return the decrypting primary key fingerprint.

    Accepted only with ``DECRYPTION_OKAY``, an integrity check (MDC or AEAD) and the signature policy met.

    :param outcome: what gpg reported for a decrypting run.
    :param policy: what to require of the partner's signature.
    :param partner_fingerprint: the partner's signing key, if configured.
    :raises GpgStreamError: not PGP, encrypted with a passphrase, not for our keys, integrity failure, or
        the signature policy failed.
    """
    _check_recipients(outcome)
    if _without_integrity(outcome):  # gpg then fails it after the data, which reads like sq's padding
        raise GpgStreamError(NO_INTEGRITY)
    if _unreadable_after_the_data(outcome):
        raise GpgIntegrityError(SEQUOIA_PADDING, _decrypting_fingerprint(outcome), padding=True)
    if outcome.has("NODATA") or not outcome.has("BEGIN_DECRYPTION"):
        raise GpgStreamError("not PGP-encrypted data (plaintext or damaged)")
    unopened = _session_key_unopened(outcome)
    if unopened:
        raise GpgStreamError(f"{unopened}: ask the partner to encrypt with AES-256, their tool's default")
    if _ends_inside_a_packet(outcome):
        raise _damaged(
            outcome,
            "truncated: the file ends inside an OpenPGP packet, before the length its header announces (cut "
            "short in transit, or copied before it was complete?): ask the partner to send it again",
        )
    if outcome.has("BADMDC") or outcome.has("DECRYPTION_FAILED"):
        raise _damaged(outcome, "integrity check failed: the file is truncated, corrupted or tampered")
    if not _completed_with_integrity(outcome):
        raise _damaged(outcome, "decryption did not complete with an integrity check: truncated, corrupted or tampered")
    check_signature(outcome, policy, partner_fingerprint)
    return _decrypting_fingerprint(outcome)


SEQUOIA_PADDING = (
    "the data decrypted, but gpg could not read the packets after it: most likely the padding Sequoia's "
    "`sq encrypt` adds by default, which this gpg (2.2) cannot read (a damaged file reads the same); ask "
    "the partner to encrypt with `sq encrypt --compression none` (or zlib), or with gpg; or install Sequoia's "
    "`sq` on the workers, which then decrypts such files"
)


NO_INTEGRITY = (
    "encrypted without integrity protection (no MDC: an old tool, or an option such as gpg's --rfc2440), so a "
    "change to it would go unnoticed: ask the partner to encrypt with a current OpenPGP tool at its default "
    "settings, which add integrity protection"
)


def _without_integrity(outcome: GpgOutcome) -> bool:
    """Whether our key opened encrypted data that has no integrity protection: a Symmetrically Encrypted Data
    packet (``DECRYPTION_INFO 0 <cipher>``: no MDC method, no AEAD), which gpg decrypts and then fails."""
    if outcome.has("GOODMDC"):  # checked after all: rnp's --aead files read by gpg 2.2 report "0 9 0" too
        return False
    info = outcome.first("DECRYPTION_INFO")
    return info is not None and info[:1] == ["0"] and info[2:3] in ([], ["0"])


def _damaged(outcome: GpgOutcome, reason: str) -> GpgStreamError:
    """The refusal of a file gpg found damaged; where our key opened it, a second implementation may still
    read what gpg cannot (:class:`GpgIntegrityError`)."""
    if outcome.has("DECRYPTION_KEY"):
        return GpgIntegrityError(reason, _decrypting_fingerprint(outcome), padding=False)
    return GpgStreamError(reason)


def _decrypting_fingerprint(outcome: GpgOutcome) -> str | None:
    """The primary key fingerprint of ours that opened the session key (``DECRYPTION_KEY``)."""
    key = outcome.first("DECRYPTION_KEY")
    return key[1] if key and len(key) >= 2 else None


def check_unwrapping(outcome: GpgOutcome, policy: SignaturePolicy, partner_fingerprint: str | None) -> None:
    """Accept what gpg reported for the signed message around an encrypted one (the signature outside).

    The data it passed on is decrypted and integrity-checked by a second gpg; here the signed message
    must have been read to its end and the signature policy met.

    :param outcome: what gpg reported for the outer, signed message.
    :param policy: what to require of the partner's signature.
    :param partner_fingerprint: the partner's signing key, if configured.
    :raises GpgStreamError: the signed message is truncated or damaged, or the policy failed.
    """
    # gpg exits non-zero for a signature it could not check (no key under the "ignore" policy): the policy's call.
    signature_only = outcome.has("ERRSIG") or outcome.has("BADSIG")
    if not outcome.has("PLAINTEXT") or (outcome.returncode != 0 and not signature_only):
        raise GpgStreamError(
            "signed around an encrypted message, but gpg could not read the signed message to its end: "
            "truncated or damaged"
        )
    check_signature(outcome, policy, partner_fingerprint)


def inner_policy(policy: SignaturePolicy) -> SignaturePolicy:
    """The policy for a signature inside a message whose outer signature met ``policy``: any signature
    there must be the partner's too, unless signatures are ignored."""
    return SignaturePolicy.IGNORE if policy is SignaturePolicy.IGNORE else SignaturePolicy.ACCEPT


def check_signature(outcome: GpgOutcome, policy: SignaturePolicy, partner_fingerprint: str | None) -> None:
    """Apply the signature policy to what gpg reported.

    :param outcome: what gpg reported for a decrypting run (with the partner's key imported to verify).
    :param policy: what to require of the partner's signature.
    :param partner_fingerprint: the partner's signing key, if configured.
    :raises GpgStreamError: a bad signature, one by another key, or none where one is required.
    """
    if policy is SignaturePolicy.IGNORE:
        return
    signed = any(outcome.has(keyword) for keyword in ("NEWSIG", "GOODSIG", "BADSIG", "ERRSIG"))
    valid = outcome.first("VALIDSIG")
    signer = valid[-1] if valid else None
    if outcome.has("BADSIG"):
        raise GpgStreamError("the signature is BAD: the file was altered after signing")
    if partner_fingerprint is None and (signed or policy is SignaturePolicy.REQUIRE):
        raise GpgStreamError(f"{'signed' if signed else 'the signature policy requires a signature'}, {NO_PARTNER_KEY}")
    if signed and signer != partner_fingerprint:
        raise GpgStreamError("signed, but not with the partner's configured key")
    if policy is SignaturePolicy.REQUIRE and signer is None:
        raise GpgStreamError(UNSIGNED)


UNSIGNED = "unsigned, but the signature policy requires the partner's signature"
NO_PARTNER_KEY = (
    "but the connection has no usable partner PGP key to check signatures with (none configured, or it no longer "
    "validates: expired, revoked): set the partner's current public key (`actito-sftp partner-key set CONN_ID "
    "FILE`, or the connection page)"
)


def _check_recipients(outcome: GpgOutcome) -> None:
    """Refuse a message that none of our keys could open: passphrase-only, or for someone else's key."""
    # gpg 2.2 in batch mode does not always say NO_SECKEY: compare the recipients with our key ids.
    recipients = {words[0] for words in outcome.every("ENC_TO") if words}
    decrypted = outcome.has("DECRYPTION_OKAY")
    # A passphrase (SKESK) packet that none of our keys could bypass: gpg asked for the passphrase, was
    # refused (batch, no pinentry) and then reports DECRYPTION_FAILED, which reads like tampering.
    if outcome.has("NEED_PASSPHRASE_SYM") and not recipients & outcome.own_key_ids and not decrypted:
        raise GpgStreamError(
            "encrypted with a passphrase (symmetric), not to our PGP key: ask the partner to encrypt to our public key"
        )
    known = bool(outcome.own_key_ids and recipients)
    wrong_key = not recipients & outcome.own_key_ids if known else outcome.has("NO_SECKEY")
    if wrong_key and not decrypted:
        raise GpgStreamError("not encrypted to any of our inbound PGP keys (a retired or foreign key?)")


def _unreadable_after_the_data(outcome: GpgOutcome) -> bool:
    """gpg opened the session key and wrote all of the literal data, then failed on what follows it: what a
    padding packet (sq's default) looks like to gpg 2.2. Depending on the padding's random bytes it then
    finds no valid packet (NODATA), reports the integrity check failed or passed, reads the padding as the
    start of another message, or just stops. A truncated file or a flipped byte in compressed data stops
    within the data; a flipped byte in uncompressed data fails the MDC (BADMDC) without NODATA."""
    keywords = [words[1] for words in map(str.split, outcome.status_lines) if len(words) > 1]
    if "PLAINTEXT" not in keywords or "DECRYPTION_KEY" not in keywords:
        return False
    if "NODATA" in keywords[keywords.index("PLAINTEXT") :]:
        return True
    length = outcome.first("PLAINTEXT_LENGTH")
    whole = bool(length and length[0].isdigit() and int(length[0]) == outcome.output_bytes)
    return whole and not outcome.has("BADMDC") and not _completed_with_integrity(outcome)


_SOURCE_ENDED = re.compile(r"problem reading source \(\d+ bytes remaining\)")


def _ends_inside_a_packet(outcome: GpgOutcome) -> bool:
    """gpg reached the end of the input while a packet still expected bytes ("problem reading source (N bytes
    remaining)": N counts what is left of the packet's current chunk, not of the file)."""
    return any(_SOURCE_ENDED.search(line) for line in outcome.messages)


# libgpg-error codes (the low 16 bits of the code in gpg's "ERROR <where> <code>" status line)
_UNSUPPORTED = {4: "a public key algorithm", 5: "a digest algorithm", 12: "a cipher"}


def _session_key_unopened(outcome: GpgOutcome) -> str | None:
    """Why gpg could not open the session key of a file encrypted to our key: an algorithm it lacks (named
    in its ``ERROR pkdecrypt_failed <code>`` status line, which gpg writes unless ``--quiet``), or None."""
    for words in outcome.every("ERROR"):
        if len(words) >= 2 and words[0] in ("pkdecrypt_failed", "decrypt.algorithm") and words[1].isdigit():
            kind = _UNSUPPORTED.get(int(words[1]) & 0xFFFF)
            if kind:
                return f"encrypted to our key, but with {kind} gpg does not support (e.g. rnp's SM4 cipher)"
    return None


def _completed_with_integrity(outcome: GpgOutcome) -> bool:
    """Whether gpg decrypted everything and checked its integrity (MDC, or an AEAD mode)."""
    info = outcome.first("DECRYPTION_INFO")
    aead = bool(info and len(info) >= 3 and info[2] != "0")
    integrity = outcome.has("GOODMDC") or aead
    # gpg exits non-zero when it cannot check a signature (no key imported under the "ignore" policy);
    # that is the signature policy's call, not a decryption failure.
    signature_only = outcome.has("ERRSIG") or outcome.has("BADSIG")
    failed = outcome.returncode != 0 and not signature_only
    return not failed and outcome.has("DECRYPTION_OKAY") and outcome.has("END_DECRYPTION") and integrity
