"""Pinned server host keys: parsing, fingerprints, and fetching a server's key for first-time setup.

A connection pins one or more OpenSSH public keys (``ssh-ed25519 AAAA...`` lines, optionally prefixed by
a ``known_hosts`` host pattern). The session refuses any server whose key is not among them; see
:mod:`airflow_provider_actito_sftp.ssh.session`.

The setup fetch (:func:`host_keys`) offers every host key type at once, as ``ssh`` does, so that a server sees
one connection; the server's other keys are fetched only when asked for. It offers what the session would
(:mod:`~airflow_provider_actito_sftp.ssh.algorithms`: the connection's ciphers and the weaker algorithms it
accepts), and a server it cannot agree with is refused with the reason and the field that would bridge it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Iterable

import asyncssh
from asyncssh.public_key import get_public_key_algs

from airflow_provider_actito_sftp.exceptions import RefusedError, RemoteConnectError
from airflow_provider_actito_sftp.ssh.algorithms import DEFAULTS, Algorithms, find_mismatch, signature_algorithms
from airflow_provider_actito_sftp.ssh.protocol import broke_protocol, protocol_broken
from airflow_provider_actito_sftp.ssh.targets import checked_target

log = logging.getLogger(__name__)

_KEY_TYPE_PREFIXES = ("ssh-", "ecdsa-", "sk-")
# The host key types a setup fetch offers, in our order of preference (the key `ssh` shows partners by default
# first; asyncssh would prefer RSA): a server presents the first one it holds. ssh-rsa (SHA-1) only where the
# connection accepts it.
HOST_KEY_ALGORITHMS = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
    "ssh-ed448",
    "ssh-rsa",
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


# --- fetching a server's host keys (setup tooling only) ------------------------------------------------------


async def host_keys(
    host: str,
    port: int,
    *,
    timeout: float = 30.0,
    algorithms: Algorithms = DEFAULTS,
    after: Iterable[asyncssh.SSHKey] = (),
) -> AsyncGenerator[asyncssh.SSHKey, None]:
    """The server's host keys, one key exchange each, in our order of preference (ed25519 first).

    The first exchange offers every type: the server presents the key it prefers among ours, so a server whose
    key is confirmed at once sees one connection, as from ``ssh``. Each next exchange offers only the types not
    seen yet; they stop when the server has none left (its log then says "no matching host key type" once).
    Stop iterating once the key wanted is found. Nothing here is trusted until a fingerprint is confirmed.

    :param algorithms: the ciphers and weaker algorithms the connection accepts.
    :param after: keys already fetched: only the server's keys of other types are.
    :raises RemoteConnectError: the server could not be reached, broke the SSH protocol, or offered no key.
    :raises RefusedError: no key exchange is possible: what the server offers, and the field that would accept it.
    """
    target = await checked_target(host, port)  # the platform's allow-list, before any packet
    seen = set(signature_algorithms(after))
    supported = {name.decode("ascii") for name in get_public_key_algs()}  # ssh-ed448 needs OpenSSL's Ed448
    left = [name for name in algorithms.host_key_algs(HOST_KEY_ALGORITHMS) if name in supported and name not in seen]
    first = not seen
    while left:
        try:
            key = await _presented_key(target, port, left, algorithms, timeout)
        except Exception as e:  # any exception: asyncssh raises what its parser met in the server's bytes
            if first and _no_common_algorithm(e):
                why = await find_mismatch(target, port, algorithms, HOST_KEY_ALGORITHMS, timeout=timeout)
                if why is not None:
                    raise RefusedError(
                        f"could not fetch the host key of {host}:{port}: {why.text()}",
                        on_page=f"could not fetch the host key of {host}:{port}: {why.text(page=True)}",
                    ) from e
            if first or not _no_common_algorithm(e):
                raise _fetch_failed(host, port, e, timeout) from e
            return  # the server holds no key of the types left
        if key is None:  # a key exchange without a host key (GSS): nothing to pin
            raise RemoteConnectError(f"{host}:{port} presented no host key")
        first = False
        yield key
        signs = set(signature_algorithms([key]))
        if not signs & set(left):
            return
        left = [name for name in left if name not in signs]


async def fetch_host_keys(
    host: str, port: int, *, timeout: float = 30.0, algorithms: Algorithms = DEFAULTS
) -> list[asyncssh.SSHKey]:
    """Every host key the server holds (:func:`host_keys` to the end: one more connection than it has keys).

    :raises RemoteConnectError: as :func:`host_keys`.
    :raises RefusedError: as :func:`host_keys`.
    """
    return [key async for key in host_keys(host, port, timeout=timeout, algorithms=algorithms)]


async def _presented_key(
    target: str, port: int, host_key_algs: list[str], algorithms: Algorithms, timeout: float
) -> asyncssh.SSHKey | None:
    """The key the server presents in one key exchange offering ``host_key_algs`` and the connection's ciphers."""
    options = asyncssh.SSHClientConnectionOptions(config=None, encryption_algs=algorithms.encryption_algs())
    fetching = asyncssh.get_server_host_key(
        target, port, config=None, server_host_key_algs=host_key_algs, options=options
    )
    return await asyncio.wait_for(fetching, timeout)


def _no_common_algorithm(error: BaseException) -> bool:
    """How a server ends a key exchange it cannot agree on: it hangs up (often a reset), or asyncssh sees it."""
    if isinstance(error, asyncssh.ProtocolError):
        return False
    return isinstance(error, asyncssh.DisconnectError | ConnectionResetError | BrokenPipeError)


def _fetch_failed(host: str, port: int, error: BaseException, timeout: float) -> RemoteConnectError:
    if isinstance(error, TimeoutError):
        return RemoteConnectError(f"could not fetch the host key of {host}:{port}: no answer within {timeout:g} s")
    if broke_protocol(error):
        return RemoteConnectError(f"could not fetch the host key: {protocol_broken(f'{host}:{port}', error)}")
    return RemoteConnectError(f"could not fetch the host key of {host}:{port}: {str(error) or type(error).__name__}")
