"""Errors raised by the provider.

Every message names the connection (and, where it applies, the field, location and file) and says what
was expected. No message ever carries key material, a password or file contents.
"""

from __future__ import annotations

from collections.abc import Iterable


class ActitoSftpError(Exception):
    """Base class for every error the provider raises on purpose."""


class ConnectionConfigError(ActitoSftpError, ValueError):
    """A connection field holds a value the provider cannot use.

    :param conn_id: the connection's technical name.
    :param field: the field (Airflow column or extra key) that is wrong.
    :param problem: what is wrong and what is expected instead.
    """

    def __init__(self, conn_id: str, field: str, problem: str) -> None:
        self.conn_id = conn_id
        self.field = field
        self.problem = problem
        super().__init__(f"Connection {conn_id!r}, field {field!r}: {problem}")


class HostKeyError(ActitoSftpError):
    """The server's host key is not the pinned one (or none is pinned): the session is refused."""

    def __init__(
        self,
        conn_id: str,
        address: str,
        offered_fingerprint: str | None,
        pinned_fingerprints: Iterable[str],
    ) -> None:
        self.conn_id = conn_id
        self.address = address
        self.offered_fingerprint = offered_fingerprint
        self.pinned_fingerprints = tuple(pinned_fingerprints)
        offered = offered_fingerprint or "no key of a pinned type"
        if self.pinned_fingerprints:
            pinned = ", ".join(self.pinned_fingerprints)
            detail = (
                f"the server offered {offered} but the pinned host key is {pinned}. "
                "Refusing to connect: this may be a man-in-the-middle. If the partner really changed "
                "its host key, confirm the new fingerprint with them and pin it."
            )
        else:
            detail = (
                f"no host key is pinned (field 'host_key'); the server offered {offered}. "
                "Confirm this fingerprint with the partner out of band, then pin the key "
                "(`actito-sftp connection create ... --accept-host-key <fingerprint>` or the 'host_key' field)."
            )
        super().__init__(f"Connection {conn_id!r} to {address}: {detail}")


class AuthenticationError(ActitoSftpError):
    """The server refused our credentials."""


class RemoteConnectError(ActitoSftpError):
    """The server could not be reached or the SSH/SFTP session could not be set up."""


class UnknownLocationError(ActitoSftpError, KeyError):
    """A location name that the connection does not define."""

    def __init__(self, conn_id: str, location: str, known: Iterable[str]) -> None:
        self.conn_id = conn_id
        self.location = location
        self.known = tuple(sorted(known))
        known_text = ", ".join(repr(name) for name in self.known) or "none are configured"
        super().__init__(f"Connection {conn_id!r}: unknown location {location!r}; known locations: {known_text}")

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class RemoteLocationError(ActitoSftpError):
    """A location's folder is missing or not usable on the server."""

    def __init__(self, conn_id: str, location: str, path: str, problem: str) -> None:
        self.conn_id = conn_id
        self.location = location
        self.path = path
        self.problem = problem
        super().__init__(f"Connection {conn_id!r}, location {location!r} ({path}): {problem}")


class ImportRefusedError(ActitoSftpError):
    """An inbound file was refused (bad input, not retried); the message says why. The file is left
    in place or quarantined."""
