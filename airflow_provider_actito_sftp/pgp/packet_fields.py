"""The fields of each OpenPGP packet that may open a message (RFC 9580 §5), checked for :mod:`.packets`.

Each check reads a packet body as far as the head of the file shows it and raises :class:`NotPgp` for a
value no OpenPGP implementation writes (unknown version or algorithm, lengths that do not add up), or
:class:`Short` where the head ends before the field. Internal to the ``pgp`` package.
"""

from __future__ import annotations

import time
from collections.abc import Container

PUBLIC_KEY_ALGORITHMS = frozenset({1, 2, 3, 16, 18, 20, 22, 25, 26})
SIGNING_ALGORITHMS = frozenset({1, 3, 17, 19, 20, 22, 27, 28})
SYMMETRIC_KEY_SIZES = {1: 16, 2: 24, 3: 16, 4: 16, 7: 16, 8: 24, 9: 32, 10: 32, 11: 16, 12: 24, 13: 32}
HASH_ALGORITHMS = frozenset({1, 2, 3, 8, 9, 10, 11, 12, 14})
AEAD_IV_SIZES = {1: 16, 2: 15, 3: 12}  # EAX, OCB, GCM
DATA_SIGNATURE_TYPES = frozenset({0x00, 0x01, 0x02})
LITERAL_FORMATS = frozenset(b"btuml1")


class NotPgp(Exception):
    """The data cannot be the start of an OpenPGP message; the text says why."""


class Short(Exception):
    """``head`` ends inside a packet: what was visible passed the checks."""


class Body:
    """A packet body as far as ``head`` shows it; reading past what is visible raises :class:`Short`.

    :param data: the body's octets that ``head`` holds.
    :param complete: whether ``data`` is the whole body (then reading past it raises :class:`NotPgp`).
    :param what: the packet, as errors name it (e.g. ``"first packet tag 1"``).
    """

    def __init__(self, data: bytes, complete: bool, what: str) -> None:
        self.data, self.complete, self.what, self.pos = data, complete, what, 0

    def take(self, count: int) -> bytes:
        """The next ``count`` octets."""
        if self.pos + count > len(self.data):
            if self.complete:
                raise NotPgp(f"{self.what} is too short for its fields")
            raise Short
        self.pos += count
        return self.data[self.pos - count : self.pos]

    def octet(self) -> int:
        """The next octet."""
        return self.take(1)[0]

    def choice(self, name: str, allowed: Container[int]) -> int:
        """The next octet, which must be one of ``allowed`` (``name`` says what it is, for the error)."""
        value = self.octet()
        if value not in allowed:
            raise NotPgp(f"{self.what} has {name} {value}")
        return value

    def mpi(self) -> None:
        """Skip a non-empty multiprecision integer."""
        bits = int.from_bytes(self.take(2))
        if bits == 0:
            raise NotPgp(f"{self.what} has an empty MPI")
        self.take((bits + 7) // 8)

    def rest(self) -> int:
        """How many octets follow (only knowable for a complete body)."""
        if not self.complete:
            raise Short
        return len(self.data) - self.pos

    def end(self) -> None:
        """Check that the fields read fill a complete body exactly."""
        if self.complete and self.pos != len(self.data):
            raise NotPgp(f"{self.what} has {len(self.data) - self.pos} octets more than its fields")


def public_key_id(body: Body) -> str:
    """Check a PKESK's version; return the recipient's key id (v6: from its fingerprint)."""
    if body.choice("version", {3, 6}) == 3:
        return body.take(8).hex().upper()
    count = body.choice("fingerprint length", {0, 21, 33})
    if not count:
        return "0" * 16
    key_version = body.choice("key version", {4} if count == 21 else {6})
    fingerprint = body.take(count - 1)
    return (fingerprint[-8:] if key_version == 4 else fingerprint[:8]).hex().upper()


def public_key_esk(body: Body) -> None:
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


def _s2k(body: Body) -> int:
    """Check a string-to-key specifier; return its length."""
    start = body.pos
    kind = body.choice("S2K type", {0, 1, 3, 4})
    if kind == 4:  # Argon2: salt, passes, parallelism, memory
        body.take(19)
    else:
        body.choice("S2K hash algorithm", HASH_ALGORITHMS)
        body.take({0: 0, 1: 8, 3: 9}[kind])
    return body.pos - start


def symmetric_key_esk(body: Body) -> None:
    """Check a SKESK (v4, v5 or v6): cipher, AEAD mode, S2K, and an encrypted session key of a real size."""
    version = body.choice("version", {4, 5, 6})
    if version == 6:
        count = body.octet()
    cipher = body.choice("cipher algorithm", SYMMETRIC_KEY_SIZES)
    if version == 4:
        _s2k(body)
        if body.rest() not in (0, 1 + SYMMETRIC_KEY_SIZES[cipher]):
            raise NotPgp(f"{body.what} has an encrypted session key of {body.rest()} octets")
        return
    iv_size = AEAD_IV_SIZES[body.choice("AEAD algorithm", AEAD_IV_SIZES)]
    if version == 6:
        s2k_size = body.octet()
        if _s2k(body) != s2k_size or count != 3 + s2k_size + iv_size:
            raise NotPgp(f"{body.what} has inconsistent field lengths")
    else:
        _s2k(body)
    body.take(iv_size)
    if body.rest() not in {size + 16 for size in SYMMETRIC_KEY_SIZES.values()}:
        raise NotPgp(f"{body.what} has an encrypted session key of {body.rest()} octets")


def one_pass_signature(body: Body) -> None:
    """Check a one-pass signature packet (v3 or v6), which fills the packet exactly."""
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


def signature(body: Body) -> None:
    """Check a data signature packet's fields up to the signature itself, and that room is left for it."""
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
        raise NotPgp(f"{body.what} has no room for a signature")


def encrypted_data(tag: int, body: Body) -> None:
    """Check the start of encrypted data: SED (9), SEIPD v1/v2 (18) or AEAD (20).

    :param tag: the packet's tag.
    """
    version = 0 if tag == 9 else body.choice("version", {1, 2} if tag == 18 else {1})
    if tag == 9 or (version == 1 and tag == 18):  # CFB: a one-block prefix plus two octets (and an MDC)
        if body.complete and len(body.data) < (10 if tag == 9 else 1 + 10 + 22):
            raise NotPgp(f"{body.what} is too short for encrypted data")
        return
    body.choice("cipher algorithm", SYMMETRIC_KEY_SIZES)
    body.choice("AEAD algorithm", AEAD_IV_SIZES)
    body.choice("chunk size octet", range(17 if tag == 18 else 57))


def literal(body: Body) -> None:
    """Check a literal data packet's header: format, file name, date."""
    body.choice("data format", LITERAL_FORMATS)
    if any(octet < 0x20 or octet == 0x7F for octet in body.take(body.octet())):
        raise NotPgp(f"{body.what} has a control character in its file name")
    created = int.from_bytes(body.take(4))
    if created > time.time() + 366 * 86400:
        raise NotPgp(f"{body.what} is dated after next year")
