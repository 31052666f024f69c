"""OpenPGP key files as partners send them: ASCII-armored text (``.asc``) or binary (``.gpg``, ``.pgp``, ``.key``),
turned into the armored text a connection stores (RFC 9580 §6: base64 lines and a CRC-24 checksum)."""

from __future__ import annotations

import base64
import re

from airflow_provider_actito_sftp.exceptions import PgpKeyError

_ARMOR_START = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*-----BEGIN PGP ")
_SECRET_KEY_TAGS = frozenset({5, 7})
_PUBLIC_KEY_TAGS = frozenset({6, 14})
_LINE = 64


def key_file_text(data: bytes) -> str:
    """The key file's armored text: as it is when armored, armored here when binary.

    :param data: the file's bytes.
    :raises PgpKeyError: neither armored text nor a binary OpenPGP key (the message never quotes the data).
    """
    if _ARMOR_START.match(data):
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise PgpKeyError("the armored key file is not valid UTF-8 text") from None
    tag = _first_packet_tag(data)
    if tag in _SECRET_KEY_TAGS:
        return armor(data, "PRIVATE KEY BLOCK")  # stored nowhere: the key check refuses it by its label
    if tag in _PUBLIC_KEY_TAGS:
        return armor(data, "PUBLIC KEY BLOCK")
    raise PgpKeyError(
        "no OpenPGP key found: expected an armored key (-----BEGIN PGP PUBLIC KEY BLOCK-----) or a binary "
        "one (.gpg/.pgp, from `gpg --export`)"
    )


def armor(data: bytes, label: str) -> str:
    """``data`` in ASCII armor: ``-----BEGIN PGP <label>-----``, base64 lines, ``=`` + CRC-24, the end line."""
    body = base64.b64encode(data).decode("ascii")
    lines = [body[start : start + _LINE] for start in range(0, len(body), _LINE)]
    checksum = base64.b64encode(_crc24(data).to_bytes(3, "big")).decode("ascii")
    return "\n".join([f"-----BEGIN PGP {label}-----", "", *lines, f"={checksum}", f"-----END PGP {label}-----", ""])


def _first_packet_tag(data: bytes) -> int | None:
    """The packet type of the first packet (old or new header format), or None if it is not a packet."""
    if not data or not data[0] & 0x80:
        return None
    first = data[0]
    return first & 0x3F if first & 0x40 else (first >> 2) & 0x0F


def _crc24(data: bytes) -> int:
    """The armor checksum of RFC 9580 §6.1."""
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF
