"""Tell an OpenPGP message from other data by its first packet headers (RFC 9580 §4.2, §10.3).

A file is PGP only if its first packets parse as the start of an OpenPGP message with plausible
contents: a known packet type in a legal order, a length that fits the file, known versions and
algorithm ids, and, where the structure is fixed, fields that fill the packet exactly
(:mod:`~airflow_provider_actito_sftp.pgp.packet_fields`). A plaintext file whose first byte merely
looks like a packet tag is not PGP, and random bytes almost never pass.

Armor that a Windows tool wrote as UTF-16 or with a byte-order mark (:func:`armor_text_encoding`) is read as
the ASCII armor it holds. The same header parser splits a key block into its packets (:func:`key_packets`), for
the check of the keys a connection stores (:func:`~airflow_provider_actito_sftp.pgp.armor.check_secret_keys`).
"""

from __future__ import annotations

import base64
import binascii
import bz2
import codecs
import re
import zlib
from dataclasses import dataclass
from enum import Enum

from airflow_provider_actito_sftp.pgp.packet_fields import (
    Body,
    NotPgp,
    Short,
    encrypted_data,
    literal,
    one_pass_signature,
    public_key_esk,
    public_key_id,
    signature,
    symmetric_key_esk,
)

_DATA_TAGS = frozenset({8, 9, 11, 18, 20})  # the only packets that may use partial or indeterminate lengths
_ENCRYPTED_DATA_TAGS = frozenset({9, 18, 20})
_MAX_PACKETS = 64
_MAX_NESTING = 3
_ORDINALS = ("first", "second", "third", "fourth", "fifth")
_NOT_MESSAGES = {5: "a secret key", 6: "a public key", 7: "a secret subkey", 13: "a user id", 14: "a public subkey"}
_Verdict = tuple["PgpKind", tuple[str, ...], str]  # kind, key ids, note
_ARMOR = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*-----BEGIN PGP ([A-Z0-9 ,/]+)-----[ \t]*(?:\r?\n|\Z)")
_ARMOR_TEXT = re.compile(r"\s*-----BEGIN PGP ")
_SNIFFED_TEXT = 64 * 1024  # of a head in UTF-16, the bytes re-encoded to see the message's first packets


@dataclass(frozen=True)
class TextEncoding:
    """How a Windows tool may write armored text (PowerShell's ``Out-File``, Notepad's "Unicode").

    :param name: as messages name it (``"UTF-16 LE"``).
    :param codec: Python's codec for the text after the byte-order mark.
    :param bom: the byte-order mark it starts with (``b""``: none).
    """

    name: str
    codec: str
    bom: bytes


_WINDOWS_TEXT = (  # the longer marks first: UTF-32 LE's begins with UTF-16 LE's
    TextEncoding("UTF-8 with a byte-order mark", "utf-8", codecs.BOM_UTF8),
    TextEncoding("UTF-32 LE", "utf-32-le", codecs.BOM_UTF32_LE),
    TextEncoding("UTF-32 BE", "utf-32-be", codecs.BOM_UTF32_BE),
    TextEncoding("UTF-16 LE", "utf-16-le", codecs.BOM_UTF16_LE),
    TextEncoding("UTF-16 BE", "utf-16-be", codecs.BOM_UTF16_BE),
    TextEncoding("UTF-16 LE without a byte-order mark", "utf-16-le", b""),
    TextEncoding("UTF-16 BE without a byte-order mark", "utf-16-be", b""),
)


def armor_text_encoding(head: bytes) -> TextEncoding | None:
    """The encoding of armored text that gpg and ``sq`` cannot read as it is (they read ASCII armor only): a
    byte-order mark, or UTF-16/UTF-32; None for ASCII armor, binary OpenPGP and anything else.

    :param head: the file's first bytes (a hundred are enough).
    """
    for encoding in _WINDOWS_TEXT:
        if head.startswith(encoding.bom):
            start = head[len(encoding.bom) : len(encoding.bom) + 256]
            text = codecs.getincrementaldecoder(encoding.codec)("replace").decode(start)
            if _ARMOR_TEXT.match(text):
                return encoding
    return None


