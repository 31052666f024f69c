"""OpenPGP sniffing by packet headers, on messages made by real gpg and sq, and on data that is not PGP."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.pgp.packets import PgpKind, PgpSniff, TextEncoding, armor_text_encoding, sniff

HEAD = 4096
PLAINTEXT = b"id;email\n" + b"".join(b"%d;user%d@example.com\n" % (n, n) for n in range(3000))
NOT_PGP = PgpKind.NOT_PGP


@dataclass(frozen=True)
class Keyring:
    """A throw-away GNUPGHOME with an RSA key and an ed25519/cv25519 key; ``*_id``: encryption subkey ids."""

    home: Path
    rsa: str
    rsa_id: str
    ecc: str
    ecc_id: str

    def gpg(self, *args: str, data: bytes = PLAINTEXT) -> bytes:
        command = ["gpg", "--homedir", str(self.home), "--batch", "--yes", "--pinentry-mode", "loopback"]
        result = subprocess.run([*command, *args], input=data, capture_output=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        return result.stdout

    def packets(self, message: bytes) -> list[tuple[int, int]]:
        """``(offset, tag)`` of each top-level packet, as gpg lists them."""
        listing = self.gpg("--list-packets", data=message).decode()
        # (--list-packets needs no key for this: it stops at the encrypted data it cannot open.)
        return [(int(o), int(t)) for o, t in re.findall(r"^# off=(\d+) ctb=\w+ tag=(\d+)", listing, re.M)]


def _new_key(home: Path, user_id: str, primary: str, subkey: str) -> tuple[str, str]:
    def gpg(*args: str) -> str:
        command = ["gpg", "--homedir", str(home), "--batch", "--passphrase", "", "--pinentry-mode", "loopback"]
        return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120, check=True).stdout

    gpg("--quick-gen-key", user_id, primary, "sign,cert", "never")
    fingerprint = re.findall(r"^fpr:+([0-9A-F]{40}):", gpg("--with-colons", "--list-keys", user_id), re.M)[0]
    gpg("--quick-add-key", fingerprint, subkey, "encr", "never")
    subkeys = re.findall(r"^sub:[^:]*:\d+:\d+:([0-9A-F]{16}):", gpg("--with-colons", "--list-keys", user_id), re.M)
    return fingerprint, subkeys[0]


@pytest.fixture(scope="module")
def keyring() -> Iterator[Keyring]:
    home = Path(tempfile.mkdtemp(prefix="sniff-gnupg-"))
    try:
        rsa, rsa_id = _new_key(home, "RSA <rsa@example.com>", "rsa2048", "rsa2048")
        ecc, ecc_id = _new_key(home, "ECC <ecc@example.com>", "ed25519", "cv25519")
        yield Keyring(home, rsa, rsa_id, ecc, ecc_id)
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], timeout=30, check=False)
        shutil.rmtree(home, ignore_errors=True)


def _sniff(data: bytes) -> PgpSniff:
    return sniff(data[:HEAD], len(data))


class TestRealMessages:
    def test_encrypted_to_rsa_and_to_ecdh_keys(self, keyring: Keyring):
        rsa = _sniff(keyring.gpg("--encrypt", "--recipient", keyring.rsa))
        ecc = _sniff(keyring.gpg("--encrypt", "--recipient", keyring.ecc))
        both = _sniff(keyring.gpg("--encrypt", "--recipient", keyring.rsa, "--recipient", keyring.ecc))
        assert (rsa.kind, rsa.key_ids) == (PgpKind.PUBLIC_KEY_ENCRYPTED, (keyring.rsa_id,))
        assert (ecc.kind, ecc.key_ids) == (PgpKind.PUBLIC_KEY_ENCRYPTED, (keyring.ecc_id,))
        assert both.kind is PgpKind.PUBLIC_KEY_ENCRYPTED
        assert sorted(both.key_ids) == sorted([keyring.rsa_id, keyring.ecc_id])

    def test_hidden_recipient_is_the_wildcard_key_id(self, keyring: Keyring):
        result = _sniff(keyring.gpg("--encrypt", "--throw-keyids", "--recipient", keyring.ecc))
        assert (result.kind, result.key_ids) == (PgpKind.PUBLIC_KEY_ENCRYPTED, ("0000000000000000",))

    def test_passphrase_only_is_symmetric(self, keyring: Keyring):
        result = _sniff(keyring.gpg("--symmetric", "--passphrase", "secret"))
        assert (result.kind, result.key_ids, result.reason) == (PgpKind.SYMMETRIC, (), "")

    def test_passphrase_and_key_is_public_key_encrypted(self, keyring: Keyring):
        message = keyring.gpg("--symmetric", "--encrypt", "--recipient", keyring.rsa, "--passphrase", "secret")
        assert [tag for _, tag in keyring.packets(message)][:3] == [1, 3, 18]  # both kinds of session key
        result = _sniff(message)
        assert (result.kind, result.key_ids) == (PgpKind.PUBLIC_KEY_ENCRYPTED, (keyring.rsa_id,))

    def test_signed_and_encrypted(self, keyring: Keyring):
        message = keyring.gpg("--sign", "--local-user", keyring.ecc, "--encrypt", "--recipient", keyring.ecc)
        assert _sniff(message).kind is PgpKind.PUBLIC_KEY_ENCRYPTED

    def test_encrypted_inside_a_one_pass_signature_and_after_a_marker(self, keyring: Keyring):
        signed = keyring.gpg("--sign", "--local-user", keyring.ecc, "-z", "0")
        (_, ops_tag), (literal_offset, _) = keyring.packets(signed)[:2]
        signature = keyring.gpg("--detach-sign", "--local-user", keyring.ecc)
        assert (ops_tag, [tag for _, tag in keyring.packets(signature)]) == (4, [2])
        encrypted = keyring.gpg("--encrypt", "--recipient", keyring.rsa)
        wrapped = signed[:literal_offset] + encrypted + signature  # encrypt-then-sign, signature outside
        marked = b"\xa8\x03PGP" + encrypted  # a legacy marker packet first
        for message in (wrapped, marked):
            result = _sniff(message)
            assert (result.kind, result.key_ids) == (PgpKind.PUBLIC_KEY_ENCRYPTED, (keyring.rsa_id,))
        # Without the signature the one-pass signature announces, it is not a message.
        literal = b"\xac\x1ab\x00\x00\x00\x00\x00" + PLAINTEXT[:20]  # legacy header, one-octet length
        assert _sniff(literal).kind is PgpKind.UNENCRYPTED_PGP
        unsigned = _sniff(signed[:literal_offset] + literal)
        assert unsigned.reason == "second packet tag 11 runs to the end of the file, leaving no room for its signature"

    @pytest.mark.parametrize(("outer", "inner"), [("-z6", ""), ("-z0", ""), ("--armor", "--armor")])
    def test_an_encrypted_file_signed_as_data_is_signed_around_encrypted(self, keyring: Keyring, outer, inner):
        encrypted = keyring.gpg(*filter(None, [inner]), "--encrypt", "--recipient", keyring.rsa)
        signed = keyring.gpg("--sign", "--local-user", keyring.ecc, outer, data=encrypted)
        result = _sniff(signed)
        kind = result.armored_kind if outer == "--armor" else result.kind
        assert (kind, result.key_ids) == (PgpKind.SIGNED_AROUND_ENCRYPTED, (keyring.rsa_id,))
        # Signed plaintext whose first octet could open a packet is still signed plaintext.
        plain = keyring.gpg("--sign", "--local-user", keyring.ecc, "-z0", data=b"\x85" + PLAINTEXT)
        assert _sniff(plain).kind is PgpKind.UNENCRYPTED_PGP

    def test_armored(self, keyring: Keyring):
        public = _sniff(keyring.gpg("--armor", "--encrypt", "--recipient", keyring.ecc))
        symmetric = _sniff(b"\r\n  " + keyring.gpg("--armor", "--symmetric", "--passphrase", "secret"))
        assert (public.kind, public.armored_kind, public.key_ids) == (
            PgpKind.ARMORED,
            PgpKind.PUBLIC_KEY_ENCRYPTED,
            (keyring.ecc_id,),
        )
        assert (symmetric.kind, symmetric.armored_kind) == (PgpKind.ARMORED, PgpKind.SYMMETRIC)

    @pytest.mark.parametrize("algorithm", ["zip", "zlib", "bzip2"])
    def test_compressed_only(self, keyring: Keyring, algorithm: str):
        message = keyring.gpg("--store", "-z", "6", "--compress-algo", algorithm)
        assert keyring.packets(message)[0][1] == 8
        result = _sniff(message)
        assert (result.kind, result.key_ids) == (PgpKind.UNENCRYPTED_PGP, ())

    def test_literal_only(self, keyring: Keyring):
        message = keyring.gpg("--store", "-z", "0")
        assert keyring.packets(message) == [(0, 11)]
        assert _sniff(message).kind is PgpKind.UNENCRYPTED_PGP

    @pytest.mark.parametrize("compression", ["6", "0"])
    def test_signed_only(self, keyring: Keyring, compression: str):
        message = keyring.gpg("--sign", "--local-user", keyring.ecc, "-z", compression)
        assert _sniff(message).kind is PgpKind.UNENCRYPTED_PGP

    def test_sequoia_sq_encrypt(self, tmp_path: Path):
        assert shutil.which("sq"), "install Sequoia's sq (apt-get install sq) to run this test"
        key, cert = tmp_path / "key.pgp", tmp_path / "cert.pgp"
        plaintext = tmp_path / "plain.csv"
        plaintext.write_bytes(PLAINTEXT)
        run = {"capture_output": True, "timeout": 120, "check": True}
        subprocess.run(["sq", "key", "generate", "--userid", "<sq@example.com>", "--export", str(key)], **run)
        subprocess.run(["sq", "key", "extract-cert", "--output", str(cert), str(key)], **run)
        message = subprocess.run(["sq", "encrypt", "--binary", "--recipient-cert", str(cert), str(plaintext)], **run)
        listing = subprocess.run(["sq", "inspect", str(cert)], **run).stdout.decode()
        subkey_ids = {fingerprint[-16:] for fingerprint in re.findall(r"Subkey: ([0-9A-F]{40})", listing)}
        result = _sniff(message.stdout)
        assert result.kind is PgpKind.PUBLIC_KEY_ENCRYPTED
        assert len(result.key_ids) == 1
        assert result.key_ids[0] in subkey_ids


class TestNotPgp:
    def test_random_bytes_after_a_pkesk_tag(self):
        for _ in range(2000):
            result = sniff(b"\x85" + os.urandom(HEAD - 1), 1 << 30)
            assert result.kind is NOT_PGP
            assert result.reason.startswith("first packet tag 1 ")

    def test_random_blobs_are_almost_never_pgp(self):
        blobs = [os.urandom(HEAD) for _ in range(10_000)]
        pgp = [blob[:8].hex() for index, blob in enumerate(blobs) if sniff(blob, HEAD + index % 2 * 10**9).is_pgp]
        assert len(pgp) <= 5, pgp

    def test_reason_names_the_packet_and_the_field(self):
        fake = b"\x85\x01\x0c" + bytes([200]) + os.urandom(0x10C - 1)
        assert sniff(fake, len(fake)) == PgpSniff(NOT_PGP, reason="first packet tag 1 has version 200")

    def test_empty_file(self):
        assert sniff(b"", 0) == PgpSniff(NOT_PGP, reason="empty file")

    def test_truncated(self, keyring: Keyring):
        message = keyring.gpg("--encrypt", "--recipient", keyring.rsa)
        header_only = sniff(message[:2], 2)  # an old-format header with a two-octet length, cut after one
        (_, pkesk_tag), (data_offset, _) = keyring.packets(message)[:2]
        assert (pkesk_tag, message[0]) == (1, 0x85)  # legacy header with a two-octet length: 3 octets
        cut_message = _sniff(message[:100])  # the session key packet is longer than the file
        assert (header_only.kind, header_only.reason) == (
            NOT_PGP,
            "the file ends inside the header of the first packet",
        )
        assert (cut_message.kind, cut_message.reason) == (
            NOT_PGP,
            f"first packet tag 1 is {data_offset - 3} octets long, past the end of the file",
        )
        # A head shorter than the file is fine: it is the file that must be long enough.
        partial_head = sniff(message[:20], len(message))
        assert (partial_head.kind, partial_head.key_ids) == (PgpKind.PUBLIC_KEY_ENCRYPTED, (keyring.rsa_id,))
        assert "head ends" in partial_head.reason

    def test_plaintext_keys_and_signatures(self, keyring: Keyring):
        assert _sniff(PLAINTEXT).reason == "first packet starts with octet 0x69, not a packet header"
        assert "public key" in _sniff(keyring.gpg("--export", keyring.ecc, data=b"")).reason
        armored_key = _sniff(keyring.gpg("--armor", "--export", keyring.ecc, data=b""))
        assert armored_key == PgpSniff(NOT_PGP, reason="ASCII-armored PGP PUBLIC KEY BLOCK, not a PGP message")
        detached = _sniff(keyring.gpg("--detach-sign", "--local-user", keyring.ecc))
        assert (detached.kind, detached.reason) == (NOT_PGP, "a detached signature, not a message")
        clearsigned = _sniff(keyring.gpg("--clearsign", "--local-user", keyring.ecc))
        assert (clearsigned.kind, clearsigned.reason) == (
            NOT_PGP,
            "ASCII-armored PGP SIGNED MESSAGE, not a PGP message",
        )

    def test_encrypted_data_without_a_session_key(self, keyring: Keyring):
        message = keyring.gpg("--encrypt", "--recipient", keyring.rsa)
        data_offset = keyring.packets(message)[1][0]
        result = _sniff(message[data_offset:])
        assert (result.kind, result.reason) == (
            NOT_PGP,
            "first packet tag 18 is encrypted data without a session key packet before it",
        )

    def test_size_smaller_than_head_is_a_caller_error(self):
        with pytest.raises(ValueError, match="smaller"):
            sniff(b"abc", 2)


# How Windows tools write text: (codec, byte-order mark) as PowerShell's Out-File, Notepad's "Unicode" and
# .NET's Encoding classes do; Python's "utf-16" and "utf-32" write the machine's order with its mark.
WINDOWS_TEXT = {
    "UTF-8 with a byte-order mark": ("utf-8", b"\xef\xbb\xbf"),
    "UTF-16 LE": ("utf-16-le", b"\xff\xfe"),
    "UTF-16 BE": ("utf-16-be", b"\xfe\xff"),
    "UTF-16 LE without a byte-order mark": ("utf-16-le", b""),
    "UTF-16 BE without a byte-order mark": ("utf-16-be", b""),
    "UTF-32 LE": ("utf-32-le", b"\xff\xfe\x00\x00"),
    "UTF-32 BE": ("utf-32-be", b"\x00\x00\xfe\xff"),
}


def _as_windows_text(armored: bytes, encoding: str) -> bytes:
    codec, bom = WINDOWS_TEXT[encoding]
    return bom + armored.decode("ascii").replace("\n", "\r\n").encode(codec)


class TestWindowsArmor:
    """Armor a Windows tool wrote: the same message, read as the ASCII armor it holds."""

    @pytest.mark.parametrize("encoding", list(WINDOWS_TEXT))
    def test_an_encrypted_message_is_recognised_in_every_encoding(self, keyring: Keyring, encoding: str):
        message = _as_windows_text(keyring.gpg("--armor", "--encrypt", "--recipient", keyring.ecc), encoding)
        assert armor_text_encoding(message) == TextEncoding(encoding, *WINDOWS_TEXT[encoding])
        assert len(message) > 2 * HEAD  # the head is cut: what it shows decides
        for result in (_sniff(message), sniff(message, len(message))):
            assert (result.kind, result.armored_kind, result.key_ids) == (
                PgpKind.ARMORED,
                PgpKind.PUBLIC_KEY_ENCRYPTED,
                (keyring.ecc_id,),
            )

    def test_a_utf16_key_block_is_no_message(self, keyring: Keyring):
        key = _as_windows_text(keyring.gpg("--armor", "--export", keyring.ecc, data=b""), "UTF-16 LE")
        assert _sniff(key) == PgpSniff(NOT_PGP, reason="ASCII-armored PGP PUBLIC KEY BLOCK, not a PGP message")

    @pytest.mark.parametrize(
        "data",
        [
            b"-----BEGIN PGP MESSAGE-----\n\nhF4D\n",  # ASCII armor: gpg reads it as it is
            b"\x85\x01\x0c",  # binary OpenPGP
            "id;name\r\n1;Zoë\r\n".encode("utf-16"),  # UTF-16 text, but no armor
            "\ufeffid;name\n".encode(),
            b"\xff\xfe",
            b"",
        ],
        ids=["ascii-armor", "binary", "utf16-csv", "utf8-bom-csv", "bom-only", "empty"],
    )
    def test_anything_else_has_no_windows_encoding(self, data: bytes):
        assert armor_text_encoding(data) is None
