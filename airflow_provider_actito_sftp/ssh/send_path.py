"""Two changes to how an established asyncssh connection sends, both measured (docs/performance.md).

1. **One system call per event-loop turn.** asyncssh hands every SSH packet to the socket at once. A
   batch of small files keeps dozens of SFTP requests in flight, most of them written in the same turn
   of the event loop; the ``send`` calls were the largest single cost per file in the profile of a
   1,000-file import on loopback. :class:`_Batcher` gathers the bytes written during one turn and sends
   them together at the start of the next one: the order of the bytes is unchanged, no timer is
   involved, and nothing waits longer than the turn in progress.
2. **No empty ``SSH_MSG_IGNORE`` before every packet under AEAD and CTR ciphers.** asyncssh sends one
   before each packet once encryption is on, which doubles the packets, their encryption and their
   random padding. That is a countermeasure for CBC mode (a predictable IV lets an observer test
   guesses of earlier plaintext); AES-GCM, ChaCha20-Poly1305 and CTR modes are not open to it, and
   OpenSSH does not send such packets. With a CBC cipher (an opt-in for old servers) they are kept.

Both act on the connection object only, after authentication, through asyncssh's own methods; where an
asyncssh release lays this out differently, nothing is changed (logged at DEBUG).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

MSG_IGNORE = 2  # RFC 4253


def lighten_send_path(ssh: Any) -> None:
    """Apply both changes to ``ssh`` (an authenticated asyncssh connection), on the running loop.

    :param ssh: the connection.
    """
    send: Callable[[bytes], None] | None = getattr(ssh, "_send", None)
    if callable(send):
        ssh._send = _Batcher(send, asyncio.get_running_loop()).write
    else:  # pragma: no cover - another asyncssh layout
        log.debug("asyncssh has no _send: socket writes are not batched")
    send_packet: Callable[..., None] | None = getattr(ssh, "send_packet", None)
    if callable(send_packet):
        ssh.send_packet = _IgnorePacketFilter(send_packet, ssh).send_packet


class _Batcher:
    """Collects the writes of one loop turn and passes them on joined, in order."""

    def __init__(self, send: Callable[[bytes], None], loop: asyncio.AbstractEventLoop) -> None:
        self._send = send
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        self._send(data)


class _IgnorePacketFilter:
    """Drops asyncssh's empty IGNORE packets unless the cipher sending them is a CBC one."""

    EMPTY = b"\x00\x00\x00\x00"  # an SSH string of length 0

    def __init__(self, send_packet: Callable[..., None], ssh: Any) -> None:
        self._send_packet = send_packet
        self._ssh = ssh

    def send_packet(self, pkttype: int, *args: bytes, **kwargs: Any) -> None:
        if pkttype == MSG_IGNORE and args == (self.EMPTY,) and not self._cbc():
            return
        self._send_packet(pkttype, *args, **kwargs)

    def _cbc(self) -> bool:
        cipher = self._ssh.get_extra_info("send_cipher") or ""
        return not cipher or cipher.endswith("-cbc") or "-cbc@" in cipher
