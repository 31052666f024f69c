"""Pinning the server's host key: fetch what the server presents, compare it, pin it or refuse.

A key is pinned only when its fingerprint matches the one the partner gave out of band, or when the
caller explicitly chose trust on first use (logged as a warning).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import asyncssh

from airflow_provider_actito_sftp.connection.store import ConnectionRecord
from airflow_provider_actito_sftp.exceptions import RefusedError
from airflow_provider_actito_sftp.ssh.host_keys import export_host_key, fetch_host_key, fingerprint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HostKeyOffer:
    """The host key a server presented, not trusted yet.

    :param host: the server.
    :param port: its SSH port.
    :param key: the public host key.
    """

    host: str
    port: int
    key: asyncssh.SSHKey = field(repr=False)

    @property
    def fingerprint(self) -> str:
        """The key's ``SHA256:...`` fingerprint, to compare with the partner's."""
        return fingerprint(self.key)

    @property
    def algorithm(self) -> str:
        """The key's algorithm, e.g. ``ssh-ed25519``."""
        return self.key.get_algorithm()


@dataclass(frozen=True)
class HostKeyPin:
    """A pinned host key.

    :param fingerprint: its ``SHA256:...`` fingerprint.
    :param trusted_on_first_use: pinned without comparing it with a fingerprint from the partner.
    """

    fingerprint: str
    trusted_on_first_use: bool


def fetch_host_key_offer(host: str, port: int, *, timeout: float = 30.0) -> HostKeyOffer:
    """Connect without authenticating and return the host key the server presents.

    :param host: the server.
    :param port: its SSH port.
    :param timeout: seconds to reach it.
    :raises RemoteConnectError: the server could not be reached or offered no key.
    """
    return HostKeyOffer(host, port, asyncio.run(fetch_host_key(host, port, timeout=timeout)))


def pin_host_key(
    record: ConnectionRecord, offer: HostKeyOffer, *, expected: str | None, trust_on_first_use: bool = False
) -> HostKeyPin:
    """Pin the offered key as the connection's only trusted host key, if it is confirmed.

    :param record: the connection to change (in memory).
    :param offer: what the server presented.
    :param expected: the fingerprint the partner gave; the offer must match it.
    :param trust_on_first_use: with no ``expected``, pin whatever the server presented (logged).
    :raises RefusedError: the fingerprint differs from ``expected``, or nothing confirms the key.
    """
    offered = offer.fingerprint
    if expected:
        if expected.strip() != offered:
            raise RefusedError(
                f"host key mismatch: expected {expected.strip()}, the server presents {offered}; nothing was saved"
            )
    elif trust_on_first_use:
        # INFO: the one caller that trusts on first use (the CLI) warns its user itself, in its own words
        log.info(
            "Trust on first use: pinning host key %s of %s:%s without verification", offered, offer.host, offer.port
        )
    else:
        raise RefusedError(
            f"confirm this fingerprint with the partner, then re-run with --accept-host-key {offered} "
            "(or --trust-on-first-use); nothing was saved"
        )
    record.extra["host_key"] = export_host_key(offer.key)
    return HostKeyPin(offered, trusted_on_first_use=not expected)
