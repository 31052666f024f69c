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

from airflow_provider_actito_sftp.connection.settings import ConnectionSettings
from airflow_provider_actito_sftp.exceptions import (
    ActitoSftpError,
    ConnectionConfigError,
    HostKeyError,
    RemoteConnectError,
    RemoteLocationError,
    SftpSubsystemError,
)
from airflow_provider_actito_sftp.ssh.algorithms import Algorithms, find_mismatch, signature_algorithms
from airflow_provider_actito_sftp.ssh.host_keys import fetch_host_key, fingerprint
from airflow_provider_actito_sftp.ssh.login import (
    PREFERRED_AUTH,
    LoginClient,
    closed_before_greeting,
    refusal,
    timed_out,
    unreachable,
)
from airflow_provider_actito_sftp.ssh.protocol import broke_protocol, is_transport_error, protocol_broken
from airflow_provider_actito_sftp.ssh.send_path import lighten_send_path
from airflow_provider_actito_sftp.ssh.sftp_channel import start_sftp_channel, subsystem_text
from airflow_provider_actito_sftp.ssh.stall_watch import StallWatch, count_any_reply_as_alive
from airflow_provider_actito_sftp.ssh.targets import checked_target, host_and_port

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


def connect_options(settings: ConnectionSettings) -> dict[str, Any]:
    """Return the asyncssh connect options for these settings: hermetic, pinned, no agent, no ~/.ssh. Our key and
    password are not among them: :class:`~airflow_provider_actito_sftp.ssh.login.LoginClient` hands them out as the
    server asks (both, in its order, for a server that wants two factors)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "username": settings.username,
        "known_hosts": (list(settings.host_keys), [], []),
        "config": None,
        "agent_path": None,
        "client_keys": None,  # no default keys either: LoginClient offers ours
        "password": None,
        "preferred_auth": PREFERRED_AUTH,
        "gss_auth": False,
        "gss_kex": False,
        "host_based_auth": False,
        "x509_trusted_certs": None,
        "connect_timeout": settings.advanced.connect_timeout,
        "login_timeout": 2 * settings.advanced.connect_timeout,  # a backstop: connect_timeout bounds the login
        "keepalive_interval": settings.advanced.keepalive_interval or None,
        "encryption_algs": offered_algorithms(settings).encryption_algs(),  # CBC only where the connection accepts it
        "server_host_key_algs": _host_key_algs(settings),
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
    guard = LoginClient(settings)
    address = host_and_port(settings.host, settings.port)
    auth = settings.auth_type.label
    log.info("Connecting to %s (connection %r, %s authentication)", address, settings.conn_id, auth)
    # Built before connecting: an error in our own options is never blamed on the server below.
    options = asyncssh.SSHClientConnectionOptions(client_factory=lambda: guard, **connect_options(settings))
    target = await checked_target(settings.host, settings.port)  # the platform's allow-list, before any packet
    try:
        ssh = await asyncssh.connect(target, settings.port, options=options, config=None)
    except Exception as e:  # asyncssh ends a connection with whatever its parser raised on the server's bytes
        raise await _connect_failed(settings, address, guard, e) from e
    lighten_send_path(ssh)  # one send per event-loop turn; no IGNORE packet before each one (not CBC)
    count_any_reply_as_alive(ssh)  # keepalives: any packet from the server proves it alive (tinysshd)
    sftp = await _start_sftp(settings, address, ssh)
    session = AsyncSftpSession(settings, ssh, sftp)
    log.info("Connected to %s; host key %s matches the pin", address, session.host_key_fingerprint)
    return session


async def _connect_failed(
    settings: ConnectionSettings, address: str, guard: LoginClient, error: Exception
) -> ActitoSftpError:
    """What a failed connect means, in words: the host key refused, the login refused (what the server wanted),
    no TCP connection, a server silent or gone before its SSH greeting, a handshake too slow, or bytes that are
    not SSH."""
    conn = f"Connection {settings.conn_id!r}"
    pinned = [fingerprint(key) for key in settings.host_keys]
    if isinstance(error, asyncssh.HostKeyNotVerifiable):
        offered = fingerprint(guard.refused_key) if guard.refused_key else None
        return HostKeyError(settings.conn_id, address, offered, pinned)
    if isinstance(error, asyncssh.PermissionDenied):
        return refusal(settings, address, guard)
    if isinstance(error, TimeoutError):
        return RemoteConnectError(f"{conn}: {timed_out(address, guard, settings.advanced.connect_timeout)}")
    lost = isinstance(error, asyncssh.ConnectionLost | ConnectionResetError)
    if lost and guard.connection is not None and not guard.greeted:
        return RemoteConnectError(f"{conn}: {closed_before_greeting(address, error)}")
    if lost or isinstance(error, asyncssh.KeyExchangeFailed):
        # Servers hang up when none of their host keys has a pinned type: name the key they do offer.
        offered_key = await _probe_host_key(settings) if settings.host_keys else None
        if offered_key is not None and offered_key not in settings.host_keys:
            return HostKeyError(settings.conn_id, address, fingerprint(offered_key), pinned)
        return await _no_key_exchange(settings, address, error)
    if broke_protocol(error):
        return RemoteConnectError(f"{conn}: {protocol_broken(address, error)}")
    return RemoteConnectError(f"{conn}: {unreachable(address, error)}")


def offered_algorithms(settings: ConnectionSettings) -> Algorithms:
    """What a session offers the server: the connection's ciphers, and the weaker algorithms it accepts."""
    return Algorithms(settings.advanced.ciphers, settings.advanced.legacy_algorithms)


