"""The SFTP channel, opened with a receive window sized for far servers.

SSH flow control lets a server send only as many bytes as the client's channel window allows before
the client acknowledges them. asyncssh opens its SFTP channel with a 2 MiB window: over a link of
50 ms round trip that caps a download at about 2 MiB per round trip whatever the bandwidth, and the
bandwidth-delay product of a 1 Gbit/s link at 50 ms is 6.25 MB. The window is only credit, not
memory: what actually arrives is bounded by the SFTP read requests in flight
(:mod:`airflow_provider_actito_sftp.transfer.streams`), so a large window costs nothing on a near server.

asyncssh has no public option for the SFTP channel's window; :func:`start_sftp_channel` opens the
channel itself (public ``open_session``) and hands it to asyncssh's SFTP client start-up. Should a
future asyncssh change that internal entry point, the default channel is used (and logged once).

A subsystem that answers with something other than SFTP (``Max packet size exceeded``: asyncssh read the first
four bytes of a text as a packet length) is usually a login script or shell printing text: :func:`subsystem_text`
opens the subsystem once more and reads what it says before any request, to quote it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncssh

log = logging.getLogger(__name__)

RECEIVE_WINDOW = 16 << 20  # bytes the server may send before we acknowledge: ~2.5x the BDP of 1 Gbit/s at 50 ms
SFTP_VERSION = 3
PEEK_BYTES = 80  # of a subsystem's text, quoted in the error
PEEK_SECONDS = 2.0  # to read them (a login script prints at once)


async def start_sftp_channel(ssh: asyncssh.SSHClientConnection) -> asyncssh.SFTPClient:
    """Open the SFTP subsystem on ``ssh`` with a :data:`RECEIVE_WINDOW` receive window.

    :param ssh: an authenticated connection.
    """
    starter: Any = getattr(getattr(asyncssh, "sftp", None), "start_sftp_client", None)
    if starter is None:  # pragma: no cover - an asyncssh without the entry point
        log.info("asyncssh has no SFTP start-up entry point: its default 2 MiB window is used")
        return await ssh.start_sftp_client()
    writer, reader, _ = await ssh.open_session(subsystem="sftp", encoding=None, window=RECEIVE_WINDOW)
    try:
        sftp: asyncssh.SFTPClient = await starter(
            ssh, ssh._loop, "strict", reader, writer, "utf-8", "strict", SFTP_VERSION
        )
        return sftp
    except TypeError:  # pragma: no cover - its signature changed: the public way, with the default window
        writer.close()
        log.info("asyncssh's SFTP start-up changed: its default 2 MiB window is used")
        return await ssh.start_sftp_client()


async def subsystem_text(ssh: asyncssh.SSHClientConnection, timeout: float = PEEK_SECONDS) -> str | None:
    """What the server's ``sftp`` subsystem says before any request, when that is text (a login script or shell
    printing a greeting where SFTP should answer): its first line, at most :data:`PEEK_BYTES` bytes.

    :param ssh: an authenticated connection.
    :param timeout: seconds to open the channel and read.
    :return: the text; None when the subsystem says nothing within ``timeout``, says something else than text, or
        cannot be opened.
    """
    said = b""
    try:
        async with asyncio.timeout(timeout):
            writer, reader, _ = await ssh.open_session(subsystem="sftp", encoding=None)
            try:
                while len(said) < PEEK_BYTES and b"\n" not in said and (chunk := await reader.read(PEEK_BYTES)):
                    said += chunk
            finally:
                writer.close()
    except TimeoutError:
        pass  # what came so far
    except (asyncssh.Error, OSError):
        return None
    return _as_text(said[:PEEK_BYTES])


def _as_text(said: bytes) -> str | None:
    """``said`` as text (its first line), or None for bytes that are not text: SFTP packets begin with a NUL."""
    text = said.decode("utf-8", "replace").split("\n")[0].strip()
    return text if text and text.replace("\t", " ").isprintable() else None
