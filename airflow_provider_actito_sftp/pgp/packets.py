"""Tell an OpenPGP message from other data by its first packet headers (RFC 9580 §4.2, §10.3).

A file is PGP only if its first packets parse as the start of an OpenPGP message with plausible
contents: a known packet type in a legal order, a length that fits the file, known versions and
algorithm ids, and, where the structure is fixed, fields that fill the packet exactly. A plaintext file
whose first byte merely looks like a packet tag is not PGP, and random bytes almost never pass.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import re
import time
import zlib
from collections.abc import Container
from dataclasses import dataclass
from enum import Enum

PUBLIC_KEY_ALGORITHMS = frozenset({1, 2, 3, 16, 18, 20, 22, 25, 26})
SIGNING_ALGORITHMS = frozenset({1, 3, 17, 19, 20, 22, 27, 28})
SYMMETRIC_KEY_SIZES = {1: 16, 2: 24, 3: 16, 4: 16, 7: 16, 8: 24, 9: 32, 10: 32, 11: 16, 12: 24, 13: 32}
HASH_ALGORITHMS = frozenset({1, 2, 3, 8, 9, 10, 11, 12, 14})
AEAD_IV_SIZES = {1: 16, 2: 15, 3: 12}  # EAX, OCB, GCM
DATA_SIGNATURE_TYPES = frozenset({0x00, 0x01, 0x02})
LITERAL_FORMATS = frozenset(b"btuml1")
_DATA_TAGS = frozenset({8, 9, 11, 18, 20})  # the only packets that may use partial or indeterminate lengths
_ENCRYPTED_DATA_TAGS = frozenset({9, 18, 20})
_MAX_PACKETS = 64
_MAX_NESTING = 3
_ORDINALS = ("first", "second", "third", "fourth", "fifth")
_NOT_MESSAGES = {5: "a secret key", 6: "a public key", 7: "a secret subkey", 13: "a user id", 14: "a public subkey"}
_Verdict = tuple["PgpKind", tuple[str, ...], str]  # kind, key ids, note
_ARMOR = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*-----BEGIN PGP ([A-Z0-9 ,/]+)-----[ \t]*(?:\r?\n|\Z)")


class PgpKind(Enum):
    """What the start of a file says it is."""

    NOT_PGP = "not_pgp"
    PUBLIC_KEY_ENCRYPTED = "public_key_encrypted"  # a session key for a public key (and maybe passwords)
    SYMMETRIC = "symmetric"  # session keys for passphrases only
    ARMORED = "armored"  # ``-----BEGIN PGP MESSAGE-----`` text
    UNENCRYPTED_PGP = "unencrypted_pgp"  # compressed, literal or signed data, not encrypted


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


class _NotPgp(Exception):
    """The data cannot be the start of an OpenPGP message; the text says why."""


class _Short(Exception):
    """``head`` ends inside a packet: what was visible passed the checks."""


def sniff(head: bytes, size: int) -> PgpSniff:
    """Tell whether a file is an OpenPGP message, and which kind, from its first bytes.

    Old and new packet headers with every length encoding are parsed; marker, padding, one-pass
    signature and signature packets before the message are walked over, so a message signed around its
    encryption is still recognised. Encrypted data is never decrypted: the verdict is about its form.

    :param head: the first bytes of the file (4096 are plenty; fewer than the file is fine).
    :param size: the size of the whole file, in bytes; a packet that would not fit makes it ``NOT_PGP``.
    :return: the verdict; ``NOT_PGP`` carries a reason.
    :raises ValueError: ``size`` is smaller than ``len(head)``.
    """
    if size < len(head):
        raise ValueError(f"size {size} is smaller than the {len(head)} bytes of head")
    if size == 0:
        return PgpSniff(PgpKind.NOT_PGP, reason="empty file")
    armor = _ARMOR.match(head)
    if armor:
        return _sniff_armored(head, armor, size)
    try:
        kind, key_ids, note = _walk(head, size, "")
    except _NotPgp as e:
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
    except _NotPgp as e:
        return PgpSniff(PgpKind.ARMORED, reason=str(e), armored_kind=PgpKind.NOT_PGP)
    return PgpSniff(PgpKind.ARMORED, key_ids, note, armored_kind=kind)


@dataclass(frozen=True)
class _Header:
    tag: int
    length: int  # the header's own octets
    body: int | None  # body octets (the first chunk if partial); None: up to the end of the file
    partial: bool


def _header(data: bytes, pos: int, what: str) -> _Header:
    """Parse the packet header at ``data[pos]``; :class:`_Short` if ``data`` ends inside it."""
    octets = _Body(data[pos : pos + 6], False, what)
    first = octets.octet()
    if not first & 0x80:
        raise _NotPgp(f"{what} starts with octet 0x{first:02x}, not a packet header")
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
        except _Short:
            if size is not None and len(data) >= size:
                raise _NotPgp(f"{where}the file ends inside the header of the {what}") from None
            return _at_end(False, key_ids, skesks, bool(wrappers or signed_first), where)
        what = f"{what} tag {header.tag}"
        end = None if header.body is None else pos + header.length + header.body
        if (header.body is None or header.partial) and header.tag not in _DATA_TAGS:
            raise _NotPgp(f"{what} (not a data packet) has a partial or indeterminate length")
        if header.partial and (header.body or 0) < 512:
            raise _NotPgp(f"{what} starts with a partial length of {header.body} (at least 512 required)")
        if end is not None and size is not None and end > size:
            raise _NotPgp(f"{what} is {header.body} octets long, past the end of the file")
        if header.tag in (1, 3) and (header.body or 0) > _MAX_SESSION_KEY_PACKET:
            raise _NotPgp(f"{what} is {header.body} octets long, more than any session key packet")
        complete = end is not None and not header.partial and end <= len(data)
        body = _Body(data[pos + header.length : end], complete, what)
        esk = bool(key_ids) or skesks > 0
        try:
            if header.tag == 10 or (header.tag == 21 and index > 0):  # marker, padding: ignored
                if header.tag == 10 and body.data != b"PGP":
                    raise _NotPgp(f"{what} is a marker packet whose body is not 'PGP'")
            elif header.tag == 4 and not esk:
                _one_pass_signature(body)
                wrappers += 1
            elif header.tag == 2 and not esk and not wrappers:
                _signature(body)
                signed_first = True
            elif header.tag == 1:
                key_ids.append(_public_key_id(body))
                _public_key_esk(body)
            elif header.tag == 3:
                _symmetric_key_esk(body)
                skesks += 1
            elif header.tag in _ENCRYPTED_DATA_TAGS and esk:
                _encrypted_data(header.tag, body)
                _check_last(data, header, end, size, wrappers, what)
                return PgpKind.PUBLIC_KEY_ENCRYPTED if key_ids else PgpKind.SYMMETRIC, tuple(key_ids), ""
            elif header.tag in _ENCRYPTED_DATA_TAGS:
                raise _NotPgp(f"{what} is encrypted data without a session key packet before it")
            elif header.tag in (8, 11) and not esk:
                inner = _compressed(body, where, depth) if header.tag == 8 else _literal(body)
                _check_last(data, header, end, size, wrappers, what)
                return inner
            else:
                place = "start" if index == 0 else "appear at this point in"
                kind = f" ({_NOT_MESSAGES[header.tag]})" if header.tag in _NOT_MESSAGES else ""
                raise _NotPgp(f"{what}{kind} cannot {place} a message")
        except _Short:
            skesks += header.tag == 3 and body.pos >= 2  # its version and cipher were checked
            signed = bool(wrappers or signed_first or header.tag in (2, 4))
            return _at_end(False, key_ids, skesks, signed, where, f"the head ends inside the {what}")
        assert end is not None  # only data packets lack a definite length, and they return above
        pos = end
    raise _NotPgp(f"{where}more than {_MAX_PACKETS} packets before the message data")


# An RSA-16384 PKESK is about 2.1 KB; so bounded, a session key packet always lies whole within the head,
# and all of its fields are checked (random data with a plausible first octet no longer passes).
_MAX_SESSION_KEY_PACKET = 4000


def _at_end(file_ended: bool, key_ids: list[str], skesks: int, signed: bool, where: str, note: str = "") -> _Verdict:
    """Decide when the packets seen so far are all there is (``file_ended``) or all that ``head`` shows."""
    if key_ids or skesks:
        if file_ended:
            raise _NotPgp(f"{where}session key packets but no encrypted data")
        kind = PgpKind.PUBLIC_KEY_ENCRYPTED if key_ids else PgpKind.SYMMETRIC
        return kind, tuple(key_ids), note or "the head ends before the encrypted data"
    if file_ended:
        raise _NotPgp(f"{where}{'a detached signature, not' if signed else 'no data in'} a message")
    if signed:
        return PgpKind.UNENCRYPTED_PGP, (), note or "the head ends before the signed data"
    raise _NotPgp(f"{where}no message data within the head")


def _check_last(data: bytes, header: _Header, end: int | None, size: int | None, wrappers: int, what: str) -> None:
    """The data packet ends the message; only the signatures of one-pass signatures (or padding) follow."""
    if header.partial:
        return  # the real end is out of sight
    if end is None or end == size:
        if wrappers:
            raise _NotPgp(f"{what} runs to the end of the file, leaving no room for its signature")
        return
    try:
        follower = _header(data, end, f"{what}, then the next packet")
    except _Short:
        return
    if follower.tag not in ({2, 10, 21} if wrappers else {10, 21}):
        raise _NotPgp(f"{what} is followed by a packet tag {follower.tag}")


class _Body:
    """A packet body as far as ``head`` shows it; reading past what is visible raises :class:`_Short`."""

    def __init__(self, data: bytes, complete: bool, what: str) -> None:
        self.data, self.complete, self.what, self.pos = data, complete, what, 0

    def take(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            if self.complete:
                raise _NotPgp(f"{self.what} is too short for its fields")
            raise _Short
        self.pos += count
        return self.data[self.pos - count : self.pos]

    def octet(self) -> int:
        return self.take(1)[0]

    def choice(self, name: str, allowed: Container[int]) -> int:
        value = self.octet()
        if value not in allowed:
            raise _NotPgp(f"{self.what} has {name} {value}")
        return value

    def mpi(self) -> None:
        bits = int.from_bytes(self.take(2))
        if bits == 0:
            raise _NotPgp(f"{self.what} has an empty MPI")
        self.take((bits + 7) // 8)

    def rest(self) -> int:
        if not self.complete:
            raise _Short
        return len(self.data) - self.pos

    def end(self) -> None:
        if self.complete and self.pos != len(self.data):
            raise _NotPgp(f"{self.what} has {len(self.data) - self.pos} octets more than its fields")


def _public_key_id(body: _Body) -> str:
    """Check a PKESK's version; return the recipient's key id (v6: from its fingerprint)."""
    if body.choice("version", {3, 6}) == 3:
        return body.take(8).hex().upper()
    count = body.choice("fingerprint length", {0, 21, 33})
    if not count:
        return "0" * 16
    key_version = body.choice("key version", {4} if count == 21 else {6})
    fingerprint = body.take(count - 1)
    return (fingerprint[-8:] if key_version == 4 else fingerprint[:8]).hex().upper()


def _public_key_esk(body: _Body) -> None:
    """Check the rest of a PKESK: the algorithm and its fields, which fill the packet exactly."""
    algorithm = body.choice("public-key algorithm", PUBLIC_KEY_ALGORITHMS)
    if algorithm in (25, 26):  # X25519, X448: ephemeral key, then a sized session key
        body.take(32 if algorithm == 25 else 56)
        body.take(body.octet())
    elif algorithm == 18:  # ECDH: ephemeral point, then a sized wrapped key
        body.mpi()
        body.take(body.octet())
    else:  # RSA: one MPI; Elgamal: two; anything else: MPIs filling the body
        for _ in range({1: 1, 2: 1, 3: 1, 16: 2, 20: 2}.get(algorithm, 1)):
            body.mpi()
        while algorithm == 22 and body.rest():
            body.mpi()
    body.end()


def _s2k(body: _Body) -> int:
    """Check a string-to-key specifier; return its length."""
    start = body.pos
    kind = body.choice("S2K type", {0, 1, 3, 4})
    if kind == 4:  # Argon2: salt, passes, parallelism, memory
        body.take(19)
    else:
        body.choice("S2K hash algorithm", HASH_ALGORITHMS)
        body.take({0: 0, 1: 8, 3: 9}[kind])
    return body.pos - start


def _symmetric_key_esk(body: _Body) -> None:
    version = body.choice("version", {4, 5, 6})
    if version == 6:
        count = body.octet()
    cipher = body.choice("cipher algorithm", SYMMETRIC_KEY_SIZES)
    if version == 4:
        _s2k(body)
        if body.rest() not in (0, 1 + SYMMETRIC_KEY_SIZES[cipher]):
            raise _NotPgp(f"{body.what} has an encrypted session key of {body.rest()} octets")
        return
    iv_size = AEAD_IV_SIZES[body.choice("AEAD algorithm", AEAD_IV_SIZES)]
    if version == 6:
        s2k_size = body.octet()
        if _s2k(body) != s2k_size or count != 3 + s2k_size + iv_size:
            raise _NotPgp(f"{body.what} has inconsistent field lengths")
    else:
        _s2k(body)
    body.take(iv_size)
    if body.rest() not in {size + 16 for size in SYMMETRIC_KEY_SIZES.values()}:
        raise _NotPgp(f"{body.what} has an encrypted session key of {body.rest()} octets")


def _one_pass_signature(body: _Body) -> None:
    version = body.choice("version", {3, 6})
    body.choice("signature type", DATA_SIGNATURE_TYPES)
    body.choice("hash algorithm", HASH_ALGORITHMS)
    body.choice("public-key algorithm", SIGNING_ALGORITHMS)
    if version == 6:
        body.take(body.octet())  # salt
        body.take(32)  # fingerprint
    else:
        body.take(8)  # key id
    body.choice("nested flag", {0, 1})
    body.end()


def _signature(body: _Body) -> None:
    version = body.choice("version", {3, 4, 5, 6})
    if version == 3:
        body.choice("hashed length", {5})
        body.choice("signature type", DATA_SIGNATURE_TYPES)
        body.take(12)  # creation time, key id
    else:
        body.choice("signature type", DATA_SIGNATURE_TYPES)
    body.choice("public-key algorithm", SIGNING_ALGORITHMS)
    body.choice("hash algorithm", HASH_ALGORITHMS)
    if version != 3:
        octets = 2 if version == 4 else 4
        body.take(int.from_bytes(body.take(octets)))  # hashed subpackets
        body.take(int.from_bytes(body.take(octets)))  # unhashed subpackets
    body.take(2)  # left 16 bits of the hash
    if body.complete and body.rest() < 32:
        raise _NotPgp(f"{body.what} has no room for a signature")


def _encrypted_data(tag: int, body: _Body) -> None:
    version = 0 if tag == 9 else body.choice("version", {1, 2} if tag == 18 else {1})
    if tag == 9 or (version == 1 and tag == 18):  # CFB: a one-block prefix plus two octets (and an MDC)
        if body.complete and len(body.data) < (10 if tag == 9 else 1 + 10 + 22):
            raise _NotPgp(f"{body.what} is too short for encrypted data")
        return
    body.choice("cipher algorithm", SYMMETRIC_KEY_SIZES)
    body.choice("AEAD algorithm", AEAD_IV_SIZES)
    body.choice("chunk size octet", range(17 if tag == 18 else 57))


def _literal(body: _Body) -> _Verdict:
    body.choice("data format", LITERAL_FORMATS)
    if any(octet < 0x20 or octet == 0x7F for octet in body.take(body.octet())):
        raise _NotPgp(f"{body.what} has a control character in its file name")
    created = int.from_bytes(body.take(4))
    if created > time.time() + 366 * 86400:
        raise _NotPgp(f"{body.what} is dated after next year")
    return PgpKind.UNENCRYPTED_PGP, (), ""


def _compressed(body: _Body, where: str, depth: int) -> _Verdict:
    algorithm = body.choice("compression algorithm", {0, 1, 2, 3})
    if depth >= _MAX_NESTING:
        raise _NotPgp(f"{body.what} is nested more than {_MAX_NESTING} deep")
    compressed = body.data[body.pos :]
    try:
        if algorithm == 0:
            inner, complete = compressed, body.complete
        else:  # 1: raw deflate, 2: zlib, 3: bzip2
            engine = bz2.BZ2Decompressor() if algorithm == 3 else zlib.decompressobj(-15 if algorithm == 1 else 15)
            inner = engine.decompress(compressed, 512)
            complete = body.complete and engine.eof
    except (OSError, EOFError, zlib.error) as e:
        raise _NotPgp(f"{body.what} does not decompress ({e})") from None
    if not inner and not complete:  # bzip2 outputs nothing before a whole block (up to 900 kB) is in
        return PgpKind.UNENCRYPTED_PGP, (), f"the head ends before {body.what} decompresses"
    return _walk(inner, len(inner) if complete else None, f"{where}inside the compressed data, ", depth + 1)