def _as_ascii_armor(head: bytes, size: int) -> tuple[bytes, int]:
    """``head`` and ``size`` as they would be had the partner's tool written ASCII armor: the byte-order mark
    left out, UTF-16 or UTF-32 text re-encoded (up to :data:`_SNIFFED_TEXT` bytes of it; the size then stays
    larger than the head when the file goes on)."""
    encoding = armor_text_encoding(head)
    if encoding is None:
        return head, size
    seen = head[len(encoding.bom) : _SNIFFED_TEXT]
    whole = len(head) == size and len(seen) == len(head) - len(encoding.bom)
    text = codecs.getincrementaldecoder(encoding.codec)("replace").decode(seen, final=whole)
    ascii_head = text.encode("utf-8")
    return ascii_head, len(ascii_head) if whole else max(size, len(ascii_head) + 1)


class PgpKind(Enum):
    """What the start of a file says it is."""

    NOT_PGP = "not_pgp"
    PUBLIC_KEY_ENCRYPTED = "public_key_encrypted"  # a session key for a public key (and maybe passwords)
    SYMMETRIC = "symmetric"  # session keys for passphrases only
    ARMORED = "armored"  # ``-----BEGIN PGP MESSAGE-----`` text
    UNENCRYPTED_PGP = "unencrypted_pgp"  # compressed, literal or signed data, not encrypted
    # signed (or wrapped) as data after it was encrypted: the literal data is a message encrypted to a key
    SIGNED_AROUND_ENCRYPTED = "signed_around_encrypted"


@dataclass(frozen=True)
class PgpSniff:
    """The verdict of :func:`sniff`.

    :param kind: what the file is.
    :param key_ids: recipient key ids (16 upper-case hex digits; ``"0000000000000000"`` for a hidden
        recipient) of the public-key session key packets seen, in order.
    :param reason: for ``NOT_PGP``, why not (e.g. ``"first packet tag 1 has version 200"``); otherwise
        empty, or what could not be seen within ``head``.
    :param armored_kind: for ``ARMORED``, the kind of the de-armored message as far as ``head`` shows it
        (``None`` if its base64 does not decode).
    """

    kind: PgpKind
    key_ids: tuple[str, ...] = ()
    reason: str = ""
    armored_kind: PgpKind | None = None

    @property
    def is_pgp(self) -> bool:
        return self.kind is not PgpKind.NOT_PGP


def sniff(head: bytes, size: int) -> PgpSniff:
    """Tell whether a file is an OpenPGP message, and which kind, from its first bytes.

    Old and new packet headers with every length encoding are parsed; marker, padding, one-pass
    signature and signature packets before the message are walked over, so a message signed around its
    encryption is still recognised. Encrypted data is never decrypted: the verdict is about its form. Armor
    saved with a byte-order mark or as UTF-16 is judged as the ASCII armor it holds (:func:`armor_text_encoding`).

    :param head: the first bytes of the file (4096 are plenty; fewer than the file is fine).
    :param size: the size of the whole file, in bytes; a packet that would not fit makes it ``NOT_PGP``.
    :return: the verdict; ``NOT_PGP`` carries a reason.
    :raises ValueError: ``size`` is smaller than ``len(head)``.
    """
    if size < len(head):
        raise ValueError(f"size {size} is smaller than the {len(head)} bytes of head")
    if size == 0:
        return PgpSniff(PgpKind.NOT_PGP, reason="empty file")
    head, size = _as_ascii_armor(head, size)
    armor = _ARMOR.match(head)
    if armor:
        return _sniff_armored(head, armor, size)
    try:
        kind, key_ids, note = _walk(head, size, "")
    except NotPgp as e:
        return PgpSniff(PgpKind.NOT_PGP, reason=str(e))
    return PgpSniff(kind, key_ids, note)


