"""The verdicts on gpg's status lines, from hand-written reports shaped like gpg 2.2's (no gpg runs)."""

from __future__ import annotations

import pytest

from airflow_provider_actito_sftp.exceptions import GpgIntegrityError, GpgStreamError
from airflow_provider_actito_sftp.pgp.verdict import (
    NO_INTEGRITY,
    UNSIGNED,
    GpgOutcome,
    SignaturePolicy,
    check_decryption,
    check_encryption,
)

OUR_SUBKEY = "1111111111111111"
PRIMARY = "A" * 40
PARTNER = "B" * 40
OTHER = "C" * 40
STRANGER_KEY = "2222222222222222"

DECRYPTED = [
    f"ENC_TO {OUR_SUBKEY} 18 0",
    f"DECRYPTION_KEY {'D' * 40} {PRIMARY} u",
    "BEGIN_DECRYPTION",
    "DECRYPTION_INFO 2 9 0",
    "PLAINTEXT 62 0",
    "DECRYPTION_OKAY",
    "GOODMDC",
    "END_DECRYPTION",
]
SYMMETRIC = ["NEED_PASSPHRASE_SYM 9 3 8", "BEGIN_DECRYPTION", "DECRYPTION_FAILED", "END_DECRYPTION"]


def _outcome(*keywords: str, returncode: int = 0, own: frozenset[str] = frozenset({OUR_SUBKEY})) -> GpgOutcome:
    """What gpg reports with these status keywords, having written 300,000 bytes (the padding cases'
    ``PLAINTEXT_LENGTH``)."""
    return GpgOutcome(returncode, [f"[GNUPG:] {line}" for line in keywords], own, output_bytes=300_000)


def _signed(fingerprint: str) -> list[str]:
    """Status lines of a good signature by the key with this primary fingerprint."""
    return [
        "NEWSIG",
        f"GOODSIG {fingerprint[-16:]} Partner <p@example.com>",
        f"VALIDSIG {fingerprint} 2024-01-01 1704067200 0 4 0 22 10 00 {fingerprint}",
    ]


def test_the_report_is_read_by_keyword():
    outcome = _outcome("ENC_TO AAAA 1 0", "ENC_TO BBBB 18 0", "DECRYPTION_OKAY")
    assert outcome.has("DECRYPTION_OKAY")
    assert not outcome.has("DECRYPTION")
    assert outcome.every("ENC_TO") == [["AAAA", "1", "0"], ["BBBB", "18", "0"]]
    assert outcome.first("ENC_TO") == ["AAAA", "1", "0"]
    assert outcome.first("GOODMDC") is None


def test_a_complete_integrity_checked_decryption_is_accepted_and_names_our_primary_key():
    assert check_decryption(_outcome(*DECRYPTED), SignaturePolicy.IGNORE, None) == PRIMARY


def test_aead_stands_for_the_mdc():
    aead = [line for line in DECRYPTED if line != "GOODMDC" and not line.startswith("DECRYPTION_INFO")]
    assert check_decryption(_outcome(*aead, "DECRYPTION_INFO 0 9 2"), SignaturePolicy.IGNORE, None) == PRIMARY


