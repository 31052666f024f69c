"""Pinned server host keys: parsing, fingerprints, and fetching a server's key for first-time setup.

A connection pins one or more OpenSSH public keys (``ssh-ed25519 AAAA...`` lines, optionally prefixed by
a ``known_hosts`` host pattern). The session refuses any server whose key is not among them; see
:mod:`airflow_provider_actito_sftp.ssh.session`.
"""

from __future__ import annotations

import asyncio
import logging

import asyncssh

from airflow_provider_actito_sftp.exceptions import RemoteConnectError
from airflow_provider_actito_sftp.ssh.protocol import broke_protocol, protocol_broken
from airflow_provider_actito_sftp.ssh.targets import checked_target

log = logging.getLogger(__name__)

_KEY_TYPE_PREFIXES = ("ssh-", "ecdsa-", "sk-")
# One key exchange per host key algorithm learns every key a server holds (a single exchange returns only the
# one both sides prefer: RSA first in asyncssh, while `ssh` shows partners their ed25519 fingerprint). Listed in
# the order offers are shown: the key `ssh` shows by default first.
HOST_KEY_ALGORITHMS = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "ssh-ed448",
)


def fingerprint(key: asyncssh.SSHKey) -> str:
    """Return the OpenSSH SHA256 fingerprint of a public key (``SHA256:...``)."""
    return key.get_fingerprint("sha256")


def parse_host_keys(text: str) -> tuple[asyncssh.SSHKey, ...]:
    """Parse pinned host keys, one per line.

    Accepts ``<type> <base64> [comment]`` lines as in ``*.pub`` files and ``known_hosts`` lines
    (``<hosts> <type> <base64>``). Blank lines and ``#`` comments are ignored.

    :param text: the field's content.
    :raises ValueError: a line is not a public key; the message gives the line number, never the key.
    """
    keys: list[asyncssh.SSHKey] = []
    for line_number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        # '<type> <base64> [comment]' or a known_hosts line '<hosts> <type> <base64>'
        candidates = [words[:2], words[1:3]] if len(words) >= 3 else [words[:2]]
        key = next((parsed for pair in candidates if (parsed := _import_public(pair)) is not None), None)
        if key is None:
            raise ValueError(
                f"line {line_number} is not an OpenSSH public key "
                "(expected '<type> <base64>', e.g. 'ssh-ed25519 AAAA...')"
            )
        keys.append(key)
    return tuple(keys)


def _import_public(words: list[str]) -> asyncssh.SSHKey | None:
    if len(words) != 2 or not words[0].startswith(_KEY_TYPE_PREFIXES):
        return None
    try:
        return asyncssh.import_public_key(" ".join(words))
    except (asyncssh.KeyImportError, ValueError):
        return None


def export_host_key(key: asyncssh.SSHKey) -> str:
    """Return the one-line OpenSSH form of a host key, as stored in the ``host_key`` field."""
    return key.export_public_key("openssh").decode("ascii").strip()


async def fetch_host_key(host: str, port: int, *, timeout: float = 30.0) -> asyncssh.SSHKey:
    """Connect without authenticating and return the host key the server presents.

    This is for setup tooling only: the caller must compare the fingerprint with one the partner gave
    out of band (or explicitly choose trust-on-first-use) before pinning the key.

    :raises RemoteConnectError: the server could not be reached, broke the SSH protocol, or offered no key.
    """
    target = await checked_target(host, port)  # the platform's allow-list, before any packet
    try:
        key = await asyncio.wait_for(asyncssh.get_server_host_key(target, port, config=None), timeout)
    except Exception as e:  # any exception: asyncssh raises what its parser met in the server's bytes
        raise _fetch_failed(host, port, e, timeout) from e
    if key is None:
        raise RemoteConnectError(f"{host}:{port} presented no host key")
    return key


async def fetch_host_keys(host: str, port: int, *, timeout: float = 30.0) -> list[asyncssh.SSHKey]:
    """Every host key the server holds, one key exchange per algorithm (at once), ed25519 first.

    Setup tooling only, as :func:`fetch_host_key`: nothing here is trusted until a fingerprint is confirmed.

    :raises RemoteConnectError: the server could not be reached, broke the SSH protocol, or offered no key.
    """

    target = await checked_target(host, port)  # the platform's allow-list, before any packet

    async def one(algorithm: str) -> asyncssh.SSHKey | BaseException | None:
        try:
            fetching = asyncssh.get_server_host_key(target, port, config=None, server_host_key_algs=[algorithm])
            return await asyncio.wait_for(fetching, timeout)
        except Exception as e:
            return e  # a server without a key of this type ends the key exchange: not an error by itself

    answers = await asyncio.gather(*(one(algorithm) for algorithm in HOST_KEY_ALGORITHMS))
    keys: dict[str, asyncssh.SSHKey] = {}
    for answer in answers:
        if isinstance(answer, asyncssh.SSHKey):
            keys.setdefault(fingerprint(answer), answer)
    if keys:
        return list(keys.values())
    problems = [answer for answer in answers if isinstance(answer, BaseException)]
    unreachable = next((problem for problem in problems if isinstance(problem, OSError)), None)  # or timed out
    first = unreachable or next((problem for problem in problems if broke_protocol(problem)), None)
    if first is not None:
        raise _fetch_failed(host, port, first, timeout) from first
    return [await fetch_host_key(host, port, timeout=timeout)]  # an algorithm not listed here


def _fetch_failed(host: str, port: int, error: BaseException, timeout: float) -> RemoteConnectError:
    if isinstance(error, TimeoutError):
        return RemoteConnectError(f"could not fetch the host key of {host}:{port}: no answer within {timeout:g} s")
    if broke_protocol(error):
        return RemoteConnectError(f"could not fetch the host key: {protocol_broken(f'{host}:{port}', error)}")
    return RemoteConnectError(f"could not fetch the host key of {host}:{port}: {str(error) or type(error).__name__}")
