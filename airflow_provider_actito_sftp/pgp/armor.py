"""OpenPGP key files as partners send them: ASCII-armored text (``.asc``) or binary (``.gpg``, ``.pgp``, ``.key``),
turned into the armored text a connection stores (RFC 9580 §6: base64 lines and a CRC-24 checksum); and the
check, without gpg, that the armored text a connection stores as our secret keys is that
(:func:`check_secret_keys`: armor, checksum, packets).

Armor as Windows tools write it (a UTF-8 byte-order mark, UTF-16 from PowerShell's ``Out-File`` or Notepad's
"Unicode"), which gpg and ``sq`` do not read, is turned into the ASCII armor it holds: a key file at once
(:func:`key_file_text`), an inbound file as it streams into gpg (:func:`ascii_armor`)."""

from __future__ import annotations

import base64
import binascii
import codecs
import logging
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterator

from airflow_provider_actito_sftp.exceptions import GpgStreamError, PgpKeyError
from airflow_provider_actito_sftp.pgp.packet_fields import PUBLIC_KEY_ALGORITHMS, SIGNING_ALGORITHMS, NotPgp
from airflow_provider_actito_sftp.pgp.packets import armor_text_encoding, key_packets

log = logging.getLogger(__name__)

_ARMOR_START = re.compile(rb"\A\s*-----BEGIN PGP ")
_ENCODING_HEAD = 256  # bytes read before the encoding is decided: an armor line in UTF-32 and some blank lines
_ARMOR_LINE = re.compile(r"-----(BEGIN|END) PGP ([A-Z0-9 ,/]+)-----")
_CHECKSUM_LINE = re.compile(r"=([A-Za-z0-9+/]{4})")
_SECRET_KEY_LABELS = frozenset({"PRIVATE KEY BLOCK", "SECRET KEY BLOCK"})
_SECRET_KEY_TAGS = frozenset({5, 7})
_PUBLIC_KEY_TAGS = frozenset({6, 14})
# What follows a key in a transferable key (RFC 9580 §10.1): signatures, user ids and attributes, subkeys,
# trust and padding packets.
_KEY_BLOCK_TAGS = frozenset({2, 5, 7, 12, 13, 14, 17, 21})
_KEY_VERSIONS = frozenset({4, 5, 6})
_KEY_ALGORITHMS = PUBLIC_KEY_ALGORITHMS | SIGNING_ALGORITHMS
_LINE = 64


def key_file_text(data: bytes) -> str:
    """The key file's armored text: as it is when armored, armored here when binary.

    :param data: the file's bytes.
    :raises PgpKeyError: neither armored text nor a binary OpenPGP key (the message never quotes the data).
    """
    encoding = armor_text_encoding(data)
    if encoding is not None:  # a Windows tool's armor: read as the text it is
        try:
            return data[len(encoding.bom) :].decode(encoding.codec)
        except UnicodeDecodeError:
            raise PgpKeyError(f"the armored key file is not valid {encoding.name} text (damaged?)") from None
    if _ARMOR_START.match(data):
        try:
            return data.decode("utf-8")
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


