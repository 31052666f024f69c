"""Pinning the server's host key: fetch what the server presents, compare it, pin it or refuse.

A key is pinned only when its fingerprint matches the one the partner gave out of band, or when the
caller explicitly chose trust on first use (logged as a warning).

The fetch makes one connection, as ``ssh`` does: the server presents its preferred key among every type we
accept. Only when the partner's fingerprint is not that key's are the server's other keys fetched (one
connection each, then one the server refuses), so a setup never looks like a scan in the server's log.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass, field

import asyncssh

from airflow_provider_actito_sftp.connection.schema import BY_NAME
from airflow_provider_actito_sftp.connection.store import ConnectionRecord
from airflow_provider_actito_sftp.exceptions import RefusedError, RemoteConnectError
from airflow_provider_actito_sftp.management.on_server import run_on_server
from airflow_provider_actito_sftp.ssh.algorithms import DEFAULTS, Algorithms
from airflow_provider_actito_sftp.ssh.host_keys import export_host_key, fingerprint, host_keys

log = logging.getLogger(__name__)
SHA256_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")  # 32 bytes in base64, unpadded


@dataclass(frozen=True)
class HostKeyOffer:
    """The host keys a server presents (one per type: ed25519, ECDSA, RSA...), none trusted yet.

    :param host: the server.
    :param port: its SSH port.
    :param keys: the public host keys, the server's preferred one (ed25519 if it has one, as ``ssh`` shows) first.
    :param complete: every key the server holds; False: its preferred one so far (:meth:`searched` finds others).
    :param algorithms: what the connection offers the server (its ciphers, the weaker algorithms it accepts).
    :param timeout: seconds to reach the server, for :meth:`searched`.
    """

    host: str
    port: int
    keys: tuple[asyncssh.SSHKey, ...] = field(repr=False)
    complete: bool = True
    algorithms: Algorithms = field(default_factory=Algorithms)
    timeout: float = 30.0

    @property
    def key(self) -> asyncssh.SSHKey:
        """The key shown first (and pinned on trust on first use)."""
        return self.keys[0]

    @property
    def fingerprint(self) -> str:
        """The first key's ``SHA256:...`` fingerprint."""
        return fingerprint(self.key)

    @property
    def algorithm(self) -> str:
        """The first key's algorithm, e.g. ``ssh-ed25519``."""
        return self.key.get_algorithm()

    def described(self) -> list[dict[str, str]]:
        """Every key as ``{"algorithm", "fingerprint"}``, in order: what a partner compares with."""
        return [{"algorithm": key.get_algorithm(), "fingerprint": fingerprint(key)} for key in self.keys]

    def listing(self) -> str:
        """The fingerprints in words: ``SHA256:... (ssh-ed25519), SHA256:... (ssh-rsa)``."""
        return ", ".join(f"{item['fingerprint']} ({item['algorithm']})" for item in self.described())

    def matching(self, expected: str) -> asyncssh.SSHKey | None:
        """The key whose fingerprint is ``expected`` as :func:`normalize_fingerprint` reads it, or None."""
        wanted = normalize_fingerprint(expected)
        return next((key for key in self.keys if normalize_fingerprint(fingerprint(key)) == wanted), None)

    def searched(self, expected: str) -> HostKeyOffer:
        """The offer with the server's other keys fetched, until one has the fingerprint ``expected`` (the partner
        gave one of another type), else all of them (one connection each, and one the server refuses).

        :param expected: the fingerprint the partner gave.
        :raises RemoteConnectError: the server could not be reached again.
        """
        if self.complete or self.matching(expected) is not None:
            return self
        wanted = normalize_fingerprint(expected)

        async def search() -> tuple[list[asyncssh.SSHKey], bool]:
            found: list[asyncssh.SSHKey] = []
            more = host_keys(self.host, self.port, timeout=self.timeout, algorithms=self.algorithms, after=self.keys)
            async for key in more:
                found.append(key)
                if normalize_fingerprint(fingerprint(key)) == wanted:
                    await more.aclose()
                    return found, False
            return found, True

        address = f"{self.host}:{self.port}"
        found, complete = run_on_server(search, timeout=self.timeout, address=address)
        return dataclasses.replace(self, keys=(*self.keys, *found), complete=complete)


def normalize_fingerprint(text: str) -> str:
    """A SHA256 fingerprint as typed, in OpenSSH's form: ``SHA256:`` and the unpadded base64.

    The ``SHA256:`` prefix may be left out (any case), blanks anywhere are dropped and ``=`` padding at the
    end is ignored; the base64 itself is kept exactly (it is case-sensitive), so only the right key matches.

    :param text: the fingerprint the partner gave, as typed or pasted.
    """
    compact = re.sub(r"\s+", "", text)
    if compact[:7].upper() == "SHA256:":
        compact = compact[7:]
    return f"SHA256:{compact.rstrip('=')}"


