"""The remote side of an import: one location's folder, and the renames, moves and removals done in it.

Errors are sorted once, by :func:`~airflow_provider_actito_sftp.ssh.protocol.is_transport_error`: a broken
connection (worth a retry) from a server's refusal (permission denied, a name too long, no such file), which a retry
would meet again; :func:`describe` words them.
"""

from __future__ import annotations

import asyncio
import stat
from datetime import UTC, datetime

import asyncssh

from airflow_provider_actito_sftp.exceptions import ActitoSftpError
from airflow_provider_actito_sftp.ssh.protocol import CONNECTION_LOST
from airflow_provider_actito_sftp.ssh.session import AsyncSftpSession, remote_bytes


def describe(error: BaseException) -> str:
    """A short, user-facing reason for an SFTP error (never data)."""
    if isinstance(error, CONNECTION_LOST):
        return f"connection lost: {error.reason or type(error).__name__}"
    if isinstance(error, asyncssh.SFTPNoSuchFile):
        return "no such file on the server"
    if isinstance(error, asyncssh.SFTPPermissionDenied):
        return "permission denied by the server"
    if isinstance(error, asyncssh.SFTPError):
        return f"the server refused: {error.reason or type(error).__name__}"
    if isinstance(error, ActitoSftpError):  # ours, e.g. gpg cannot run on this machine: already in words
        return str(error)
    if isinstance(error, asyncssh.Error | ConnectionError | TimeoutError | EOFError):
        return f"connection lost: {str(error) or type(error).__name__}"
    if isinstance(error, OSError):
        return f"local I/O error: {error}"
    return f"{type(error).__name__}: {error}"


class RemoteFolder:
    """A location's folder on the partner's server, over one session.

    :param session: the open SFTP session.
    :param location: the location name (the connection maps it to a folder).
    """

    def __init__(self, session: AsyncSftpSession, location: str) -> None:
        self.session = session
        self.location = location
        self.path = session.location_path(location)

    @property
    def sftp(self) -> asyncssh.SFTPClient:
        """The session's SFTP client: a new one once the session reconnected after a cut."""
        return self.session.sftp

    def file(self, name: str, folder: str | None = None) -> bytes:
        return remote_bytes(f"{(folder or self.path).rstrip('/')}/{name}")

    async def rename(self, old: str, new: str, new_folder: str | None = None) -> None:
        await self.sftp.rename(self.file(old), self.file(new, new_folder))

    async def remove(self, name: str) -> None:
        await self.sftp.remove(self.file(name))

    async def lstat(self, name: str) -> asyncssh.SFTPAttrs:
        """Attributes of the entry itself (a symlink is not followed)."""
        return await self.sftp.lstat(self.file(name))

    async def rename_then_lstat(self, old: str, new: str) -> asyncio.Future[asyncssh.SFTPAttrs]:
        """Rename ``old`` to ``new`` and send an lstat of ``new`` right behind the rename, in the same round
        trip: the server answers requests in order, so the lstat sees the renamed entry. Raise the rename's
        error (the lstat's answer is then dropped); else return the lstat's answer still to await.
        """
        renamed = asyncio.ensure_future(self.rename(old, new))
        attrs = asyncio.ensure_future(self.lstat(new))  # sent after the rename: tasks start in order
        try:
            await renamed
        except BaseException:
            attrs.cancel()
            await asyncio.gather(attrs, return_exceptions=True)
            raise
        return attrs

    async def exists(self, name: str, folder: str | None = None) -> bool:
        try:
            await self.sftp.lstat(self.file(name, folder))
        except asyncssh.SFTPNoSuchFile:
            return False
        return True

    async def move_without_clobbering(self, current: str, folder: str, name: str) -> str:
        """Move ``current`` into ``folder`` as ``name``, or a time-stamped name if that exists."""
        target = name
        if await self.exists(target, folder):
            target = f"{name}.{datetime.now(UTC):%Y%m%dT%H%M%S%f}"
        await self.rename(current, target, folder)
        return target


def is_regular(attrs: asyncssh.SFTPAttrs) -> bool:
    return attrs.permissions is not None and stat.S_ISREG(attrs.permissions)
