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
"""

from __future__ import annotations

import logging
from typing import Any

import asyncssh

log = logging.getLogger(__name__)

RECEIVE_WINDOW = 16 << 20  # bytes the server may send before we acknowledge: ~2.5x the BDP of 1 Gbit/s at 50 ms
SFTP_VERSION = 3


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
