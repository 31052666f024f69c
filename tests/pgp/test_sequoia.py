"""Sequoia's ``sq`` as the second decryption backend, on real files a partner made with ``sq encrypt``'s
defaults (padded): exact plaintext, integrity failures refused, the signature policy applied as with gpg."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.exceptions import GpgStreamError
from airflow_provider_actito_sftp.pgp.keys import export_newest_public_key, generate_inbound_key
from airflow_provider_actito_sftp.pgp.sequoia import check_sequoia_decryption, sequoia_decrypt_stream
from airflow_provider_actito_sftp.pgp.stream import DecryptOptions
from airflow_provider_actito_sftp.pgp.verdict import NO_INTEGRITY, GpgOutcome, SignaturePolicy
from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.openpgp_tools import PartnerSq, installed

pytestmark = pytest.mark.skipif(not installed("sq"), reason="sq is not installed (.ci/run installs it)")


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """Our inbound secret keys, and our public key as the file a partner encrypts to."""
    secret_keys, _ = generate_inbound_key("sequoia_test")
    public = tmp_path_factory.mktemp("ours") / "ours.asc"
    public.write_text(export_newest_public_key(secret_keys)[0])
    return secret_keys, public


@pytest.fixture(scope="module")
def partner(tmp_path_factory: pytest.TempPathFactory) -> tuple[PartnerSq, Path, Path]:
    """A partner with sq: its tool, signing key and certificate."""
    tool = PartnerSq(tmp_path_factory.mktemp("partner"))
    secret, cert = tool.generate("acme")
    return tool, secret, cert


def decrypt(encrypted: Path, options: DecryptOptions) -> bytes:
    output = bytearray()

    async def blocks() -> AsyncIterator[bytes]:
        with encrypted.open("rb") as handle:
            while block := handle.read(65536):
                yield block

    asyncio.run(asyncio.wait_for(sequoia_decrypt_stream(blocks(), output.extend, options), 60))
    return bytes(output)


def test_a_padded_sq_file_decrypts_byte_for_byte(ours: tuple[str, Path], partner, tmp_path: Path) -> None:
    tool = partner[0]
    plaintext = tmp_path / "customers.csv"
    plaintext.write_bytes(os.urandom(300_000))
    encrypted = tool.encrypt(ours[1], plaintext, tmp_path / "customers.csv.pgp")  # sq's defaults: padded
    assert decrypt(encrypted, DecryptOptions(ours[0])) == plaintext.read_bytes()


def test_a_flipped_byte_is_refused_with_sqs_reason(ours: tuple[str, Path], partner, tmp_path: Path) -> None:
    plaintext = tmp_path / "customers.csv"
    plaintext.write_bytes(os.urandom(300_000))
    encrypted = partner[0].encrypt(ours[1], plaintext, tmp_path / "customers.csv.pgp")
    data = bytearray(encrypted.read_bytes())
    data[len(data) // 2] ^= 0x01
    encrypted.write_bytes(bytes(data))
    with pytest.raises(GpgStreamError, match=r"^Sequoia's sq could not decrypt it: "):
        decrypt(encrypted, DecryptOptions(ours[0]))


def test_a_file_for_another_key_is_refused(partner, tmp_path: Path) -> None:
    tool, _, cert = partner
    plaintext = tmp_path / "customers.csv"
    plaintext.write_text("id\n1\n")
    encrypted = tool.encrypt(cert, plaintext, tmp_path / "customers.csv.pgp")  # to the partner's own key
    secret_keys, _ = generate_inbound_key("someone_else")
    with pytest.raises(
        GpgStreamError, match=r"^Sequoia's sq could not decrypt it: Decryption failed; No key to decrypt message$"
    ):
        decrypt(encrypted, DecryptOptions(secret_keys))


@pytest.mark.parametrize(
    ("signer", "policy", "refused"),
    [
        ("partner", SignaturePolicy.REQUIRE, None),
        ("partner", SignaturePolicy.ACCEPT, None),
        (None, SignaturePolicy.ACCEPT, None),
        (None, SignaturePolicy.REQUIRE, "unsigned, but the signature policy requires"),
        ("other", SignaturePolicy.ACCEPT, "signed, but not with the partner's configured key"),
        ("other", SignaturePolicy.REQUIRE, "signed, but not with the partner's configured key"),
        ("other", SignaturePolicy.IGNORE, None),
    ],
)
def test_the_signature_policy_is_applied_as_with_gpg(
    signer: str | None, policy: SignaturePolicy, refused: str | None, ours: tuple[str, Path], partner, tmp_path: Path
) -> None:
    tool, partner_secret, partner_cert = partner
    other_secret, _ = PartnerSq(tmp_path / "other").generate("other")
    plaintext = tmp_path / "customers.csv"
    plaintext.write_bytes(os.urandom(200_000))
    signing = {"partner": ["--signer-key", str(partner_secret)], "other": ["--signer-key", str(other_secret)]}
    encrypted = tool.encrypt(ours[1], plaintext, tmp_path / "customers.csv.pgp", *signing.get(signer or "", []))
    options = DecryptOptions(ours[0], policy, partner_cert.read_text())
    if refused is None:
        assert decrypt(encrypted, options) == plaintext.read_bytes()
    else:
        with pytest.raises(GpgStreamError, match=refused):
            decrypt(encrypted, options)


@pytest.mark.parametrize(
    ("messages", "returncode", "refused"),
    [
        (["1 bad signature.", "Error: Decryption failed", "", "Caused by:", "    Verification failed"], 1, "is BAD"),
        (["1 good signature.", "1 broken signatures."], 0, r"not with the partner's configured key \(sq: broken"),
        (["1 good signature, 1 unknown checksum."], 0, r"not with the partner's configured key \(sq: unknown checksum"),
        (["2 good signatures, some unknown checksums."], 0, r"partner's configured key \(sq: unreadable summary\)"),
        (["Error: Decryption failed", "", "Caused by:", "    Message has been manipulated"], 1, "manipulated"),
        (["Some wording sq never printed before."], 1, "no reason given"),
    ],
)
def test_sq_summaries_are_read_failing_closed(messages: list[str], returncode: int, refused: str) -> None:
    with pytest.raises(GpgStreamError, match=refused):
        check_sequoia_decryption(GpgOutcome(returncode, messages=messages), SignaturePolicy.ACCEPT)


def test_sq_killed_is_a_retryable_failure_not_a_refusal() -> None:
    with pytest.raises(OSError, match="stopped by signal 9"):
        check_sequoia_decryption(GpgOutcome(-9, messages=[]), SignaturePolicy.IGNORE)


# --- files as some partners' tools write them (issue 26) ---------------------------------------------------


def test_utf16_armor_decrypts_byte_for_byte(ours: tuple[str, Path], partner, tmp_path: Path) -> None:
    """sq encrypt --armor's output saved as UTF-16 with its byte-order mark (as PowerShell's Out-File writes)."""
    plaintext = tmp_path / "customers.csv"
    plaintext.write_bytes(os.urandom(100_000))
    armored = partner[0].encrypt(ours[1], plaintext, tmp_path / "customers.csv.asc")
    armored.write_bytes(armored.read_text().replace("\n", "\r\n").encode("utf-16"))
    assert decrypt(armored, DecryptOptions(ours[0])) == plaintext.read_bytes()


def test_a_file_without_integrity_protection_is_refused_in_the_same_words_as_with_gpg(
    ours: tuple[str, Path], tmp_path: Path
) -> None:
    plaintext = tmp_path / "customers.csv"
    plaintext.write_text("id\n1\n")
    with PartnerGpg() as gpg:
        gpg.gpg("--rfc2440", "--cipher-algo", "AES256", "--encrypt", "--recipient-file", str(ours[1]),
                "--output", str(tmp_path / "customers.csv.pgp"), str(plaintext))  # fmt: skip
    with pytest.raises(GpgStreamError) as refused:
        decrypt(tmp_path / "customers.csv.pgp", DecryptOptions(ours[0]))
    assert str(refused.value) == NO_INTEGRITY


def test_sqs_refusal_of_a_file_without_integrity_protection_is_said_in_our_words() -> None:
    """sq 0.27's words (sequoia-openpgp 1.x's policy), whatever the signature policy."""
    messages = [
        "Error: Decryption failed",
        "",
        "Caused by:",
        "    0: Policy rejected packet type",
        "    1: Symmetrically Encrypted Data Packet v0 is not considered secure since 2004-02-01T00:00:00Z",
    ]
    for policy in SignaturePolicy:
        with pytest.raises(GpgStreamError) as refused:
            check_sequoia_decryption(GpgOutcome(1, messages=messages), policy)
        assert str(refused.value) == NO_INTEGRITY
