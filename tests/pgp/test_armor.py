"""Partner key files as gpg, Sequoia's ``sq`` and ``rnp`` write them, armored or binary: read as the same key."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.exceptions import GpgStreamError, PgpKeyError
from airflow_provider_actito_sftp.pgp.armor import armor, ascii_armor, check_secret_keys, key_file_text
from airflow_provider_actito_sftp.pgp.keys import (
    PgpKeyType,
    add_inbound_key,
    export_newest_public_key,
    generate_inbound_key,
    validate_partner_key,
)
from partner_sandbox.gpg import PartnerGpg

RUN = {"capture_output": True, "check": True, "timeout": 120}


def test_a_binary_gpg_export_becomes_gpgs_own_armored_text(tmp_path: Path):
    with PartnerGpg() as partner:
        fingerprint = partner.generate("Binary <binary@example.com>")
        armored = partner.export_public(fingerprint)
        binary = subprocess.run(
            ["gpg", "--homedir", str(partner.home), "--batch", "--export", fingerprint], **RUN
        ).stdout
    assert binary[:1] != b"-"
    assert key_file_text(binary) == armored  # byte for byte: the same base64 lines and CRC-24
    assert validate_partner_key(key_file_text(binary)).fingerprint == fingerprint


@pytest.mark.parametrize("tool", ["sq", "rnp"])
def test_binary_keys_made_by_sequoia_and_rnp_are_accepted(tool: str, tmp_path: Path):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (.ci/run installs it)")
    cert = tmp_path / "cert.pgp"
    if tool == "sq":
        key = tmp_path / "key.pgp"
        subprocess.run(["sq", "key", "generate", "--userid", "<sq@example.com>", "--export", str(key)], **RUN)
        subprocess.run(["sq", "key", "extract-cert", "--binary", "--output", str(cert), str(key)], **RUN)
    else:
        home = tmp_path / "rnp"
        home.mkdir(mode=0o700)
        rnpkeys = ["rnpkeys", "--homedir", str(home)]
        subprocess.run([*rnpkeys, "--generate-key", "--userid", "rnp <rnp@example.com>", "--password", ""], **RUN)
        armored = subprocess.run([*rnpkeys, "--export-key", "rnp@example.com"], **RUN).stdout
        (tmp_path / "cert.asc").write_bytes(armored)
        subprocess.run(["rnp", "--dearmor", str(tmp_path / "cert.asc"), "--output", str(cert)], **RUN)
    data = cert.read_bytes()
    assert not data.startswith(b"-----")
    info = validate_partner_key(key_file_text(data))
    assert info.can_encrypt


def test_armored_text_is_kept_and_a_byte_order_mark_ignored():
    armored = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nabc\n-----END PGP PUBLIC KEY BLOCK-----\n"
    assert key_file_text(armored.encode()) == armored
    assert key_file_text(b"\xef\xbb\xbf" + armored.encode()) == armored


def test_a_binary_secret_key_is_refused_as_a_secret_key():
    with PartnerGpg() as partner:
        fingerprint = partner.generate()
        binary = subprocess.run(
            [
                "gpg",
                "--homedir",
                str(partner.home),
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
                "--export-secret-keys",
                fingerprint,
            ],
            **RUN,
        ).stdout
    text = key_file_text(binary)
    assert text.startswith("-----BEGIN PGP PRIVATE KEY BLOCK-----\n")
    with pytest.raises(PgpKeyError, match=r"secret \(private\) key"):
        validate_partner_key(text)


@pytest.mark.parametrize("data", [b"", b"name;email\n", b"\x00\x01\x02", "naïve\n".encode("latin-1")])
def test_anything_else_is_no_key_and_never_quoted(data: bytes):
    with pytest.raises(PgpKeyError, match="no OpenPGP key found") as refused:
        key_file_text(data)
    assert "name;email" not in str(refused.value)


# --- armor as Windows tools write it (issue 26.6) ------------------------------------------------------

WINDOWS_TEXT = {  # how PowerShell's Out-File, Notepad's "Unicode" and .NET write text
    "UTF-8 with a byte-order mark": lambda text: b"\xef\xbb\xbf" + text.encode(),
    "UTF-16 LE": lambda text: b"\xff\xfe" + text.encode("utf-16-le"),
    "UTF-16 BE": lambda text: b"\xfe\xff" + text.encode("utf-16-be"),
    "UTF-16 LE without a byte-order mark": lambda text: text.encode("utf-16-le"),
    "UTF-32 LE": lambda text: b"\xff\xfe\x00\x00" + text.encode("utf-32-le"),
}


@pytest.mark.parametrize("encoding", list(WINDOWS_TEXT))
def test_a_partner_key_file_a_windows_tool_wrote_is_read_as_its_armored_text(encoding: str):
    with PartnerGpg() as partner:
        fingerprint = partner.generate("Windows <windows@example.com>")
        armored = partner.export_public(fingerprint)
    written = WINDOWS_TEXT[encoding](armored.replace("\n", "\r\n"))
    text = key_file_text(written)
    assert text == armored.replace("\n", "\r\n")
    assert validate_partner_key(text).fingerprint == fingerprint


def test_a_damaged_utf16_key_file_is_refused_naming_its_encoding():
    armored = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nabc\n-----END PGP PUBLIC KEY BLOCK-----\n"
    damaged = b"\xff\xfe" + armored.encode("utf-16-le") + b"\x00\xd8A\x00"  # a lone surrogate
    with pytest.raises(PgpKeyError, match=r"^the armored key file is not valid UTF-16 LE text \(damaged\?\)$"):
        key_file_text(damaged)


def _stream(blocks: list[bytes]) -> tuple[bytes, list[int]]:
    """Run ``blocks`` through :func:`ascii_armor`; return its output and, for each chunk it gave, how many
    blocks had been taken from the source by then."""
    taken = 0

    async def source() -> AsyncIterator[bytes]:
        nonlocal taken
        for block in blocks:
            taken += 1
            yield block

    async def run() -> tuple[bytes, list[int]]:
        output, seen = bytearray(), []
        async for chunk in ascii_armor(source()):
            output += chunk
            seen.append(taken)
        return bytes(output), seen

    return asyncio.run(run())


def _blocks(data: bytes, size: int) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


MESSAGE = "-----BEGIN PGP MESSAGE-----\r\nComment: Zoë's tool\r\n\r\n" + "hF4DAAAAAAAAAAASAQdA\r\n" * 2000


@pytest.mark.parametrize("encoding", list(WINDOWS_TEXT))
@pytest.mark.parametrize("size", [1, 3, 4096])
def test_an_inbound_file_streams_into_gpg_as_utf8_armor_a_block_at_a_time(encoding: str, size: int):
    output, seen = _stream(_blocks(WINDOWS_TEXT[encoding](MESSAGE), size))
    assert output == MESSAGE.encode()
    assert seen[-1] - seen[0] > 4  # memory stays flat: the first output came long before the source ended


@pytest.mark.parametrize(
    "data",
    [MESSAGE.encode(), os.urandom(100_000), b"\x85\x01\x0c" + os.urandom(50_000), b"", b"\xff\xfe"],
    ids=["ascii-armor", "random", "binary", "empty", "bom-only"],
)
def test_anything_else_streams_as_it_is(data: bytes):
    blocks = _blocks(data, 4096)
    output, seen = _stream(blocks)
    assert output == data
    assert seen == list(range(1, len(blocks) + 1))  # each block passed on as soon as it came


def test_a_utf16_file_damaged_further_on_is_refused_naming_its_encoding():
    damaged = b"\xff\xfe" + MESSAGE.encode("utf-16-le") + b"\x00\xd8A\x00" + "\r\n".encode("utf-16-le")
    with pytest.raises(GpgStreamError, match=r"^armored text in UTF-16 LE \(as some Windows tools write it\), but"):
        _stream(_blocks(damaged, 4096))


# --- our secret keys, as a connection stores them (issue 21.9) ----------------------------------------


@pytest.fixture(scope="module")
def our_keys() -> dict[str, str]:
    """Secret keys the provider generates: ed25519, RSA, and a block of three keys after rotations."""
    ed25519, _ = generate_inbound_key("armor", PgpKeyType.ED25519)
    rsa, _ = generate_inbound_key("armor", PgpKeyType.RSA3072)
    rotated, _ = add_inbound_key("armor", rsa, PgpKeyType.ED25519)
    rotated, _ = add_inbound_key("armor", rotated, PgpKeyType.RSA3072)
    return {"ed25519": ed25519, "rsa3072": rsa, "rotated": rotated}


@pytest.mark.parametrize(("name", "count"), [("ed25519", 1), ("rsa3072", 1), ("rotated", 3)])
def test_the_keys_we_generate_pass_the_check(our_keys: dict[str, str], name: str, count: int):
    assert check_secret_keys(our_keys[name]) == count


def test_the_check_reads_armor_as_gpg_does(our_keys: dict[str, str]):
    """CRLF lines, armor headers, no checksum line, several blocks, text around them: gpg takes all of it."""
    lines = our_keys["ed25519"].splitlines()
    with_header = "\r\n".join([lines[0], "Comment: pasted from a vault", *lines[1:]])
    without_checksum = "\n".join(line for line in lines if not re.fullmatch(r"=[A-Za-z0-9+/]{4}", line))
    assert check_secret_keys(with_header) == 1
    assert check_secret_keys(without_checksum) == 1
    assert check_secret_keys(f"our keys:\n{our_keys['ed25519']}\n{our_keys['rsa3072']}\n(end)\n") == 2


@pytest.mark.parametrize("tool", ["sq", "rnp"])
def test_secret_keys_made_by_sequoia_and_rnp_pass_the_check(tool: str, tmp_path: Path):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (.ci/run installs it)")
    if tool == "sq":
        key = tmp_path / "key.asc"
        subprocess.run(["sq", "key", "generate", "--userid", "<sq@example.com>", "--export", str(key)], **RUN)
        armored = key.read_text()
    else:
        home = tmp_path / "rnp"
        home.mkdir(mode=0o700)
        rnpkeys = ["rnpkeys", "--homedir", str(home)]
        subprocess.run([*rnpkeys, "--generate-key", "--userid", "rnp <rnp@example.com>", "--password", ""], **RUN)
        armored = subprocess.run([*rnpkeys, "--export-key", "--secret", "rnp@example.com"], **RUN).stdout.decode()
    assert check_secret_keys(armored) == 1


def _cut(armored: str) -> str:
    """The block with its last third of base64 lines gone (a paste cut short, the end line kept)."""
    lines = armored.splitlines()
    body = [index for index, line in enumerate(lines) if line and not line.startswith(("-----", "="))]
    return "\n".join(lines[: body[len(body) * 2 // 3]] + lines[-2:])


def _first_line_only(armored: str) -> str:
    """Only the first base64 line, no checksum: the secret key packet runs past the end of what is left."""
    lines = armored.splitlines()
    first = next(index for index, line in enumerate(lines) if index > 0 and line)
    return "\n".join([lines[0], "", lines[first], lines[-1]])


def _altered(armored: str) -> str:
    """One base64 character of the key's data changed: the checksum no longer matches."""
    lines = armored.splitlines()
    index = len(lines) // 2
    lines[index] = ("B" if lines[index][0] == "A" else "A") + lines[index][1:]
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda keys: "", "not an armored PGP key block"),
        (lambda keys: "(armored keys)", "not an armored PGP key block"),
        (lambda keys: "-----BEGIN PGP PRIVATE KEY BLOCK-----\nsecret-pgp-material\n", "no -----END PGP PRIVATE"),
        (lambda keys: keys.partition("-----END")[0], "no -----END PGP PRIVATE KEY BLOCK----- line"),
        (_altered, "the checksum does not match"),
        (_cut, "checksum does not match"),
        (_first_line_only, "packet #1 tag 5 is .* octets long, past the end of the data"),
        (lambda keys: keys.replace("PRIVATE KEY BLOCK", "PUBLIC KEY BLOCK"), "is a PGP PUBLIC KEY BLOCK"),
        (lambda keys: keys.replace("\n\n", "\n\n!!", 1), "not base64"),
    ],
    ids=["empty", "placeholder", "no-end", "cut-end", "altered", "cut-short", "cut-no-checksum", "public", "junk"],
)
def test_damaged_or_wrong_key_material_is_named_and_never_quoted(
    our_keys: dict[str, str], damage: Callable[[str], str], reason: str
):
    keys = our_keys["rsa3072"]
    with pytest.raises(PgpKeyError, match=reason) as refused:
        check_secret_keys(damage(keys))
    body = [line for line in keys.splitlines() if len(line) > 8 and not line.startswith("-----")]
    assert not [line for line in body if line[:8] in str(refused.value)]


def test_public_keys_and_messages_are_not_our_secret_keys(our_keys: dict[str, str]):
    public, _ = export_newest_public_key(our_keys["ed25519"])
    with pytest.raises(PgpKeyError, match="is a PGP PUBLIC KEY BLOCK, not secret keys"):
        check_secret_keys(public)
    relabelled = public.replace("PUBLIC KEY BLOCK", "PRIVATE KEY BLOCK")
    with pytest.raises(PgpKeyError, match="holds a public key without its secret part"):
        check_secret_keys(relabelled)
    message = armor(b"\xa3\x01" + b"compressed", "MESSAGE")
    with pytest.raises(PgpKeyError, match="is a PGP MESSAGE"):
        check_secret_keys(message)
