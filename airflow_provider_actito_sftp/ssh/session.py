"""One authenticated SSH + SFTP session to the partner's server, with the host key pinned.

:func:`open_session` is the only place that opens a connection. It refuses, before authenticating, any
server whose host key is not pinned in the connection, and reports the offered key's fingerprint.
Everything else (listing, transfers, the hook's service methods) works on the :class:`AsyncSftpSession`
it returns.
"""

from __future__ import annotations

import asyncio
import logging
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncssh

from airflow_provider_actito_sftp.connection.settings import AuthType, ConnectionSettings
from airflow_provider_actito_sftp.exceptions import (
    AuthenticationError,
    HostKeyError,
    RemoteConnectError,
    RemoteLocationError,
    SftpSubsystemError,
)
from airflow_provider_actito_sftp.ssh.host_keys import fetch_host_key, fingerprint
from airflow_provider_actito_sftp.ssh.protocol import broke_protocol, is_transport_error, protocol_broken
from airflow_provider_actito_sftp.ssh.send_path import lighten_send_path
from airflow_provider_actito_sftp.ssh.sftp_channel import start_sftp_channel
from airflow_provider_actito_sftp.ssh.stall_watch import StallWatch
from airflow_provider_actito_sftp.ssh.targets import checked_target

log = logging.getLogger(__name__)
SSH_LIBRARY_LOGGER = "asyncssh"


def quiet_ssh_library() -> None:
    """Keep asyncssh at WARNING: at INFO it logs ~14 lines per session (``[conn=0] ...``) that bury the
    provider's own. A level chosen by the deployment wins: one set on the ``asyncssh`` logger, or an
    ``asyncssh=<level>`` entry in Airflow's ``[logging] namespace_levels``."""
    logger = logging.getLogger(SSH_LIBRARY_LOGGER)
    if logger.level == logging.NOTSET and SSH_LIBRARY_LOGGER not in _namespace_levels():
        logger.setLevel(logging.WARNING)


def _namespace_levels() -> str:
    """Airflow's ``[logging] namespace_levels`` (environment or airflow.cfg), or "" outside Airflow."""
    try:
        from airflow.configuration import conf
    except ImportError:
        return ""
    return conf.get("logging", "namespace_levels", fallback="") or ""


@dataclass(frozen=True)
class RemoteEntry:
    """One entry of a remote folder, as listed by the server (no extra round trip per entry)."""

    name: str
    path: str
    size: int
    mtime: datetime
    is_file: bool
    is_dir: bool
    mtime_ns: int = 0  # whole seconds on SFTP v3 servers (OpenSSH); finer where the server gives it


class _PinnedHostKeyClient(asyncssh.SSHClient):
    """Remembers the host key the server offered when it is not one of the pinned keys."""

    def __init__(self) -> None:
        self.refused_key: asyncssh.SSHKey | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.refused_key = key
        return False


def connect_options(settings: ConnectionSettings) -> dict[str, Any]:
    """Return the asyncssh connect options for these settings: hermetic, pinned, no agent, no ~/.ssh."""
    uses_key = settings.auth_type is AuthType.SSH_KEY
    return {
        "host": settings.host,
        "port": settings.port,
        "username": settings.username,
        "known_hosts": (list(settings.host_keys), [], []),
        "config": None,
        "agent_path": None,
        "client_keys": settings.client_private_keys() if uses_key else None,
        "password": None if uses_key else settings.password,
        "preferred_auth": "publickey" if uses_key else "keyboard-interactive,password",
        "gss_auth": False,
        "gss_kex": False,
        "host_based_auth": False,
        "x509_trusted_certs": None,
        "connect_timeout": settings.advanced.connect_timeout,
        "login_timeout": settings.advanced.connect_timeout,
        "keepalive_interval": settings.advanced.keepalive_interval or None,
        "encryption_algs": list(settings.advanced.ciphers),
        "compression_algs": ["zlib@openssh.com", "none"] if settings.advanced.compression else ["none"],
    }


