"""What an SSH or SFTP failure means, decided here once: a transport error (:func:`is_transport_error`: the connection
is lost or cannot be used, a retry may get past it) or the server's answer (an SFTP status: a retry meets it
again); and a server that breaks the SSH protocol: how to tell it from one that cannot be reached, and say it in
words.

asyncssh ends a connection with whatever its parser raised on the server's bytes: its own protocol errors
(``Max packet size exceeded``), but also a bare ``PacketDecodeError`` (a ``ValueError``) or any other
exception, which no ``except asyncssh.Error`` catches. Such a server is reachable and talks, but not SSH:
a connection failure of that server, worded, never an unexpected error of ours.
"""

from __future__ import annotations

import asyncio

import asyncssh
from asyncssh.packet import PacketDecodeError  # a ValueError, not an asyncssh.Error

CONNECTION_LOST = (asyncssh.SFTPConnectionLost, asyncssh.SFTPNoConnection)  # SFTP's own "no connection" statuses


def is_transport_error(error: BaseException) -> bool:
    """A lost or broken connection (retry), as opposed to an SFTP status the server answered with: the one place
    that sorts asyncssh's errors and the OS's (our own errors say it with ``ActitoSftpError.retryable``).

    :param error: what a remote step (or a local one beside it) raised.
    """
    if isinstance(error, CONNECTION_LOST):
        return True
    if isinstance(error, asyncssh.SFTPError):
        return False
    return isinstance(error, asyncssh.Error | OSError | TimeoutError | EOFError)


# asyncssh's errors for bytes that break the protocol (the rest of asyncssh.Error: refusals, lost connections).
_PROTOCOL_ERRORS = (asyncssh.ProtocolError, asyncssh.ProtocolNotSupported, asyncssh.MACError, asyncssh.CompressionError)


def broke_protocol(error: BaseException) -> bool:
    """Whether a connection's error means the server broke the SSH protocol (rather than a refusal, a lost
    connection or a timeout): asyncssh's protocol errors, and any exception that is not asyncssh's, an
    ``OSError`` or a cancellation (asyncssh raises those only from parsing the server's bytes)."""
    if isinstance(error, _PROTOCOL_ERRORS):
        return True
    return not isinstance(error, asyncssh.Error | OSError | asyncio.CancelledError)


def protocol_broken(address: str, error: BaseException) -> str:
    """``the server at H:P broke the SSH protocol: <what it sent wrong>``.

    :param address: ``host:port``.
    :param error: an error for which :func:`broke_protocol` holds.
    """
    if isinstance(error, asyncssh.Error):
        what = error.reason or type(error).__name__
    elif isinstance(error, PacketDecodeError):
        what = f"a malformed packet ({error})"
    else:
        what = f"data it could not read ({type(error).__name__}: {error})"
    return f"the server at {address} broke the SSH protocol: {what}"