async def ascii_armor(blocks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """``blocks`` as gpg and ``sq`` read armor: armored text that a Windows tool wrote with a byte-order mark or
    in UTF-16 (or UTF-32) comes out as the same text in UTF-8 without the mark, re-encoded a block at a time
    (memory stays flat whatever the file size); anything else (binary OpenPGP, ASCII armor) passes as it is.

    :param blocks: the file's bytes, in order; their errors propagate as they are.
    :raises GpgStreamError: text that is not valid in the encoding its start announced (a damaged file).
    """
    source = aiter(blocks)
    head = b""
    async for block in source:
        head += block
        if len(head) >= _ENCODING_HEAD:
            break
    encoding = armor_text_encoding(head)
    if encoding is not None:
        log.info("The file is armored text in %s (as some Windows tools write it): read as ASCII armor", encoding.name)
    if encoding is None or encoding.codec == "utf-8":  # as it is, or without its UTF-8 byte-order mark
        if encoding is not None:
            head = head[len(encoding.bom) :]
        if head:
            yield head
        async for block in source:
            yield block
        return
    decoder = codecs.getincrementaldecoder(encoding.codec)()
    try:
        yield decoder.decode(head[len(encoding.bom) :]).encode("utf-8")
        async for block in source:
            if text := decoder.decode(block):
                yield text.encode("utf-8")
        if text := decoder.decode(b"", final=True):
            yield text.encode("utf-8")
    except UnicodeDecodeError:
        raise GpgStreamError(
            f"armored text in {encoding.name} (as some Windows tools write it), but damaged: not valid "
            f"{encoding.name} further on; ask the partner to send it again, as a binary .pgp file if they can"
        ) from None


def armor(data: bytes, label: str) -> str:
    """``data`` in ASCII armor: ``-----BEGIN PGP <label>-----``, base64 lines, ``=`` + CRC-24, the end line."""
    body = base64.b64encode(data).decode("ascii")
    lines = [body[start : start + _LINE] for start in range(0, len(body), _LINE)]
    checksum = base64.b64encode(_crc24(data).to_bytes(3, "big")).decode("ascii")
    return "\n".join([f"-----BEGIN PGP {label}-----", "", *lines, f"={checksum}", f"-----END PGP {label}-----", ""])


def check_secret_keys(text: str) -> int:
    """Check, without gpg, that ``text`` is what a connection stores as our inbound keys: armored ``PRIVATE KEY
    BLOCK`` text whose checksum matches, whose packets parse, and whose every key is a secret key of a known
    version and algorithm. No process is started: the connection's parser runs it for every hook.

    :param text: the stored armored text (several blocks are fine; text around them is ignored, as gpg does).
    :return: how many secret (primary) keys it holds.
    :raises PgpKeyError: what is wrong, never quoting the text.
    """
    blocks = dearmor(text)
    if not blocks:
        raise PgpKeyError("not an armored PGP key block (expected -----BEGIN PGP PRIVATE KEY BLOCK-----)")
    count = 0
    for number, (label, data) in enumerate(blocks, 1):
        where = f"armored block {number}" if len(blocks) > 1 else "the armored block"
        if label not in _SECRET_KEY_LABELS:
            raise PgpKeyError(f"{where} is a PGP {label}, not secret keys (a PGP PRIVATE KEY BLOCK)")
        count += _secret_keys_in(data, where)
    return count


def dearmor(text: str) -> list[tuple[str, bytes]]:
    """Each ASCII-armored block in ``text`` (RFC 9580 §6.2): its label (``PRIVATE KEY BLOCK``) and its data.

    Text outside the blocks is ignored, as gpg ignores it; armor headers (``Comment: ...``) are skipped; a
    checksum line, where there is one, must match the data.

    :raises PgpKeyError: a block without its end line, with text that is not base64, or whose checksum does
        not match (the message numbers the block, never quotes it).
    """
    blocks: list[tuple[str, bytes]] = []
    lines = iter(text.splitlines())
    for line in lines:
        begin = _ARMOR_LINE.fullmatch(line.strip())
        if begin is not None and begin.group(1) == "BEGIN":
            label = begin.group(2)
            blocks.append((label, _block_data(lines, label, f"armored block {len(blocks) + 1} ({label})")))
    return blocks


def _block_data(lines: Iterator[str], label: str, where: str) -> bytes:
    """The data of the block whose BEGIN line was just read, up to its END line."""
    body: list[str] = []
    checksum: str | None = None
    in_headers = True
    for raw in lines:
        line = raw.strip()
        if in_headers and ":" in line:  # an armor header; base64 has no colon
            continue
        in_headers = False
        armor_line = _ARMOR_LINE.fullmatch(line)
        if armor_line is not None:
            if armor_line.groups() != ("END", label):
                raise PgpKeyError(f"{where} is cut by another armor line before its end")
            return _decoded(body, checksum, where)
        if (found := _CHECKSUM_LINE.fullmatch(line)) is not None:
            checksum = found.group(1)
        elif line and checksum is not None:
            raise PgpKeyError(f"{where} has data after its checksum line")
        elif line:
            body.append(line)
    raise PgpKeyError(f"{where} has no -----END PGP {label}----- line (cut short?)")


def _decoded(body: list[str], checksum: str | None, where: str) -> bytes:
    try:
        data = base64.b64decode("".join(body), validate=True)
    except (binascii.Error, ValueError):
        raise PgpKeyError(f"{where} holds text that is not base64") from None
    if not data:
        raise PgpKeyError(f"{where} is empty")
    if checksum is not None and base64.b64decode(checksum) != _crc24(data).to_bytes(3, "big"):
        raise PgpKeyError(f"{where}: the checksum does not match the data (altered or cut short?)")
    return data


def _secret_keys_in(data: bytes, where: str) -> int:
    """How many secret keys a de-armored key block holds; every key in it must be a secret one."""
    try:
        packets = key_packets(data)
    except NotPgp as e:
        raise PgpKeyError(f"{where} does not hold OpenPGP packets: {e}") from None
    for index, (tag, body) in enumerate(packets, 1):
        if tag == 6:
            raise PgpKeyError(f"{where} holds a public key without its secret part (packet #{index})")
        if tag not in _KEY_BLOCK_TAGS or (index == 1 and tag != 5):
            raise PgpKeyError(f"{where}: packet #{index} (tag {tag}) has no place there; a secret key comes first")
        if tag in _SECRET_KEY_TAGS:
            _check_key_packet(body, f"{where}, packet #{index}")
    return sum(tag == 5 for tag, _ in packets)


def _check_key_packet(body: bytes, where: str) -> None:
    """A key packet's version and algorithm (RFC 9580 §5.5.2): octet 0, then 4 octets of time, then octet 5."""
    if len(body) < 6:
        raise PgpKeyError(f"{where}: a key packet too short for its fields")
    if body[0] not in _KEY_VERSIONS:
        raise PgpKeyError(f"{where}: a key of version {body[0]} (4, 5 or 6 expected)")
    if body[5] not in _KEY_ALGORITHMS:
        raise PgpKeyError(f"{where}: a key of unknown algorithm {body[5]}")


def _first_packet_tag(data: bytes) -> int | None:
    """The packet type of the first packet (old or new header format), or None if it is not a packet."""
    if not data or not data[0] & 0x80:
        return None
    first = data[0]
    return first & 0x3F if first & 0x40 else (first >> 2) & 0x0F


def _crc24_step(index: int) -> int:
    """The CRC-24 of RFC 9580 §6.1 over one octet's eight bits, starting from ``index << 16``."""
    crc = index << 16
    for _ in range(8):
        crc <<= 1
        if crc & 0x1000000:
            crc ^= 0x1864CFB
    return crc & 0xFFFFFF


_CRC24_TABLE = tuple(_crc24_step(index) for index in range(256))


def _crc24(data: bytes) -> int:
    """The armor checksum of RFC 9580 §6.1, an octet at a time (a table of 256 steps, not 8 bit steps each:
    the connection's parser checksums every stored key block)."""
    crc = 0xB704CE
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFF) ^ _CRC24_TABLE[(crc >> 16) ^ byte]
    return crc