class AsyncSftpSession:
    """An open SSH connection and its SFTP channel. Create it with :func:`open_session`."""

    def __init__(
        self,
        settings: ConnectionSettings,
        ssh: asyncssh.SSHClientConnection,
        sftp: asyncssh.SFTPClient,
    ) -> None:
        self.settings = settings
        self.ssh = ssh
        self.sftp = sftp
        host_key = ssh.get_server_host_key()
        self.host_key_fingerprint = fingerprint(host_key) if host_key else "unknown"
        self.stall_watch = StallWatch(ssh, sftp, f"{settings.host}:{settings.port}")  # no request waits forever
        self.generation = 0  # how many times :meth:`reconnect` replaced the connection
        self._reconnecting = asyncio.Lock()

    def location_path(self, location: str) -> str:
        """Return the remote folder of a named location (see ``ConnectionSettings.location_path``)."""
        return self.settings.location_path(location)

    async def list_location(self, location: str) -> list[RemoteEntry]:
        """List a location's folder: name, size and mtime of every entry, sorted by name.

        The SFTP READDIR reply carries each entry's attributes, so this costs a few round trips per
        folder, not one per file.

        :raises UnknownLocationError: the location is not configured.
        :raises RemoteLocationError: the folder is missing or cannot be read.
        """
        folder = self.location_path(location)
        try:
            names = await self.sftp.readdir(remote_bytes(folder))
        except asyncssh.SFTPError as e:
            problem, lost = _describe_sftp_error(e), is_transport_error(e)
            raise RemoteLocationError(self.settings.conn_id, location, folder, problem, retryable=lost) from e
        entries = [_to_entry(folder, name) for name in names if name.filename not in (b".", b"..")]
        return sorted(entries, key=lambda entry: entry.name)

    async def check_location(self, location: str) -> None:
        """Check that a location's folder exists, is a folder, and can be listed.

        :raises RemoteLocationError: with what is wrong.
        """
        folder = self.location_path(location)
        try:
            attrs = await self.sftp.stat(remote_bytes(folder))
        except asyncssh.SFTPError as e:
            problem, lost = _describe_sftp_error(e), is_transport_error(e)
            raise RemoteLocationError(self.settings.conn_id, location, folder, problem, retryable=lost) from e
        if attrs.permissions is not None and not stat.S_ISDIR(attrs.permissions):
            raise RemoteLocationError(self.settings.conn_id, location, folder, "is not a folder")
        await self.list_location(location)

    async def reconnect(self, lost: int) -> None:
        """Put a new connection (same settings, same checks: pinned host key, authentication, SFTP start) in place
        of one a cut left dead, which is aborted: its pending requests fail as a lost connection. Whoever holds this
        session then works over the new one, and :meth:`close` closes it. Several callers that saw the same cut
        make one new connection.

        :param lost: the :attr:`generation` the caller saw fail; when the session has moved on since (another
            caller reconnected), nothing is done.
        :raises RemoteConnectError: as :func:`open_session` (then the dead connection stays in place).
        """
        async with self._reconnecting:
            if self.generation != lost:
                return
            fresh = await _connect(self.settings)
            dead, self.ssh, self.sftp = self.ssh, fresh.ssh, fresh.sftp
            self.stall_watch.stop()
            self.stall_watch = fresh.stall_watch
            self.generation += 1
            dead.abort()

    async def close(self) -> None:
        """Close the SFTP channel and the SSH connection."""
        self.stall_watch.stop()
        self.sftp.exit()
        self.ssh.close()
        await self.ssh.wait_closed()


@asynccontextmanager
async def open_session(settings: ConnectionSettings) -> AsyncIterator[AsyncSftpSession]:
    """Open one SSH + SFTP session, verify the pinned host key, authenticate, and close it on exit.

    :raises HostKeyError: the server's key is not pinned (checked before authenticating).
    :raises AuthenticationError: the server refused the credentials.
    :raises RemoteConnectError: the server could not be reached, did not set up the session within
        ``connect_timeout``, or broke the SSH protocol (the message says what it sent wrong).
    :raises SftpSubsystemError: authenticated, but the SFTP subsystem did not start (the step is named).
    """
    session = await _connect(settings)
    try:
        yield session
    finally:
        await session.close()


async def _connect(settings: ConnectionSettings) -> AsyncSftpSession:
    quiet_ssh_library()
    guard = _PinnedHostKeyClient()
    address = f"{settings.host}:{settings.port}"
    pinned = [fingerprint(key) for key in settings.host_keys]
    auth = settings.auth_type.label
    log.info("Connecting to %s (connection %r, %s authentication)", address, settings.conn_id, auth)
    # Built before connecting: an error in our own options is never blamed on the server below.
    options = asyncssh.SSHClientConnectionOptions(client_factory=lambda: guard, **connect_options(settings))
    target = await checked_target(settings.host, settings.port)  # the platform's allow-list, before any packet
    try:
        ssh = await asyncssh.connect(target, settings.port, options=options, config=None)
    except asyncssh.HostKeyNotVerifiable as e:
        offered = fingerprint(guard.refused_key) if guard.refused_key else None
        raise HostKeyError(settings.conn_id, address, offered, pinned) from e
    except (asyncssh.KeyExchangeFailed, asyncssh.ConnectionLost, ConnectionResetError) as e:
        # Servers hang up when none of their host keys has a pinned type: name the key they do offer.
        offered_key = await _probe_host_key(settings) if settings.host_keys else None
        if offered_key is not None and offered_key not in settings.host_keys:
            raise HostKeyError(settings.conn_id, address, fingerprint(offered_key), pinned) from e
        raise RemoteConnectError(f"Connection {settings.conn_id!r} to {address}: key exchange failed: {e}") from e
    except asyncssh.PermissionDenied as e:
        raise _refused(settings, address) from e
    except TimeoutError as e:
        raise RemoteConnectError(
            f"Connection {settings.conn_id!r}: cannot reach {address}: no SSH session within "
            f"{settings.advanced.connect_timeout} s (connect_timeout: connecting, the SSH handshake and authentication)"
        ) from e
    except Exception as e:  # asyncssh ends a connection with whatever its parser raised on the server's bytes
        if broke_protocol(e):
            raise RemoteConnectError(f"Connection {settings.conn_id!r}: {protocol_broken(address, e)}") from e
        raise RemoteConnectError(f"Connection {settings.conn_id!r}: cannot reach {address}: {e}") from e
    lighten_send_path(ssh)  # one send per event-loop turn; no IGNORE packet before each one (not CBC)
    sftp = await _start_sftp(settings, address, ssh)
    session = AsyncSftpSession(settings, ssh, sftp)
    log.info("Connected to %s; host key %s matches the pin", address, session.host_key_fingerprint)
    return session


