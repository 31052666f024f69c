"""What we offer a partner's server in the key exchange, for the setup fetch and the session alike, and why an
exchange failed.

:class:`Algorithms`: the connection's ciphers, and the weaker algorithms it accepts for an old server (field
``legacy_algorithms``: SHA-1 ``ssh-rsa`` host key signatures, CBC ciphers), never offered otherwise. When no key
exchange is possible (an old server often just hangs up: "Connection reset by peer"), :func:`find_mismatch` reads
the server's offer (its KEXINIT, without starting an exchange) and says what keeps it and ours apart, and which
field would bridge it (:class:`Mismatch`, in the CLI's or the page's words).
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Iterable
from dataclasses import dataclass

import asyncssh
from asyncssh.encryption import get_default_encryption_algs, get_encryption_algs
from asyncssh.kex import get_default_kex_algs
from asyncssh.mac import get_default_mac_algs

log = logging.getLogger(__name__)

SHA1_RSA = "ssh-rsa"  # a legacy_algorithms word, and the algorithm: an RSA host key's signatures with SHA-1
CBC = "cbc"  # a legacy_algorithms word: the CBC ciphers below
CBC_CIPHERS = ("aes128-cbc", "aes192-cbc", "aes256-cbc")
LEGACY_FIELD = "legacy_algorithms"  # the connection field (connection/schema.py) holding those words
LEGACY_LABEL = "Legacy algorithms (weaker)"  # its label on the page
CIPHERS_LABEL = "Preferred ciphers"  # the page's label of the field ciphers
_MODERN = {SHA1_RSA: "an rsa-sha2-256/512 or ed25519 host key", CBC: "AES-GCM, ChaCha20-Poly1305 or AES-CTR"}
_WEAKER = {SHA1_RSA: "SHA-1 signatures", CBC: "CBC ciphers"}


@dataclass(frozen=True)
class Algorithms:
    """What we offer a server beyond asyncssh's defaults: the connection's ciphers, and the weaker algorithms it
    accepts (field ``legacy_algorithms``; SHA-1 ``ssh-rsa`` host key signatures are never offered otherwise).

    :param ciphers: the connection's ciphers in order of preference (empty: asyncssh's defaults).
    :param legacy: the ``legacy_algorithms`` words: ``ssh-rsa``, ``cbc``.
    """

    ciphers: tuple[str, ...] = ()
    legacy: tuple[str, ...] = ()

    def encryption_algs(self) -> list[str]:
        """The ciphers, then the CBC ones if the connection accepts them."""
        preferred = list(self.ciphers) or [name.decode("ascii") for name in get_default_encryption_algs()]
        return list(dict.fromkeys([*preferred, *(CBC_CIPHERS if CBC in self.legacy else ())]))

    def host_key_algs(self, candidates: Iterable[str]) -> list[str]:
        """``candidates`` in their order, without ``ssh-rsa`` (SHA-1) unless the connection accepts it."""
        return [name for name in candidates if name != SHA1_RSA or SHA1_RSA in self.legacy]


DEFAULTS = Algorithms()  # asyncssh's ciphers, nothing weaker


def signature_algorithms(keys: Iterable[asyncssh.SSHKey]) -> list[str]:
    """Every algorithm the keys sign with (an RSA key: rsa-sha2-256, rsa-sha2-512... and ssh-rsa), in order."""
    return list(dict.fromkeys(name.decode("ascii") for key in keys for name in key.sig_algorithms))


@dataclass(frozen=True)
class ServerOffer:
    """The algorithms a server offers in its first key exchange message (KEXINIT), each in its order."""

    kex: tuple[str, ...]
    host_key: tuple[str, ...]
    ciphers: tuple[str, ...]
    macs: tuple[str, ...]


_KEXINIT = 20
_CLIENT_VERSION = b"SSH-2.0-actito_sftp_probe\r\n"


async def read_server_offer(target: str, port: int, *, timeout: float) -> ServerOffer:
    """Connect, exchange versions and read the server's KEXINIT, then hang up (no key exchange is started, so the
    server logs no failed negotiation).

    :raises OSError: the server could not be reached or did not send a KEXINIT.
    :raises TimeoutError: not within ``timeout`` seconds.
    """
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(target, port, limit=256 * 1024)
        try:
            writer.write(_CLIENT_VERSION)
            for _ in range(1024):  # lines before the version are allowed (RFC 4253 4.2)
                if (await reader.readline()).startswith(b"SSH-"):
                    break
            for _ in range(8):  # IGNORE or DEBUG packets may come first
                length, padding = struct.unpack(">IB", await reader.readexactly(5))
                if not 5 <= length <= 35_000:
                    raise ConnectionError(f"a packet of {length} bytes before the key exchange")
                payload = (await reader.readexactly(length - 1))[: length - 1 - padding]
                if payload[:1] == bytes([_KEXINIT]):
                    return _parse_kexinit(payload)
            raise ConnectionError("no KEXINIT from the server")
        finally:
            writer.close()


def _parse_kexinit(payload: bytes) -> ServerOffer:
    lists: list[tuple[str, ...]] = []
    offset = 17  # message number and cookie
    for _ in range(6):  # kex, host key, ciphers both ways, MACs both ways
        (size,) = struct.unpack_from(">I", payload, offset)
        text = payload[offset + 4 : offset + 4 + size].decode("ascii", "replace")
        lists.append(tuple(name for name in text.split(",") if name))
        offset += 4 + size
    kex, host_key, ciphers_out, ciphers_in, macs_out, macs_in = lists
    return ServerOffer(kex, host_key, _both_ways(ciphers_out, ciphers_in), _both_ways(macs_out, macs_in))


def _both_ways(out: tuple[str, ...], back: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name for name in out if name in back)


@dataclass(frozen=True)
class Mismatch:
    """Why no key exchange is possible with a server, and what would bridge it.

    :param causes: what the server offers that we do not, one phrase each.
    :param field: the connection field that would bridge it (``legacy_algorithms``, ``ciphers``), None if only the
        partner can (a key exchange or MAC we lack).
    :param value: that field's value that would.
    :param ask: what to ask the partner for instead.
    :param accept: what the field would accept, in words.
    """

    causes: tuple[str, ...]
    field: str | None = None
    value: str = ""
    ask: str = ""
    accept: str = ""

    def text(self, *, page: bool = False, command: str = "") -> str:
        """The causes and the fix, in the CLI's words (``--legacy-algorithms ssh-rsa``) or the page's.

        :param page: in the page's words (the field's label).
        :param command: the CLI command the flag goes with (``actito-sftp connection update <id>``), if one.
        """
        said = "; ".join(self.causes)
        if self.field is None:
            return f"{said}: the partner must enable one this provider supports"
        label = LEGACY_LABEL if self.field == LEGACY_FIELD else CIPHERS_LABEL
        flag = f"--{self.field.replace('_', '-')} {self.value}"
        setting = f"“{label}”: {self.value}" if page else f"`{command} {flag}`" if command else flag
        if self.field != LEGACY_FIELD:
            return f"{said}: set {setting}"
        return (
            f"{said}, weaker and off by default: ask the partner for {self.ask}, or accept {self.accept} for this "
            f"server alone with {setting}"
        )


async def find_mismatch(
    target: str, port: int, algorithms: Algorithms, host_key_candidates: Iterable[str], *, timeout: float
) -> Mismatch | None:
    """Why a key exchange with the server failed, from its offer: None if the offer matches ours or cannot be read.

    :param algorithms: what the connection offers.
    :param host_key_candidates: the host key algorithms it would offer with every weaker one accepted.
    """
    try:
        server = await read_server_offer(target, port, timeout=timeout)
    except (OSError, TimeoutError, EOFError, ValueError, struct.error) as e:
        log.info("Could not read the key exchange offer of %s:%s: %s", target, port, e)
        return None
    return mismatch(server, algorithms, list(host_key_candidates))


def mismatch(server: ServerOffer, algorithms: Algorithms, host_key_candidates: list[str]) -> Mismatch | None:
    """What keeps ``server``'s offer and ours apart (None: nothing).

    :param server: the server's offer.
    :param algorithms: what the connection offers.
    :param host_key_candidates: the host key algorithms it would offer with every weaker one accepted.
    """
    found: list[tuple[str, str | None]] = []  # (cause, the legacy_algorithms word accepting it)
    if not set(server.kex) & _KEX:
        found.append((f"no key exchange method in common: the server offers {_listed(server.kex)}", None))
    if not set(server.host_key) & set(algorithms.host_key_algs(host_key_candidates)):
        if SHA1_RSA in server.host_key and SHA1_RSA in host_key_candidates:
            found.append(("the server signs its host key only with SHA-1 (ssh-rsa)", SHA1_RSA))
        else:
            found.append((f"the server's host key types ({_listed(server.host_key)}) are none we accept", None))
    common = set(server.ciphers) & set(algorithms.encryption_algs())
    cipher_fix = ""  # the server's ciphers this provider supports, for the field ciphers
    if not common and any(name in CBC_CIPHERS for name in server.ciphers):
        found.append((f"the server offers only CBC ciphers ({_listed(server.ciphers)})", CBC))
    elif not common:
        found.append((f"no cipher in common: the server offers {_listed(server.ciphers)}", None))
        cipher_fix = ",".join(name for name in server.ciphers if name.encode("ascii") in get_encryption_algs())
    elif not set(server.macs) & _MACS and not common & _AEAD:
        found.append((f"no MAC in common: the server offers {_listed(server.macs)}", None))
    if not found:
        return None
    causes = tuple(cause for cause, _ in found)
    needed = [word for _, word in found if word]
    if len(needed) == len(found):
        legacy = [word for word in (SHA1_RSA, CBC) if word in needed or word in algorithms.legacy]
        ask, accept = (" and ".join(words[word] for word in needed) for words in (_MODERN, _WEAKER))
        return Mismatch(causes, LEGACY_FIELD, ",".join(legacy), ask, accept)
    if len(found) == 1 and cipher_fix:
        return Mismatch(causes, "ciphers", cipher_fix)
    return Mismatch(causes)


def _listed(names: tuple[str, ...]) -> str:
    return ", ".join(names) or "nothing"


_KEX = {name.decode("ascii") for name in get_default_kex_algs() if not name.startswith(b"gss-")}  # no GSS: hermetic
_MACS = {name.decode("ascii") for name in get_default_mac_algs()}
_AEAD = {"chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com"}  # no MAC needed
