"""More SFTP channels for one large upload, so that a far server's flow control does not cap it.

The server decides how many bytes a channel may have in flight: OpenSSH grants 2 MiB per channel, so
over a 50 ms round trip one channel carries at most ~40 MB/s, a third of a 1 Gbit/s link. A large file
(at least :data:`MULTI_CHANNEL_SIZE`) is therefore also opened for writing on up to
:data:`EXTRA_CHANNELS` more SFTP channels of the same SSH connection. They open in the background
while the first channel already writes, and join the writer (:class:`~.streams.PipelinedWriter`) as
they become ready; a server that refuses more channels simply leaves the upload on fewer. Memory stays
bounded by the writer (the data in flight is the same whatever the number of channels).

Each extra channel has its own :class:`~airflow_provider_actito_sftp.ssh.stall_watch.StallWatch`, and
is closed when the upload ends, before the size check and the rename (which use the first channel).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncssh

from airflow_provider_actito_sftp.ssh.session import AsyncSftpSession
from airflow_provider_actito_sftp.ssh.sftp_channel import start_sftp_channel
from airflow_provider_actito_sftp.ssh.stall_watch import StallWatch
from airflow_provider_actito_sftp.transfer.streams import PipelinedWriter

log = logging.getLogger(__name__)

MULTI_CHANNEL_SIZE = 32 << 20  # files at least this large are written over several channels
EXTRA_CHANNELS = 3  # channels besides the session's own


class ExtraChannels:
    """The extra channels of one upload: :meth:`start`, then :meth:`close` in every case.

    :param session: the session whose connection carries them.
    :param path: the remote file, already created by the first channel.
    :param writer: the writer they join.
    """

    def __init__(self, session: AsyncSftpSession, path: bytes, writer: PipelinedWriter) -> None:
        self._session = session
        self._path = path
        self._writer = writer
        self._opened: list[tuple[asyncssh.SFTPClient, StallWatch, asyncssh.SFTPClientFile | None]] = []
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, count: int = EXTRA_CHANNELS) -> None:
        """Open ``count`` channels in the background."""
        self._tasks = [asyncio.ensure_future(self._open_one()) for _ in range(count)]

    async def _open_one(self) -> None:
        settings = self._session.settings
        try:
            sftp = await asyncio.wait_for(start_sftp_channel(self._session.ssh), settings.advanced.connect_timeout)
        except (asyncssh.Error, OSError, TimeoutError) as e:
            log.debug("upload of %r stays on fewer channels: %s", self._path, e)
            return
        watch = StallWatch(self._session.ssh, sftp, f"{settings.host}:{settings.port}")
        entry: tuple[asyncssh.SFTPClient, StallWatch, asyncssh.SFTPClientFile | None] = (sftp, watch, None)
        self._opened.append(entry)
        try:
            handle = await sftp.open(self._path, "r+b")  # the file exists: no create, no truncate
        except (asyncssh.Error, OSError) as e:
            log.debug("upload of %r stays on fewer channels: %s", self._path, e)
            return
        self._opened[self._opened.index(entry)] = (sftp, watch, handle)
        self._writer.add_handle(handle)

    async def close(self) -> None:
        """Stop opening, take the handles out of the writer, close them and their channels (errors ignored:
        the first channel's size check decides)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        handles = [handle for _, _, handle in self._opened if handle is not None]
        for handle in handles:
            self._writer.remove_handle(handle)
        await asyncio.gather(*(_close_quietly(handle) for handle in handles))
        for sftp, watch, _ in self._opened:
            watch.stop()
            sftp.exit()
        self._opened.clear()


async def _close_quietly(handle: asyncssh.SFTPClientFile) -> None:
    with contextlib.suppress(asyncssh.Error, OSError):
        await handle.close()
