"""A session whose SFTP server stops answering ends, instead of holding its task forever.

SSH keepalives catch a dead server or network (``keepalive_interval``), but not a server whose SSH layer
still answers while its SFTP process hangs, nor any server once keepalives are off. So every open session is
watched: when its oldest pending SFTP request has gone unanswered for :data:`STALL_TIMEOUT` seconds, every
pending request fails with :class:`asyncssh.SFTPConnectionLost` saying so (a transport error: the files are
released or retried as after a cut) and the connection is closed. A pipelined transfer is not slowed: only
the oldest request counts, and on any link a server answers it within seconds.

asyncssh does not expose its pending requests; they are read from its SFTP client handler, and where a
version of asyncssh keeps them elsewhere the watch closes a stalled connection all the same, only without the
worded reason.

**Keepalives** (:func:`count_any_reply_as_alive`): asyncssh sends one after each ``keepalive_interval`` in which
nothing came from the server, and drops the connection at the fourth (``keepalive_count_max``: 3) unless a
keepalive's own reply came in between: other packets restart the interval but do not clear the count. Some servers
never send that reply: tinysshd (releases before 20260906) answers ``keepalive@openssh.com`` with
``SSH_MSG_UNIMPLEMENTED``, so its sessions ended ("Server not responding to keepalive") after four idle intervals in
all, mid-export. OpenSSH's own client counts any packet received as a sign of life (``packet.c``:
``keep_alive_timeouts = 0`` on every packet): so do we. A connection is dropped only after four intervals in a row
in which nothing at all came from the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncssh

log = logging.getLogger(__name__)

STALL_TIMEOUT = 300.0  # seconds the oldest pending SFTP request may wait for its answer


def count_any_reply_as_alive(ssh: Any) -> None:
    """Make ``ssh`` (an asyncssh connection) count anything received from the server as an answer to its
    keepalives, as OpenSSH's client does: see the module's docstring.

    asyncssh restarts its keepalive timer on every received byte (``_reset_keepalive_timer``) but clears its
    count of unanswered keepalives only on a keepalive's own reply; here the count is cleared with the timer.
    Where an asyncssh release lays this out differently, nothing is changed (logged at DEBUG).

    :param ssh: the connection, authenticated.
    """
    restart: Callable[[], None] | None = getattr(ssh, "_reset_keepalive_timer", None)
    if not callable(restart) or not isinstance(getattr(ssh, "_keepalive_count", None), int):
        log.debug("asyncssh keeps its keepalive count elsewhere: only a keepalive's own reply counts")
        return

    def heard_from_server() -> None:
        ssh._keepalive_count = 0
        restart()

    ssh._reset_keepalive_timer = heard_from_server


class StallWatch:
    """Watch one session's SFTP requests; end the session when the oldest one waits too long.

    :param ssh: the SSH connection (closed on a stall).
    :param sftp: its SFTP client.
    :param address: ``host:port``, for the message.
    :param timeout: seconds (default :data:`STALL_TIMEOUT`).
    """

    def __init__(
        self, ssh: asyncssh.SSHClientConnection, sftp: asyncssh.SFTPClient, address: str, timeout: float | None = None
    ) -> None:
        self._ssh, self._sftp, self._address = ssh, sftp, address
        self.timeout = STALL_TIMEOUT if timeout is None else timeout
        self.stalled = False
        self._task = asyncio.get_running_loop().create_task(self._watch())

    def stop(self) -> None:
        """Stop watching (the session is closing)."""
        self._task.cancel()

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        oldest, since = None, loop.time()
        while True:
            await asyncio.sleep(max(0.05, min(5.0, self.timeout / 10)))
            pending = self._pending()
            first = min(pending) if pending else None
            if first != oldest:
                oldest, since = first, loop.time()
            elif first is not None and loop.time() - since >= self.timeout:
                self._end()
                return

    def _pending(self) -> dict[int, Any]:
        requests = getattr(getattr(self._sftp, "_handler", None), "_requests", None)
        return requests if isinstance(requests, dict) else {}

    def _end(self) -> None:
        self.stalled = True
        reason = f"the SFTP server at {self._address} did not answer a request for {self.timeout:.0f} s"
        log.error("%s: closing the session", reason)
        pending = self._pending()
        for request_id in list(pending):
            waiter = pending.pop(request_id)
            with contextlib.suppress(asyncio.InvalidStateError):
                waiter.set_exception(asyncssh.SFTPConnectionLost(reason))
        self._ssh.abort()