@dataclass(frozen=True)
class HostKeyPin:
    """A pinned host key.

    :param fingerprint: its ``SHA256:...`` fingerprint.
    :param trusted_on_first_use: pinned without comparing it with a fingerprint from the partner.
    """

    fingerprint: str
    trusted_on_first_use: bool


def fetch_host_key_offer(
    host: str, port: int, *, timeout: float = 30.0, algorithms: Algorithms | None = None
) -> HostKeyOffer:
    """Connect once without authenticating and return the host key the server prefers among every type we
    accept (its other keys are fetched only if the partner confirms one of them: :meth:`HostKeyOffer.searched`).

    :param host: the server.
    :param port: its SSH port.
    :param timeout: seconds to reach it.
    :param algorithms: what the connection offers (:func:`offered_algorithms`); None: the defaults.
    :raises RemoteConnectError: the server could not be reached or offered no key.
    :raises RefusedError: no key exchange is possible (e.g. an old server that needs ``legacy_algorithms``): why,
        and the field that would accept it.
    """
    offered = algorithms or DEFAULTS

    async def first() -> asyncssh.SSHKey | None:
        keys = host_keys(host, port, timeout=timeout, algorithms=offered)
        try:
            return await anext(keys, None)
        finally:
            await keys.aclose()

    key = run_on_server(first, timeout=timeout, address=f"{host}:{port}")
    if key is None:
        raise RemoteConnectError(f"{host}:{port} presented no host key")
    return HostKeyOffer(host, port, (key,), complete=False, algorithms=offered, timeout=timeout)


def offered_algorithms(record: ConnectionRecord) -> Algorithms:
    """What a connection offers its server, from its fields ``ciphers`` and ``legacy_algorithms`` (as stored;
    the caller validated them).

    :param record: the connection.
    """
    ciphers, legacy = (
        BY_NAME[name].read(record.conn_id, record.stored(name)) for name in ("ciphers", "legacy_algorithms")
    )
    return Algorithms(tuple(ciphers), tuple(legacy))


def pin_host_key(
    record: ConnectionRecord, offer: HostKeyOffer, *, expected: str | None, trust_on_first_use: bool = False
) -> HostKeyPin:
    """Pin one offered key as the connection's only trusted host key, if it is confirmed; sessions then
    negotiate that key's algorithm.

    :param record: the connection to change (in memory).
    :param offer: what the server holds.
    :param expected: the fingerprint the partner gave (as :func:`normalize_fingerprint` reads it); one of the
        server's keys must have it.
    :param trust_on_first_use: with no ``expected``, pin the key shown first (logged).
    :raises RefusedError: no key of the server has the ``expected`` fingerprint, or nothing confirms one.
    """
    confirmed = bool(expected and expected.strip())
    if expected and confirmed:
        if SHA256_FINGERPRINT.fullmatch(normalize_fingerprint(expected)):
            offer = offer.searched(expected)  # the partner may have given the fingerprint of another of its keys
        key = offer.matching(expected)
        if key is None:
            raise RefusedError(_mismatch(expected, offer))
    elif trust_on_first_use:
        key = offer.key
        # INFO: the one caller that trusts on first use (the CLI) warns its user itself, in its own words
        log.info(
            "Trust on first use: pinning host key %s of %s:%s without verification",
            fingerprint(key),
            offer.host,
            offer.port,
        )
    else:
        raise RefusedError(
            f"confirm one of these fingerprints with the partner ({offer.listing()}), then re-run with "
            f"--accept-host-key {offer.fingerprint} (or --trust-on-first-use); nothing was saved",
            on_page=f"confirm one of these fingerprints with the partner ({offer.listing()}), then type it in "
            "“Fingerprint given by the partner” (or tick “Trust on first use”); nothing was saved",
        )
    record.store("host_key", export_host_key(key))
    return HostKeyPin(fingerprint(key), trusted_on_first_use=not confirmed)


def _mismatch(expected: str, offer: HostKeyOffer) -> str:
    """Why ``expected`` pins nothing: no key has it (or it is no SHA256 fingerprint at all)."""
    typed = normalize_fingerprint(expected)
    if not SHA256_FINGERPRINT.fullmatch(typed):
        typed = f"{expected.strip()!r}, which is not a SHA256 fingerprint (SHA256: and 43 characters of base64)"
    return f"host key mismatch: expected {typed}, the server presents {offer.listing()}; nothing was saved"