def _sniff_armored(head: bytes, armor: re.Match[bytes], size: int) -> PgpSniff:
    label = armor.group(1).decode("ascii")
    if label != "MESSAGE":
        return PgpSniff(PgpKind.NOT_PGP, reason=f"ASCII-armored PGP {label}, not a PGP message")
    lines = head[armor.end() :].splitlines(keepends=True)
    if len(head) < size and lines and not lines[-1].endswith(b"\n"):
        lines.pop()  # cut by the end of head
    words = [line.strip() for line in lines]
    if b"" in words and any(b":" in word for word in words[: words.index(b"")]):
        words = words[words.index(b"") + 1 :]  # skip the armor headers ("Version: ...")
    body = b""
    for word in words:
        if word.startswith((b"=", b"-")):  # the checksum or the footer
            break
        body += word
    try:
        binary = base64.b64decode(body[: len(body) // 4 * 4], validate=True)
        kind, key_ids, note = _walk(binary, None, "in the armor, ")
    except binascii.Error:
        return PgpSniff(PgpKind.ARMORED, reason="the armored base64 does not decode")
    except NotPgp as e:
        return PgpSniff(PgpKind.ARMORED, reason=str(e), armored_kind=PgpKind.NOT_PGP)
    return PgpSniff(PgpKind.ARMORED, key_ids, note, armored_kind=kind)


@dataclass(frozen=True)
class _Header:
    tag: int
    length: int  # the header's own octets
    body: int | None  # body octets (the first chunk if partial); None: up to the end of the file
    partial: bool


def _header(data: bytes, pos: int, what: str) -> _Header:
    """Parse the packet header at ``data[pos]``; :class:`Short` if ``data`` ends inside it."""
    octets = Body(data[pos : pos + 6], False, what)
    first = octets.octet()
    if not first & 0x80:
        raise NotPgp(f"{what} starts with octet 0x{first:02x}, not a packet header")
    if not first & 0x40:  # legacy format: 4-bit tag, 2-bit length type (3: up to the end of the file)
        tag, length_type = (first >> 2) & 0x0F, first & 0x03
        if length_type == 3:
            return _Header(tag, 1, None, False)
        return _Header(tag, 1 + (1 << length_type), int.from_bytes(octets.take(1 << length_type)), False)
    tag, length = first & 0x3F, octets.octet()
    if length < 192:
        return _Header(tag, 2, length, False)
    if length < 224:
        return _Header(tag, 3, ((length - 192) << 8) + octets.octet() + 192, False)
    if length == 255:
        return _Header(tag, 6, int.from_bytes(octets.take(4)), False)
    return _Header(tag, 2, 1 << (length & 0x1F), True)


def key_packets(data: bytes) -> list[tuple[int, bytes]]:
    """The packets of a key block (RFC 9580 §10.1, §10.2), ``(tag, body)`` in order: the headers must tile
    ``data`` exactly, each with a definite length (no key packet has a partial or indeterminate one).

    :param data: the de-armored key block.
    :raises NotPgp: a header does not parse, a length runs past the end, or a length is not definite.
    """
    packets: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        what = f"packet #{len(packets) + 1}"
        if not data[pos] & 0x80:  # said here, without the octet: in a damaged key block it may be key material
            raise NotPgp(f"{what} does not start with a packet header")
        try:
            header = _header(data, pos, what)
        except Short:
            raise NotPgp(f"the data ends inside the header of {what}") from None
        what = f"{what} tag {header.tag}"
        if header.body is None or header.partial:
            raise NotPgp(f"{what} has a partial or indeterminate length, which no key packet has")
        end = pos + header.length + header.body
        if end > len(data):
            raise NotPgp(f"{what} is {header.body} octets long, past the end of the data")
        packets.append((header.tag, data[pos + header.length : end]))
        pos = end
    return packets


def _walk(data: bytes, size: int | None, where: str, depth: int = 0) -> _Verdict:
    """Walk the packets that may open a message, up to its data packet.

    :param size: the length of the whole message, or ``None`` if unknown (``data`` may be cut anywhere).
    """
    pos, wrappers, signed_first, skesks, key_ids = 0, 0, False, 0, list[str]()
    for index in range(_MAX_PACKETS):
        what = f"{where}{_ORDINALS[index] if index < len(_ORDINALS) else f'packet #{index + 1}'} packet"
        if pos >= len(data):
            return _at_end(size is not None and pos >= size, key_ids, skesks, bool(wrappers or signed_first), where)
        try:
            header = _header(data, pos, what)
        except Short:
            if size is not None and len(data) >= size:
                raise NotPgp(f"{where}the file ends inside the header of the {what}") from None
            return _at_end(False, key_ids, skesks, bool(wrappers or signed_first), where)
        what = f"{what} tag {header.tag}"
        end = None if header.body is None else pos + header.length + header.body
        if (header.body is None or header.partial) and header.tag not in _DATA_TAGS:
            raise NotPgp(f"{what} (not a data packet) has a partial or indeterminate length")
        if header.partial and (header.body or 0) < 512:
            raise NotPgp(f"{what} starts with a partial length of {header.body} (at least 512 required)")
        if end is not None and size is not None and end > size:
            raise NotPgp(f"{what} is {header.body} octets long, past the end of the file")
        if header.tag in (1, 3) and (header.body or 0) > _MAX_SESSION_KEY_PACKET:
            raise NotPgp(f"{what} is {header.body} octets long, more than any session key packet")
        complete = end is not None and not header.partial and end <= len(data)
        body = Body(data[pos + header.length : end], complete, what)
        esk = bool(key_ids) or skesks > 0
        try:
            if header.tag == 10 or (header.tag == 21 and index > 0):  # marker, padding: ignored
                if header.tag == 10 and body.data != b"PGP":
                    raise NotPgp(f"{what} is a marker packet whose body is not 'PGP'")
            elif header.tag == 4 and not esk:
                one_pass_signature(body)
                wrappers += 1
            elif header.tag == 2 and not esk and not wrappers:
                signature(body)
                signed_first = True
            elif header.tag == 1:
                key_ids.append(public_key_id(body))
                public_key_esk(body)
            elif header.tag == 3:
                symmetric_key_esk(body)
                skesks += 1
            elif header.tag in _ENCRYPTED_DATA_TAGS and esk:
                encrypted_data(header.tag, body)
                _check_last(data, header, end, size, wrappers, what)
                return PgpKind.PUBLIC_KEY_ENCRYPTED if key_ids else PgpKind.SYMMETRIC, tuple(key_ids), ""
            elif header.tag in _ENCRYPTED_DATA_TAGS:
                raise NotPgp(f"{what} is encrypted data without a session key packet before it")
            elif header.tag in (8, 11) and not esk:
                inner = _compressed(body, where, depth) if header.tag == 8 else _literal(body, where, depth)
                _check_last(data, header, end, size, wrappers, what)
                return inner
            else:
                place = "start" if index == 0 else "appear at this point in"
                kind = f" ({_NOT_MESSAGES[header.tag]})" if header.tag in _NOT_MESSAGES else ""
                raise NotPgp(f"{what}{kind} cannot {place} a message")
        except Short:
            skesks += header.tag == 3 and body.pos >= 2  # its version and cipher were checked
            signed = bool(wrappers or signed_first or header.tag in (2, 4))
            return _at_end(False, key_ids, skesks, signed, where, f"the head ends inside the {what}")
        assert end is not None  # only data packets lack a definite length, and they return above
        pos = end
    raise NotPgp(f"{where}more than {_MAX_PACKETS} packets before the message data")


# What is inflated of a compressed packet to look inside: enough for a literal packet's header and, when
# its data is an encrypted message, that message's session key packets (an RSA-4096 PKESK is ~530 octets).
_INFLATED_HEAD = 4096

# An RSA-16384 PKESK is about 2.1 KB; so bounded, a session key packet always lies whole within the head,
# and all of its fields are checked (random data with a plausible first octet no longer passes).
_MAX_SESSION_KEY_PACKET = 4000


def _at_end(file_ended: bool, key_ids: list[str], skesks: int, signed: bool, where: str, note: str = "") -> _Verdict:
    """Decide when the packets seen so far are all there is (``file_ended``) or all that ``head`` shows."""
    if key_ids or skesks:
        if file_ended:
            raise NotPgp(f"{where}session key packets but no encrypted data")
        kind = PgpKind.PUBLIC_KEY_ENCRYPTED if key_ids else PgpKind.SYMMETRIC
        return kind, tuple(key_ids), note or "the head ends before the encrypted data"
    if file_ended:
        raise NotPgp(f"{where}{'a detached signature, not' if signed else 'no data in'} a message")
    if signed:
        return PgpKind.UNENCRYPTED_PGP, (), note or "the head ends before the signed data"
    raise NotPgp(f"{where}no message data within the head")


def _check_last(data: bytes, header: _Header, end: int | None, size: int | None, wrappers: int, what: str) -> None:
    """The data packet ends the message; only the signatures of one-pass signatures (or padding) follow."""
    if header.partial:
        return  # the real end is out of sight
    if end is None or end == size:
        if wrappers:
            raise NotPgp(f"{what} runs to the end of the file, leaving no room for its signature")
        return
    try:
        follower = _header(data, end, f"{what}, then the next packet")
    except Short:
        return
    if follower.tag not in ({2, 10, 21} if wrappers else {10, 21}):
        raise NotPgp(f"{what} is followed by a packet tag {follower.tag}")


def _literal(body: Body, where: str, depth: int) -> _Verdict:
    literal(body)
    inner = _encrypted_inside(body.data[body.pos :], where, depth)
    return inner if inner is not None else (PgpKind.UNENCRYPTED_PGP, (), "")


def _encrypted_inside(content: bytes, where: str, depth: int) -> _Verdict | None:
    """A literal data packet whose own data starts a message encrypted to a key (binary or armored): what
    signing an already encrypted file makes (``gpg --sign file.pgp``, ``sq sign``). None otherwise."""
    if depth >= _MAX_NESTING:
        return None
    armor = _ARMOR.match(content)
    if armor:
        inner = _sniff_armored(content, armor, len(content) + 1)  # the literal data goes on past what is seen
        kind, key_ids = inner.armored_kind, inner.key_ids
    else:
        try:
            kind, key_ids, _ = _walk(content, None, f"{where}inside the literal data, ", depth + 1)
        except NotPgp:
            return None
    if kind is PgpKind.PUBLIC_KEY_ENCRYPTED:
        return PgpKind.SIGNED_AROUND_ENCRYPTED, key_ids, ""
    return None


def _compressed(body: Body, where: str, depth: int) -> _Verdict:
    algorithm = body.choice("compression algorithm", {0, 1, 2, 3})
    if depth >= _MAX_NESTING:
        raise NotPgp(f"{body.what} is nested more than {_MAX_NESTING} deep")
    compressed = body.data[body.pos :]
    try:
        if algorithm == 0:
            inner, complete = compressed, body.complete
        else:  # 1: raw deflate, 2: zlib, 3: bzip2
            engine = bz2.BZ2Decompressor() if algorithm == 3 else zlib.decompressobj(-15 if algorithm == 1 else 15)
            inner = engine.decompress(compressed, _INFLATED_HEAD)
            complete = body.complete and engine.eof
    except (OSError, EOFError, zlib.error) as e:
        raise NotPgp(f"{body.what} does not decompress ({e})") from None
    if not inner and not complete:  # bzip2 outputs nothing before a whole block (up to 900 kB) is in
        return PgpKind.UNENCRYPTED_PGP, (), f"the head ends before {body.what} decompresses"
    return _walk(inner, len(inner) if complete else None, f"{where}inside the compressed data, ", depth + 1)
