"""gpg as a streaming filter, with the real gpg: the pump's error handling, a round trip, and what the
stream reports for files we cannot decrypt."""

from __future__ import annotations

import asyncio
import fcntl
import io
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.exceptions import GpgStreamError
from airflow_provider_actito_sftp.pgp.keys import export_newest_public_key, generate_inbound_key
from airflow_provider_actito_sftp.pgp.stream import (
    PIPE_CHUNK,
    DecryptOptions,
    EncryptOptions,
    GpgFilter,
    decrypt_stream,
    encrypt_stream,
    encrypting,
    pump,
)
from airflow_provider_actito_sftp.pgp.verdict import SignaturePolicy
from partner_sandbox.gpg import PartnerGpg

SYMMETRIC = (
    r"^encrypted with a passphrase \(symmetric\), not to our PGP key: ask the partner to encrypt to our public key$"
)
PLAINTEXT = os.urandom(50_000)


@pytest.fixture(autouse=True)
def _no_pinentry_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """gpg asks its agent for the passphrase: with no display or tty to show a pinentry on, it fails at once."""
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "GPG_TTY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def inbound() -> tuple[str, str, str]:
    """Our inbound secret keys, their public key and fingerprint."""
    armored, info = generate_inbound_key("partner")
    return armored, export_newest_public_key(armored)[0], info.fingerprint


@pytest.fixture
def partner() -> Iterator[PartnerGpg]:
    with PartnerGpg() as keyring:
        yield keyring


def _partner_encrypts(partner: PartnerGpg, tmp_path: Path, *options: str, recipient_key: str = "") -> Path:
    """Encrypt :data:`PLAINTEXT` as the partner would, with the given gpg options."""
    source, destination = tmp_path / "customers.csv", tmp_path / "customers.csv.pgp"
    source.write_bytes(PLAINTEXT)
    recipient: list[str] = []
    if recipient_key:
        (tmp_path / "recipient.asc").write_text(recipient_key)
        recipient = ["--encrypt", "--recipient-file", str(tmp_path / "recipient.asc")]
    command = ["gpg", "--homedir", str(partner.home), "--batch", "--yes", "--pinentry-mode", "loopback"]
    subprocess.run(
        [*command, *options, *recipient, "--output", str(destination), str(source)],
        capture_output=True,
        timeout=120,
        check=True,
    )
    return destination


async def _blocks(data: bytes, size: int = 16_384) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class Cut(Exception):
    """A transport error of the source, as a cut connection raises it."""


async def _cut_after(data: bytes) -> AsyncIterator[bytes]:
    yield data
    raise Cut("connection lost")


def _decrypt(secret_keys: str, message: Path) -> tuple[str | None, bytes]:
    """Decrypt through :func:`decrypt_stream`; return the decrypting key's fingerprint and the plaintext."""

    async def run() -> tuple[str | None, bytes]:
        sink = io.BytesIO()
        decrypting = decrypt_stream(_blocks(message.read_bytes()), sink.write, DecryptOptions(secret_keys))
        return await asyncio.wait_for(decrypting, timeout=120), sink.getvalue()

    return asyncio.run(run())


def test_round_trip_through_the_pump_with_an_async_sink(inbound: tuple[str, str, str]):
    """Encrypt to our own public key, decrypt with our secret key: many blocks in, an awaited sink out."""
    plaintext = os.urandom(3 << 20)

    async def run() -> tuple[str, str | None, bytes]:
        encrypted, decrypted = bytearray(), bytearray()

        async def slow_sink(chunk: bytes) -> None:
            await asyncio.sleep(0)
            encrypted.extend(chunk)

        used = await encrypt_stream(_blocks(plaintext), slow_sink, EncryptOptions(inbound[1]), compress=False)
        key = await decrypt_stream(_blocks(bytes(encrypted)), decrypted.extend, DecryptOptions(inbound[0]))
        return used, key, bytes(decrypted)

    used, key, decrypted = asyncio.run(run())
    assert used == key == inbound[2]
    assert decrypted == plaintext