@pytest.mark.parametrize(
    ("lines", "returncode", "own", "reason"),
    [
        (SYMMETRIC, 2, frozenset({OUR_SUBKEY}), r"^encrypted with a passphrase \(symmetric\)"),
        ([f"ENC_TO {STRANGER_KEY} 18 0", "BEGIN_DECRYPTION", "END_DECRYPTION"], 2, None, "not encrypted to any"),
        ([f"ENC_TO {STRANGER_KEY} 18 0", "NO_SECKEY " + STRANGER_KEY], 2, frozenset(), "not encrypted to any"),
        (["NODATA 1"], 2, None, "^not PGP-encrypted data"),
        ([*DECRYPTED[:3], "BADMDC", "END_DECRYPTION"], 2, None, "^integrity check failed"),
        ([*DECRYPTED[:3], "DECRYPTION_FAILED", "END_DECRYPTION"], 2, None, "^integrity check failed"),
        ([line for line in DECRYPTED if line != "GOODMDC"], 0, None, "did not complete with an integrity check"),
        ([line for line in DECRYPTED if line != "END_DECRYPTION"], 0, None, "did not complete"),
        (DECRYPTED, 2, None, "did not complete"),
        (  # what gpg 2.2 reports for rnp --cipher SM4 (algorithm 105), which it does not know
            [f"ENC_TO {OUR_SUBKEY} 18 0", "ERROR pkdecrypt_failed 33554444", "BEGIN_DECRYPTION", "DECRYPTION_FAILED"],
            2,
            None,
            "^encrypted to our key, but with a cipher gpg does not support",
        ),
        (  # what gpg 2.2 reports for a file sq encrypted with its default padding
            [*DECRYPTED[:5], "PLAINTEXT_LENGTH 300000", "NODATA 3", "BADMDC", "DECRYPTION_FAILED", "END_DECRYPTION"],
            2,
            None,
            "^the data decrypted, but gpg could not read the packets after it: most likely the padding",
        ),
        (  # the same, when the padding's random bytes happen to leave the MDC check passing
            [*DECRYPTED[:5], "PLAINTEXT_LENGTH 300000", "NODATA 3", "DECRYPTION_OKAY", "GOODMDC", "END_DECRYPTION"],
            0,
            None,
            "^the data decrypted, but gpg could not read the packets after it",
        ),
        (  # the same, when gpg reads the padding as a passphrase-encrypted message of its own
            [*DECRYPTED[:5], "NODATA 3", "BADMDC", "END_DECRYPTION", "BEGIN_DECRYPTION", "NEED_PASSPHRASE_SYM 3 3 2"],
            2,
            None,
            "^the data decrypted, but gpg could not read the packets after it",
        ),
        (  # the same, when gpg just stops after writing all of the data (no NODATA, no BADMDC)
            [*DECRYPTED[:5], "PLAINTEXT_LENGTH 300000"],
            2,
            None,
            "^the data decrypted, but gpg could not read the packets after it",
        ),
    ],
    ids=[
        "passphrase",
        "foreign-key",
        "no-seckey",
        "not-pgp",
        "bad-mdc",
        "failed",
        "no-mdc",
        "no-end",
        "exit-code",
        "unknown-cipher",
        "sequoia-padding",
        "sequoia-padding-mdc-passes",
        "sequoia-padding-read-as-a-message",
        "sequoia-padding-then-nothing",
    ],
)
def test_refusals(lines: list[str], returncode: int, own: frozenset[str] | None, reason: str):
    outcome = _outcome(*lines, returncode=returncode, own=frozenset({OUR_SUBKEY}) if own is None else own)
    with pytest.raises(GpgStreamError, match=reason):
        check_decryption(outcome, SignaturePolicy.IGNORE, None)


def test_a_passphrase_packet_beside_our_key_decrypts_with_our_key():
    assert check_decryption(_outcome("NEED_PASSPHRASE_SYM 9 3 8", *DECRYPTED), SignaturePolicy.IGNORE, None) == PRIMARY


def test_a_signature_gpg_cannot_check_is_not_a_decryption_failure_when_ignored():
    outcome = _outcome(*DECRYPTED, "NEWSIG", f"ERRSIG {PARTNER[-16:]} 22 10 00 1704067200 9 -", returncode=2)
    assert check_decryption(outcome, SignaturePolicy.IGNORE, None) == PRIMARY


@pytest.mark.parametrize(
    ("policy", "signature", "reason"),
    [
        (SignaturePolicy.IGNORE, ["NEWSIG", f"BADSIG {PARTNER[-16:]} Partner"], None),
        (SignaturePolicy.ACCEPT, [], None),
        (SignaturePolicy.ACCEPT, _signed(PARTNER), None),
        (SignaturePolicy.ACCEPT, _signed(OTHER), "^signed, but not with the partner's configured key$"),
        (SignaturePolicy.ACCEPT, ["NEWSIG", f"BADSIG {PARTNER[-16:]} Partner"], "^the signature is BAD"),
        (SignaturePolicy.ACCEPT, ["NEWSIG", f"ERRSIG {OTHER[-16:]} 22 10 00 1704067200 9 -"], "^signed, but not"),
        (SignaturePolicy.REQUIRE, _signed(PARTNER), None),
        (SignaturePolicy.REQUIRE, [], "^unsigned, but the signature policy requires"),
        (SignaturePolicy.REQUIRE, _signed(OTHER), "^signed, but not with the partner's configured key$"),
    ],
)
def test_signature_policy(policy: SignaturePolicy, signature: list[str], reason: str | None):
    returncode = 1 if any(line.startswith(("BADSIG", "ERRSIG")) for line in signature) else 0
    outcome = _outcome(*DECRYPTED, *signature, returncode=returncode)
    if reason is None:
        assert check_decryption(outcome, policy, PARTNER) == PRIMARY
    else:
        with pytest.raises(GpgStreamError, match=reason):
            check_decryption(outcome, policy, PARTNER)