def _refused(settings: ConnectionSettings, address: str) -> AuthenticationError:
    """The server refused our credentials: with our key, how to install it (the CLI's command, the page's button)."""
    refused = (
        f"Connection {settings.conn_id!r} to {address}: the server refused {settings.auth_type.label} "
        f"authentication for user {settings.username!r}"
    )
    if settings.auth_type is not AuthType.SSH_KEY:
        return AuthenticationError(refused)
    install = (
        " with our key: install our public key in that user's authorized keys (OpenSSH: one line in "
        "~/.ssh/authorized_keys; ProFTPD and some other servers need the RFC 4716 form: "
    )
    return AuthenticationError(
        f"{refused}{install}`actito-sftp ssh-key public {settings.conn_id} --format rfc4716`)",
        on_page=f"{refused}{install}“Download for ProFTPD (RFC 4716)” on the Server configuration tab)",
    )


async def _start_sftp(
    settings: ConnectionSettings, address: str, ssh: asyncssh.SSHClientConnection
) -> asyncssh.SFTPClient:
    """Open the SFTP channel, within ``connect_timeout``: a server whose SFTP subsystem never answers fails
    this step, in words, instead of holding the task forever. The connection is closed on failure."""
    timeout = settings.advanced.connect_timeout
    try:
        return await asyncio.wait_for(start_sftp_channel(ssh), timeout)
    except Exception as e:
        ssh.close()
        await ssh.wait_closed()
        if broke_protocol(e):
            raise SftpSubsystemError(f"Connection {settings.conn_id!r}: {protocol_broken(address, e)}") from e
        if isinstance(e, TimeoutError):
            problem = f"the server did not start its SFTP subsystem within {timeout} s (connect_timeout)"
        elif isinstance(e, asyncssh.ChannelOpenError):
            problem = f"the server has no SFTP subsystem: {e.reason}"
        elif isinstance(e, asyncssh.SFTPError) and not is_transport_error(e):
            problem = f"the server's SFTP subsystem broke the SFTP protocol: {e.reason or type(e).__name__}"
        else:
            problem = f"the SFTP subsystem could not be started: {str(e) or type(e).__name__}"
        raise SftpSubsystemError(f"Connection {settings.conn_id!r} to {address}: {problem}") from e


async def _probe_host_key(settings: ConnectionSettings) -> asyncssh.SSHKey | None:
    """Ask the server for its preferred host key of any type (no authentication); None if that fails."""
    try:
        return await fetch_host_key(settings.host, settings.port, timeout=settings.advanced.connect_timeout)
    except RemoteConnectError:
        return None


def remote_bytes(path: str) -> bytes:
    """Encode a remote path for asyncssh; names that were not UTF-8 round-trip through surrogate escapes."""
    return path.encode("utf-8", "surrogateescape")


def _to_entry(folder: str, name: asyncssh.SFTPName) -> RemoteEntry:
    attrs = name.attrs
    raw = name.filename
    filename = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
    mode = attrs.permissions or 0
    return RemoteEntry(
        name=filename,
        path=f"{folder.rstrip('/')}/{filename}",
        size=attrs.size or 0,
        mtime=datetime.fromtimestamp(attrs.mtime or 0, tz=UTC),
        is_file=stat.S_ISREG(mode),
        is_dir=stat.S_ISDIR(mode),
        mtime_ns=mtime_ns_of(attrs),
    )


def mtime_ns_of(attrs: asyncssh.SFTPAttrs) -> int:
    """Modification time in ns: whole seconds on SFTP v3 servers (OpenSSH), finer where the server says."""
    return (attrs.mtime or 0) * 1_000_000_000 + (attrs.mtime_ns or 0)


def _describe_sftp_error(error: asyncssh.SFTPError) -> str:
    if isinstance(error, asyncssh.SFTPNoSuchFile):
        return "the folder does not exist on the server"
    if isinstance(error, asyncssh.SFTPPermissionDenied):
        return "permission denied on the server"
    if is_transport_error(error):
        return f"the connection was lost: {error.reason}"
    return f"the server refused: {error.reason}"