def test_a_source_error_propagates_and_kills_gpg(inbound: tuple[str, str, str]):
    """A cut connection is reported as such (not as gpg's verdict on a truncated message), and gpg is
    killed before it sees an end of input."""

    async def run() -> int:
        async with encrypting(inbound[1], armor=False, compress=False) as (gpg, _):
            with pytest.raises(Cut, match="connection lost"):
                await pump(gpg, _cut_after(PLAINTEXT), lambda _chunk: None)
            return (await gpg.finish()).returncode

    assert asyncio.run(run()) == -signal.SIGKILL


def test_gpg_pipes_carry_a_megabyte_per_system_call(inbound: tuple[str, str, str]):
    """gpg's stdin and stdout pipes are widened from 64 KiB to PIPE_CHUNK (fewer reads, writes and event loop
    turns per byte in the task process), and data still flows through them."""

    async def run() -> tuple[list[int], bytes]:
        async with encrypting(inbound[1], armor=False, compress=False) as (gpg, _):
            sizes = [_pipe_size(f"/proc/{gpg.pid}/fd/{number}") for number in (0, 1)]
            encrypted = bytearray()
            await pump(gpg, _blocks(PLAINTEXT), encrypted.extend)
            return sizes, bytes(encrypted)

    sizes, encrypted = asyncio.run(run())
    assert sizes == [PIPE_CHUNK, PIPE_CHUNK]
    assert len(encrypted) > len(PLAINTEXT)


def _pipe_size(path: str) -> int:
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        return fcntl.fcntl(descriptor, fcntl.F_GETPIPE_SZ)
    finally:
        os.close(descriptor)


def test_a_sink_error_propagates(inbound: tuple[str, str, str]):
    def full(_chunk: bytes) -> None:
        raise OSError(28, "No space left on device")

    async def run() -> None:
        async with encrypting(inbound[1], armor=False, compress=False) as (gpg, _):
            await pump(gpg, _blocks(PLAINTEXT), full)

    with pytest.raises(OSError, match="No space left"):
        asyncio.run(run())