@pytest.mark.parametrize(
    ("policy", "signature", "said"),
    [
        (SignaturePolicy.ACCEPT, _signed(PARTNER), "signed, but the connection has no usable partner PGP key"),
        (SignaturePolicy.REQUIRE, _signed(PARTNER), "signed, but the connection has no usable partner PGP key"),
        (SignaturePolicy.REQUIRE, [], "the signature policy requires a signature, but the connection has no usable"),
    ],
)
def test_without_a_partner_key_the_refusal_says_so_and_names_the_fix(
    policy: SignaturePolicy, signature: list[str], said: str
):
    """Issue 26, point 8: not "not signed with the partner's key" but "no partner key", and how to set one."""
    with pytest.raises(GpgStreamError) as refused:
        check_decryption(_outcome(*DECRYPTED, *signature), policy, None)
    assert str(refused.value).startswith(said)
    assert "actito-sftp partner-key set CONN_ID FILE" in str(refused.value)
    assert "not with the partner's configured key" not in str(refused.value)


def test_an_unsigned_file_under_require_is_refused_in_the_words_the_import_waits_on():
    with pytest.raises(GpgStreamError) as refused:
        check_decryption(_outcome(*DECRYPTED), SignaturePolicy.REQUIRE, PARTNER)
    assert str(refused.value) == UNSIGNED  # the import then waits for a detached signature (transfer/signatures)


def test_encryption_is_accepted_only_when_gpg_completed_it():
    check_encryption(_outcome("BEGIN_ENCRYPTION 2 9", "END_ENCRYPTION"))
    with pytest.raises(GpgStreamError, match=r"^gpg could not encrypt \(exit 2\)$"):
        check_encryption(_outcome("BEGIN_ENCRYPTION 2 9", "END_ENCRYPTION", returncode=2))
    with pytest.raises(GpgStreamError, match=r"^gpg could not encrypt \(exit 0\)$"):
        check_encryption(_outcome("BEGIN_ENCRYPTION 2 9"))


def test_a_truncated_file_is_named_as_such():
    """gpg says it reached the end of the input inside a packet ("problem reading source"), in the C locale."""
    lines = [*DECRYPTED[:4], "PLAINTEXT_LENGTH 200000", "BADMDC", "DECRYPTION_FAILED", "END_DECRYPTION"]
    outcome = _outcome(*lines, returncode=2)
    outcome.messages = ["gpg: problem reading source (11704 bytes remaining)", "gpg: block_filter: pending bytes!"]
    with pytest.raises(GpgStreamError, match=r"^truncated: the file ends inside an OpenPGP packet") as raised:
        check_decryption(outcome, SignaturePolicy.IGNORE, None)
    assert isinstance(raised.value, GpgIntegrityError)  # our key opened it: sq may still be asked


def test_a_file_whose_integrity_gpg_checked_is_not_called_unprotected_whatever_its_decryption_info() -> None:
    # what gpg 2.2.40 reports for rnp --aead=EAX (and OCB): "DECRYPTION_INFO 0 9 0", then GOODMDC
    lines = [*DECRYPTED[:3], "DECRYPTION_INFO 0 9 0", "PLAINTEXT 62 0", "DECRYPTION_OKAY", "GOODMDC", "END_DECRYPTION"]
    check_decryption(_outcome(*lines), SignaturePolicy.IGNORE, None)  # no refusal


@pytest.mark.parametrize(
    ("lines", "returncode"),
    [
        (  # what gpg 2.2.40 reports for gpg --rfc2440 --cipher-algo AES256 (no MDC: a SED packet)
            [*DECRYPTED[:3], "DECRYPTION_INFO 0 9 0", "PLAINTEXT 62 0", "PLAINTEXT_LENGTH 300000",
             "DECRYPTION_FAILED", "END_DECRYPTION"],
            2,
        ),
        (  # ... and with a legacy cipher (CAST5), which it names
            [*DECRYPTED[:3], "DECRYPTION_INFO 0 3 0", "PLAINTEXT 62 0", "PLAINTEXT_LENGTH 300000",
             "ERROR nomdc_with_legacy_cipher 152", "DECRYPTION_FAILED", "END_DECRYPTION"],
            2,
        ),
        (  # a gpg that decrypted it all the same (--ignore-mdc-error in a gpg.conf)
            [*DECRYPTED[:3], "DECRYPTION_INFO 0 9 0", "PLAINTEXT 62 0", "DECRYPTION_OKAY", "END_DECRYPTION"],
            0,
        ),
    ],
    ids=["aes256", "cast5", "decrypted-anyway"],
)  # fmt: skip
def test_no_integrity_protection_is_refused_in_our_words_without_a_second_opinion(lines: list[str], returncode: int):
    with pytest.raises(GpgStreamError) as refused:
        check_decryption(_outcome(*lines, returncode=returncode), SignaturePolicy.IGNORE, None)
    assert str(refused.value) == NO_INTEGRITY
    assert type(refused.value) is GpgStreamError  # not GpgIntegrityError: sq is not asked to read it again
