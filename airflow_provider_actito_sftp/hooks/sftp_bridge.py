"""Airflow's own ``SFTPHook`` on an ``actito_sftp`` connection, host key pinned: the SFTP provider as a bridge.

:class:`PinnedSFTPHook` is ``airflow.providers.sftp``'s ``SFTPHook`` (so ``SFTPOperator(sftp_hook=...)``, the
hook's ``retrieve_file``, ``store_file``, ``list_directory``... work as documented there), connected with one
connection's validated settings and never with its extras: ``SSHHook`` reads extras of its own (``host_key`` as
one key, ``no_host_key_check``, ``key_file``, ``allow_host_key_change``...) that an ``actito_sftp`` connection
holds otherwise or not at all, so the hook is built with no connection id and its paramiko client here:

- the platform's allow-list (``[actito_sftp] allowed_targets``) is checked before any packet, and the client
  connects to the address checked;
- the server's key must be one of the pinned keys (any of them, several per type allowed), else paramiko's
  ``RejectPolicy`` refuses it: :class:`~airflow_provider_actito_sftp.exceptions.HostKeyError` names the offered
  and the pinned fingerprints, before any credential is sent. Only the pinned keys' types are negotiated, no
  ``known_hosts`` file is read, and nothing is ever added or saved;
- it offers our SSH key (and a rotation's pending key) or the password: no agent, key file or ``~/.ssh/config``;
- ``connect_timeout`` bounds the TCP connect, the SSH handshake, authentication and the SFTP start; an SFTP
  answer then awaited for :data:`~airflow_provider_actito_sftp.ssh.stall_watch.STALL_TIMEOUT` fails the call.

paramiko and the providers are imported here only; :meth:`ActitoSftpHook.get_sftp_hook` imports this module when
it is called, so importing the hook stays light.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import paramiko  # type: ignore[import-untyped]  # no stubs (types-paramiko not installed)
from airflow.providers.sftp.hooks.sftp import SFTPHook
from airflow.providers.ssh.hooks.ssh import SSHHook
from paramiko.auth_strategy import (  # type: ignore[import-untyped]
    AuthFailure,
    AuthResult,
    AuthSource,
    AuthStrategy,
    InMemoryPrivateKey,
    Password,
    SourceResult,
)

from airflow_provider_actito_sftp.connection.settings import ConnectionSettings
from airflow_provider_actito_sftp.exceptions import (
    ActitoSftpError,
    AuthenticationError,
    ConnectionConfigError,
    HostKeyError,
    RemoteConnectError,
    SftpSubsystemError,
)
from airflow_provider_actito_sftp.hooks.event_loop import run_on_new_loop
from airflow_provider_actito_sftp.ssh.algorithms import CBC_CIPHERS
from airflow_provider_actito_sftp.ssh.host_keys import fetch_host_key, fingerprint
from airflow_provider_actito_sftp.ssh.session import offered_algorithms
from airflow_provider_actito_sftp.ssh.stall_watch import STALL_TIMEOUT
from airflow_provider_actito_sftp.ssh.targets import checked_target

__all__ = ["PinnedSFTPHook", "connect_pinned"]

log = logging.getLogger(__name__)

_RSA_HOST_KEY_ALGORITHMS = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")  # one RSA key, three signature algorithms
_PRIVATE_KEY_CLASSES: dict[str, Any] = {"ssh-ed25519": paramiko.Ed25519Key, "ssh-rsa": paramiko.RSAKey}


class _PinnedSshConnection(SSHHook):
    """``SSHHook.get_conn`` replaced by the pinned client: ``SFTPHook`` reaches it through ``super().get_conn()``
    (see :class:`PinnedSFTPHook`)."""

    actito_settings: ConnectionSettings

    def get_conn(self) -> paramiko.SSHClient:
        """The open pinned client, or a new one (:func:`connect_pinned`)."""
        client: paramiko.SSHClient | None = self.client
        if client is not None:
            transport = client.get_transport()
            if transport is not None and transport.is_active():
                return client
        self.client = connect_pinned(self.actito_settings)
        return self.client


class PinnedSFTPHook(SFTPHook, _PinnedSshConnection):
    """Airflow's ``SFTPHook`` on an ``actito_sftp`` connection's settings (see the module's docstring).

    Its class order is the point: ``PinnedSFTPHook`` → ``SFTPHook`` → ``_PinnedSshConnection`` → ``SSHHook``, so
    every path of ``SFTPHook`` that opens the SSH connection (``get_conn``, ``get_managed_conn``, the workers of
    concurrent directory transfers) reaches the pinned client, and none ``SSHHook``'s own ``get_conn``.

    It has no ``ssh_conn_id``: ``SFTPOperator(deferrable=True)`` refuses it (its trigger would read the
    connection's extras as an SSH connection's), and OpenLineage finds no connection to name the server by.

    :param settings: the connection, validated (``ActitoSftpHook(conn_id).settings``).
    """

    def __init__(self, settings: ConnectionSettings) -> None:
        self.actito_settings = settings
        super().__init__(
            ssh_conn_id=None,  # SSHHook never reads the connection: its extras are not an SSH connection's
            remote_host=settings.host,
            username=settings.username,
            port=settings.port,
            conn_timeout=settings.advanced.connect_timeout,
            keepalive_interval=settings.advanced.keepalive_interval,
            conn_retry_attempts=1,
            no_host_key_check=False,
        )
        # SSHHook's __init__ looked into ~/.ssh/config: none of it is used (and SFTPHook's hasattr(self, "host_proxy")
        # would start a ProxyCommand found there).
        self.host_proxy_cmd = None
        self.key_file = None
        self.look_for_keys = False

    def _build_worker_hook(self) -> PinnedSFTPHook:
        """The hook a concurrent directory transfer's worker connects with: this one's twin, pinned too."""
        return PinnedSFTPHook(self.actito_settings)


class _PinnedClient(paramiko.SSHClient):  # type: ignore[misc]  # paramiko is untyped
    """A paramiko client whose SFTP channel starts within ``connect_timeout``, then fails a request unanswered
    for :data:`STALL_TIMEOUT` seconds."""

    def __init__(self, settings: ConnectionSettings) -> None:
        super().__init__()
        self.actito_settings = settings

    def open_sftp(self) -> paramiko.SFTPClient:
        settings = self.actito_settings
        timeout = settings.advanced.connect_timeout
        try:
            channel = self.get_transport().open_session(timeout=timeout)
            channel.settimeout(timeout)
            channel.invoke_subsystem("sftp")
            sftp = _ClosingSFTPClient(channel, self)
        except (paramiko.SSHException, OSError, EOFError) as e:
            problem = (
                f"the server did not start its SFTP subsystem within {timeout} s (connect_timeout)"
                if isinstance(e, TimeoutError)
                else f"the SFTP subsystem could not be started: {str(e) or type(e).__name__}"
            )
            raise SftpSubsystemError(f"Connection {settings.conn_id!r} to {_address(settings)}: {problem}") from e
        channel.settimeout(STALL_TIMEOUT)
        return sftp


class _ClosingSFTPClient(paramiko.SFTPClient):  # type: ignore[misc]  # paramiko is untyped
    """An SFTP client that closes its SSH connection with it. ``SFTPHook``'s concurrent transfers close only the
    SFTP clients of their worker connections: paramiko's transport thread would keep each SSH session open on the
    partner's server until the worker process ends (seen: two sessions left per concurrent put)."""

    def __init__(self, channel: paramiko.Channel, ssh_client: paramiko.SSHClient) -> None:
        super().__init__(channel)
        self.ssh_client = ssh_client

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.ssh_client.close()


class _PinnedKeyPolicy(paramiko.RejectPolicy):  # type: ignore[misc]  # paramiko is untyped
    """The client knows no host key (no ``known_hosts`` is loaded), so paramiko asks this policy about every
    server key: a pinned key is accepted as is, any other refused by ``RejectPolicy`` and kept for the error.
    Nothing is added to the client's host keys or written anywhere."""

    def __init__(self, pins: Sequence[paramiko.PKey]) -> None:
        self.pins = tuple(pins)
        self.refused: paramiko.PKey | None = None

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if any(key.get_name() == pin.get_name() and key.asbytes() == pin.asbytes() for pin in self.pins):
            return
        self.refused = key
        super().missing_host_key(client, hostname, key)


class _Credentials(AuthStrategy):  # type: ignore[misc]  # paramiko is untyped
    """Our credentials only, in order (never an agent, a key file or ``~/.ssh/config``)."""

    def __init__(self, sources: Sequence[AuthSource]) -> None:
        super().__init__(ssh_config=paramiko.SSHConfig())
        self.sources = tuple(sources)

    def get_sources(self) -> Iterator[AuthSource]:
        yield from self.sources

    def authenticate(self, transport: paramiko.Transport) -> AuthResult:
        """Each source in turn until the server lets us in. paramiko's own strategy stops at a partial success (a
        server asking for a key and a password): this one goes on, and goes round once more when the server asked
        for a factor it refused at first (``AuthenticationMethods password,publickey``: our key before the password)."""
        result = AuthResult(strategy=self)
        accepted: set[int] = set()
        for _ in range(2):
            for index, source in enumerate(self.sources):
                if index in accepted:
                    continue
                try:
                    answer = source.authenticate(transport)
                    accepted.add(index)
                except Exception as e:  # paramiko's refusals; the next source may do
                    answer = e
                result.append(SourceResult(source, answer))
                if transport.is_authenticated():
                    return result
            if not accepted:  # nothing partly accepted: a second round would only repeat the refusals
                break
        raise AuthFailure(result=result)


def connect_pinned(settings: ConnectionSettings) -> paramiko.SSHClient:
    """Open a paramiko SSH client on these settings: allow-list checked, host key pinned, our credentials.

    :param settings: the connection, validated.
    :raises ConnectionConfigError: no pinned key, client key or cipher of the connection is one paramiko knows.
    :raises TargetNotAllowedError: the platform's allow-list does not list the server (nothing was sent).
    :raises HostKeyError: the server's key is not pinned (refused before authenticating, nothing saved).
    :raises AuthenticationError: the server refused our credentials.
    :raises RemoteConnectError: the server could not be reached or the session set up within ``connect_timeout``.
    """
    pins = _pinned_keys(settings)
    ciphers = _ciphers(settings)
    credentials = _Credentials(_auth_sources(settings))
    target = run_on_new_loop(checked_target(settings.host, settings.port))  # before any packet
    policy = _PinnedKeyPolicy(pins)
    client = _PinnedClient(settings)
    client.set_missing_host_key_policy(policy)
    timeout = settings.advanced.connect_timeout
    log.info(
        "Connecting to %s for Airflow's SFTPHook (connection %r, %s authentication)",
        _address(settings),
        settings.conn_id,
        settings.auth_type.label,
    )
    try:
        client.connect(
            target,
            settings.port,
            username=settings.username,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            channel_timeout=timeout,
            compress=settings.advanced.compression,
            transport_factory=_transport_factory({pin.get_name() for pin in pins}, ciphers, settings),
            auth_strategy=credentials,
        )
    except Exception as e:
        client.close()
        raise _connect_failed(settings, policy, e) from e
    if settings.advanced.keepalive_interval:
        client.get_transport().set_keepalive(settings.advanced.keepalive_interval)
    log.info("Connected to %s; host key %s matches the pin", _address(settings), _server_fingerprint(client))
    return client


def _pinned_keys(settings: ConnectionSettings) -> list[paramiko.PKey]:
    """The pinned host keys as paramiko keys; a type paramiko lacks (ed448, security keys) cannot match."""
    pins = []
    for key in settings.host_keys:
        try:
            pins.append(paramiko.PKey.from_type_string(key.get_algorithm(), key.public_data))
        except paramiko.ssh_exception.UnknownKeyType:
            log.info(
                "Pinned host key %s (%s) is of a type paramiko cannot check", fingerprint(key), key.get_algorithm()
            )
    if settings.host_keys and not pins:
        raise ConnectionConfigError(
            settings.conn_id,
            "host_key",
            "none of the pinned host keys is of a type Airflow's SFTPHook (paramiko) can check; pin the "
            "server's ed25519, ECDSA or RSA key too",
        )
    return pins


def _ciphers(settings: ConnectionSettings) -> list[str]:
    """The connection's ciphers paramiko has, in the connection's order."""
    known = set(paramiko.Transport._preferred_ciphers)
    ciphers = [name for name in settings.advanced.ciphers if name in known]
    if not ciphers:
        raise ConnectionConfigError(
            settings.conn_id,
            "ciphers",
            f"none of the ciphers is one Airflow's SFTPHook (paramiko) has; it has {', '.join(sorted(known))}",
        )
    return ciphers


def _auth_sources(settings: ConnectionSettings) -> list[AuthSource]:
    """Our keys, then the password, as the auth type uses them."""
    sources: list[AuthSource] = []
    if settings.auth_type.uses_key:
        keys = settings.client_private_keys()
        sources.extend(InMemoryPrivateKey(settings.username, _paramiko_key(settings, key)) for key in keys)
    if settings.auth_type.uses_password:
        password = settings.password
        sources.append(Password(settings.username, lambda: password))
    return sources


def _paramiko_key(settings: ConnectionSettings, key: Any) -> paramiko.PKey:
    """An asyncssh private key (decrypted already) as paramiko's, through OpenSSH's format, in memory only."""
    algorithm = key.get_algorithm()
    loader = paramiko.ECDSAKey if algorithm.startswith("ecdsa-sha2-") else _PRIVATE_KEY_CLASSES.get(algorithm)
    if loader is None:
        raise ConnectionConfigError(
            settings.conn_id, "ssh_private_key", f"Airflow's SFTPHook (paramiko) cannot use a {algorithm} key"
        )
    return loader.from_private_key(io.StringIO(key.export_private_key("openssh").decode("ascii")))


def _transport_factory(pinned_types: set[str], ciphers: list[str], settings: ConnectionSettings) -> Any:
    """paramiko's ``transport_factory``: only the pinned keys' types are negotiated, our ciphers in our order; SHA-1
    ``ssh-rsa`` signatures and CBC ciphers only where the connection accepts them (``legacy_algorithms``), as in
    our own sessions."""
    offered = offered_algorithms(settings)
    known = set(paramiko.Transport._preferred_ciphers)
    ciphers = list(dict.fromkeys([*ciphers, *(name for name in offered.encryption_algs() if name in CBC_CIPHERS)]))
    ciphers = [name for name in ciphers if name in known]

    def factory(sock: Any, disabled_algorithms: Any = None) -> paramiko.Transport:
        transport = paramiko.Transport(sock, disabled_algorithms=disabled_algorithms)
        options = transport.get_security_options()
        key_types = offered.host_key_algs(options.key_types)
        if pinned_types:
            key_types = [name for name in key_types if _key_type(name) in pinned_types]
        options.key_types = key_types
        options.ciphers = ciphers
        return transport

    return factory


def _key_type(host_key_algorithm: str) -> str:
    return "ssh-rsa" if host_key_algorithm in _RSA_HOST_KEY_ALGORITHMS else host_key_algorithm


def _connect_failed(settings: ConnectionSettings, policy: _PinnedKeyPolicy, error: Exception) -> ActitoSftpError:
    """The provider's error for a failed connect, in its words (never a secret: paramiko's texts hold none)."""
    if isinstance(error, ActitoSftpError):
        return error
    address = _address(settings)
    pinned = [fingerprint(key) for key in settings.host_keys]
    if policy.refused is not None:
        return HostKeyError(settings.conn_id, address, policy.refused.fingerprint, pinned)
    if isinstance(error, paramiko.ssh_exception.IncompatiblePeer) and settings.host_keys:
        offered = _probe_host_key(settings)  # a server holding no key of a pinned type: name the one it holds
        if offered is not None and offered not in settings.host_keys:
            return HostKeyError(settings.conn_id, address, fingerprint(offered), pinned)
    if isinstance(error, paramiko.ssh_exception.IncompatiblePeer):  # refused by us: no retry would agree
        return ConnectionConfigError(
            settings.conn_id,
            "legacy_algorithms",
            f"Airflow's SFTPHook (paramiko {paramiko.__version__}) and the server at {address} share no algorithm "
            f"({error}): an old server? paramiko has no SHA-1 ssh-rsa host key signatures at all, and offers CBC "
            "ciphers only with legacy_algorithms cbc; use the provider's own operators for a SHA-1 server (with "
            "legacy_algorithms ssh-rsa), or ask the partner for current algorithms",
        )
    if isinstance(error, paramiko.AuthenticationException):
        return AuthenticationError(
            f"Connection {settings.conn_id!r} to {address}: the server refused {settings.auth_type.label} "
            f"authentication for user {settings.username!r}"
        )
    if isinstance(error, TimeoutError):
        return RemoteConnectError(
            f"Connection {settings.conn_id!r}: cannot reach {address}: no SSH session within "
            f"{settings.advanced.connect_timeout} s (connect_timeout)"
        )
    return RemoteConnectError(f"Connection {settings.conn_id!r}: cannot reach {address}: {error}")


def _probe_host_key(settings: ConnectionSettings) -> Any:
    try:
        return run_on_new_loop(fetch_host_key(settings.host, settings.port, timeout=settings.advanced.connect_timeout))
    except RemoteConnectError:
        return None


def _server_fingerprint(client: paramiko.SSHClient) -> str:
    return str(client.get_transport().get_remote_server_key().fingerprint)


def _address(settings: ConnectionSettings) -> str:
    return f"{settings.host}:{settings.port}"