def test_when_gpg_stops_reading_the_pump_stops_feeding_and_returns_its_report():
    """A broken pipe is not an error of its own: gpg's exit code and status lines say what went wrong."""
    fed = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal fed
        for _ in range(1000):
            fed += 1
            yield bytes(1 << 20)

    async def run() -> tuple[int, bool]:
        gives_up = "head -c 100 >/dev/null; echo '[GNUPG:] NODATA 1' >&2; exit 2"
        process = await asyncio.create_subprocess_exec(
            "sh", "-c", gives_up, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        outcome = await asyncio.wait_for(pump(GpgFilter(process), endless(), lambda _chunk: None), timeout=60)
        return outcome.returncode, outcome.has("NODATA")

    assert asyncio.run(run()) == (2, True)
    assert fed < 1000


@pytest.mark.parametrize("armor", [False, True])
def test_passphrase_encrypted_file_is_reported_as_such(
    armor: bool, inbound: tuple[str, str, str], partner: PartnerGpg, tmp_path: Path
):
    options = ["--passphrase", "partner secret", "--symmetric", *(["--armor"] if armor else [])]
    message = _partner_encrypts(partner, tmp_path, *options)
    with pytest.raises(GpgStreamError, match=SYMMETRIC):
        _decrypt(inbound[0], message)


def test_passphrase_and_a_foreign_key_is_reported_as_passphrase_encrypted(
    inbound: tuple[str, str, str], partner: PartnerGpg, tmp_path: Path
):
    foreign = partner.export_public(partner.generate("Someone else <else@example.com>"))
    message = _partner_encrypts(partner, tmp_path, "--passphrase", "x", "--symmetric", recipient_key=foreign)
    with pytest.raises(GpgStreamError, match=SYMMETRIC):
        _decrypt(inbound[0], message)


def test_passphrase_and_our_key_decrypts_with_our_key(
    inbound: tuple[str, str, str], partner: PartnerGpg, tmp_path: Path
):
    message = _partner_encrypts(partner, tmp_path, "--passphrase", "x", "--symmetric", recipient_key=inbound[1])
    assert _decrypt(inbound[0], message) == (inbound[2], PLAINTEXT)


def test_other_failures_keep_their_messages(inbound: tuple[str, str, str], partner: PartnerGpg, tmp_path: Path):
    foreign = partner.export_public(partner.generate("Someone else <else@example.com>"))
    with pytest.raises(GpgStreamError, match=r"^not encrypted to any of our inbound PGP keys"):
        _decrypt(inbound[0], _partner_encrypts(partner, tmp_path, recipient_key=foreign))
    plaintext = tmp_path / "plain.csv"
    # A CSV, not random bytes: now and then random bytes start with what reads as an OpenPGP packet header
    # (a passphrase packet's, say), which is then reported as that, rightly (CI failure 'encrypted with a passphrase').
    plaintext.write_bytes(b"id;email\n" + b"".join(b"%d;user%d@example.com\n" % (i, i) for i in range(2_000)))
    with pytest.raises(GpgStreamError, match=r"^not PGP-encrypted data"):
        _decrypt(inbound[0], plaintext)
    tampered = _partner_encrypts(partner, tmp_path, "--compress-algo", "none", recipient_key=inbound[1])
    data = bytearray(tampered.read_bytes())
    data[len(data) // 2] ^= 0x55
    tampered.write_bytes(bytes(data))
    with pytest.raises(GpgStreamError, match=r"integrity check failed|tampered") as raised:
        _decrypt(inbound[0], tampered)
    assert "passphrase" not in str(raised.value)


# --- the signature outside the encryption (the partner signed the encrypted file) -------------------------


def _signed_around(partner: PartnerGpg, encrypted: Path, signer: str, *, armor: bool = False) -> bytes:
    """``gpg --sign`` of an already encrypted file, as a partner signing what it sends."""
    options = ["--armor"] if armor else []
    return subprocess.run(
        ["gpg", "--homedir", str(partner.home), "--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", "",
         "--local-user", signer, *options, "--sign", "--output", "-", str(encrypted)],
        capture_output=True, timeout=120, check=True,
    ).stdout  # fmt: skip


def _decrypt_as_sniffed(data: bytes, options: DecryptOptions) -> tuple[str | None, bytes]:
    """What the importer does: decide from the head, then decrypt as decided."""
    from airflow_provider_actito_sftp.pgp.sniff import decide_decryption

    decided = decide_decryption(data[:4096], len(data), pgp_required=True, options=lambda: options)
    assert decided is not None
    assert decided.signed_outside

    async def run() -> tuple[str | None, bytes]:
        sink = io.BytesIO()
        return await asyncio.wait_for(decrypt_stream(_blocks(data), sink.write, decided), 120), sink.getvalue()

    return asyncio.run(run())


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
@pytest.mark.parametrize(
    ("signer", "policy", "refused"),
    [
        ("partner", SignaturePolicy.REQUIRE, None),
        ("partner", SignaturePolicy.ACCEPT, None),
        ("other", SignaturePolicy.IGNORE, None),
        ("other", SignaturePolicy.ACCEPT, "^signed, but not with the partner's configured key$"),
    ],
)
def test_a_signature_outside_the_encryption_is_checked_then_the_inside_decrypted(
    armor: bool,
    signer: str,
    policy: SignaturePolicy,
    refused: str | None,
    inbound: tuple[str, str, str],
    partner: PartnerGpg,
    tmp_path: Path,
):
    secret_keys, public, fingerprint = inbound
    partner_key = partner.generate(user_id="Partner <partner@example.com>")
    other_key = partner.generate(user_id="Other <other@example.com>")
    encrypted = _partner_encrypts(partner, tmp_path, recipient_key=public)
    data = _signed_around(partner, encrypted, partner_key if signer == "partner" else other_key, armor=armor)
    options = DecryptOptions(secret_keys, policy, partner.export_public(partner_key), partner_key)
    if refused is None:
        assert _decrypt_as_sniffed(data, options) == (fingerprint, PLAINTEXT)
    else:
        with pytest.raises(GpgStreamError, match=refused):
            _decrypt_as_sniffed(data, options)


def test_a_truncated_signature_outside_is_refused(inbound: tuple[str, str, str], partner: PartnerGpg, tmp_path: Path):
    secret_keys, public, _ = inbound
    partner_key = partner.generate()
    encrypted = _partner_encrypts(partner, tmp_path, "--compress-algo", "none", recipient_key=public)
    data = _signed_around(partner, encrypted, partner_key)
    with pytest.raises(GpgStreamError, match=r"^signed around an encrypted message, but .* truncated or damaged$"):
        _decrypt_as_sniffed(data[: len(data) - 200], DecryptOptions(secret_keys))


def test_a_sink_error_behind_a_signature_outside_stops_both_gpgs(
    inbound: tuple[str, str, str], partner: PartnerGpg, tmp_path: Path
):
    """The output cap (or a full disk) stops the drain of the inner gpg: both gpgs are stopped and the error
    propagates, rather than the outer waiting forever to hand the inner the rest."""
    secret_keys, public, _ = inbound
    source, encrypted = tmp_path / "big.csv", tmp_path / "big.csv.pgp"
    source.write_bytes(os.urandom(16 << 20))
    partner.encrypt_to(public, source, encrypted, compress=False)
    data = _signed_around(partner, encrypted, partner.generate())

    def full(_: bytes) -> None:
        raise OSError(28, "No space left on device")

    options = DecryptOptions(secret_keys, signed_outside=True)
    with pytest.raises(OSError, match="No space left"):
        asyncio.run(asyncio.wait_for(decrypt_stream(_blocks(data, 1 << 20), full, options), 60))


# --- files as some partners' tools write them (issue 26) ---------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "codec", "bom"),
    [("utf-8-bom", "utf-8", b"\xef\xbb\xbf"), ("utf-16", "utf-16", b""), ("utf-16-be", "utf-16-be", b"\xfe\xff")],
)
def test_armor_a_windows_tool_wrote_is_decided_and_decrypted_byte_for_byte(
    encoding: str, codec: str, bom: bytes, inbound: tuple[str, str, str], partner: PartnerGpg, tmp_path: Path
):
    """gpg --armor's output saved with a byte-order mark or as UTF-16 (Python's "utf-16": the machine's order
    after its mark, as PowerShell's Out-File and Notepad's "Unicode" write it), with Windows line ends."""
    from airflow_provider_actito_sftp.pgp.sniff import decide_decryption

    armored = _partner_encrypts(partner, tmp_path, "--armor", recipient_key=inbound[1]).read_text()
    data = bom + armored.replace("\n", "\r\n").encode(codec)
    options = DecryptOptions(inbound[0])
    assert decide_decryption(data[:4096], len(data), pgp_required=True, options=lambda: options) == options

    async def run() -> tuple[str | None, bytes]:
        sink = io.BytesIO()
        return await asyncio.wait_for(decrypt_stream(_blocks(data, 1000), sink.write, options), 120), sink.getvalue()

    assert asyncio.run(run()) == (inbound[2], PLAINTEXT)


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
def test_a_file_without_integrity_protection_is_refused_in_our_words(
    armor: bool, inbound: tuple[str, str, str], partner: PartnerGpg, tmp_path: Path
):
    """gpg --rfc2440 writes no MDC (a Symmetrically Encrypted Data packet): gpg decrypts it, then fails it.
    Refused with the cause and the partner's fix, not as Sequoia's padding, and not handed to sq."""
    from airflow_provider_actito_sftp.pgp.verdict import NO_INTEGRITY

    options = ["--rfc2440", "--cipher-algo", "AES256", *(["--armor"] if armor else [])]
    message = _partner_encrypts(partner, tmp_path, *options, recipient_key=inbound[1])
    with pytest.raises(GpgStreamError) as refused:
        _decrypt(inbound[0], message)
    assert str(refused.value) == NO_INTEGRITY
    assert type(refused.value) is GpgStreamError  # not GpgIntegrityError: no second opinion asked of sq