def _host_key_algs(settings: ConnectionSettings) -> list[str] | tuple[()]:
    """The pinned keys' types (SHA-1 ssh-rsa signatures only where the connection accepts them); none pinned:
    asyncssh's defaults (the server is refused anyway)."""
    return offered_algorithms(settings).host_key_algs(signature_algorithms(settings.host_keys)) or ()


async def _no_key_exchange(settings: ConnectionSettings, address: str, error: Exception) -> ActitoSftpError:
    """A key exchange that failed, in words: what the server offers that the connection does not accept, and the
    field that would (``legacy_algorithms`` for an old server: not retried); else asyncssh's reason."""
    conn = f"Connection {settings.conn_id!r}"
    target = await checked_target(settings.host, settings.port)
    offered, candidates = offered_algorithms(settings), signature_algorithms(settings.host_keys)
    why = await find_mismatch(target, settings.port, offered, candidates, timeout=settings.advanced.connect_timeout)
    if why is None:
        return RemoteConnectError(f"{conn} to {address}: key exchange failed: {error}")
    if why.field is None:
        return RemoteConnectError(f"{conn} to {address}: {why.text()}")
    command = f"actito-sftp connection update {settings.conn_id}"
    page = f"{address}: {why.text(page=True)}"
    return ConnectionConfigError(settings.conn_id, why.field, f"{address}: {why.text(command=command)}", on_page=page)


async def _start_sftp(
    settings: ConnectionSettings, address: str, ssh: asyncssh.SSHClientConnection
) -> asyncssh.SFTPClient:
    """Open the SFTP channel, within ``connect_timeout``: a server whose SFTP subsystem never answers fails
    this step, in words, instead of holding the task forever. The connection is closed on failure."""
    timeout = settings.advanced.connect_timeout
    try:
        return await asyncio.wait_for(start_sftp_channel(ssh), timeout)
    except Exception as e:
        not_sftp = broke_protocol(e) or (isinstance(e, asyncssh.SFTPError) and not is_transport_error(e))
        text = await subsystem_text(ssh) if not_sftp else None  # while the connection is still open
        ssh.close()
        await ssh.wait_closed()
        if text is not None:
            problem = (
                f"the server's SFTP subsystem answered with text, not SFTP (a login script or the account's shell "
                f"printing text?): {text!r}: the account's login must print nothing when it is not interactive "
                "(or the server's Subsystem sftp line is wrong)"
            )
            raise SftpSubsystemError(f"Connection {settings.conn_id!r} to {address}: {problem}") from e
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
