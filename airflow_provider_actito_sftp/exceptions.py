"""Every error the provider raises on purpose: all are :class:`ActitoSftpError`, each in one group that says who
must act, and whether a retry may get past it (``retryable``: the operators fail a task at once when it is False).

Every message names the connection (and, where it applies, the field, location and file) and says what
was expected. No message ever carries key material, a password or file contents.

- :class:`ConfigurationError` (fix the connection, the task's arguments or this Airflow's settings; not retried):
  :class:`ConnectionConfigError`, :class:`UnknownLocationError`, :class:`ConnectionNotFoundError`,
  :class:`ConnectionExistsError`, :class:`ConnectionNotWritableError`, :class:`RefusedError` (a management
  operation refused; :class:`TargetNotAllowedError`: a server the platform does not allow), :class:`HostFieldError`
  (a Host that holds a port, a user or a URL besides the server; a ``ValueError``), :class:`PgpKeyError`,
  :class:`PlatformConfigError`, :class:`OptionError` (an invalid option; a ``ValueError``),
  :class:`NoTaskContextError` (called outside a task; a ``RuntimeError``).
- :class:`ServerError` (the partner's server, or its pin, must change; not retried): :class:`HostKeyError`,
  :class:`AuthenticationError`, :class:`RemoteLocationError` (retried when the connection was lost while it was
  checked), :class:`NoFileReadyError` (no file within the wait's timeout; retried: a ``TimeoutError``).
- :class:`FileRefusedError` (one file refused: bad input, the others go on; not retried):
  :class:`ImportRefusedError`, :class:`ExportRefusedError` (:class:`SourceUnavailableError`: retried, the source
  may appear), :class:`GpgStreamError` (:class:`GpgIntegrityError`, :class:`SequoiaDecryptError`),
  :class:`OutputLimitError`, :class:`UnsafeNameError`, :class:`PublishConflictError`, :class:`RemoteExistsError`.
- :class:`TransportError` (nobody must act: the session failed, or a file changed while it was read; retried):
  :class:`RemoteConnectError` (:class:`SftpSubsystemError`), :class:`RemoteChangedError` (the file is left for a
  later run).
- :class:`ThisMachineError` (this worker's administrator; retried, maybe on another worker):
  :class:`GpgUnavailableError` (an ``OSError``), :class:`UnsafeTempDirError`.

Whether an SSH/SFTP library error or an ``OSError`` is a transport error is decided in one place,
:func:`airflow_provider_actito_sftp.ssh.transport.is_transport_error` (this module imports nothing, not even SSH).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class NamedRecord(Protocol):
    """What an error needs of a connection record: its name (this module imports nothing of the package)."""

    @property
    def conn_id(self) -> str: ...


class ActitoSftpError(Exception):
    """Base class for every error the provider raises on purpose; each is in exactly one group below, which says
    who must act and sets ``retryable``.

    Its text speaks the command line's words (flags, commands). Where the configuration page says it
    otherwise (its buttons instead of flags), ``on_page`` holds the same message in the page's words.

    :param on_page: the message as the page shows it (None: the same text).
    """

    retryable: bool = False  # may a retry (of the task, or a later run) get past it? Set by the group.

    def __init__(self, *args: object, on_page: str | None = None) -> None:
        super().__init__(*args)
        self.on_page = on_page

    def for_page(self) -> str:
        """The message in the page's words."""
        return self.on_page or str(self)


# --- who must act ---------------------------------------------------------------------------------------------


class ConfigurationError(ActitoSftpError):
    """Whoever configures must act: the connection, the task's arguments or this Airflow's settings are wrong. A
    retry would meet it again."""

    retryable = False


class ServerError(ActitoSftpError):
    """The partner's server must change, or its pin: it is not the server pinned, refused our credentials, lacks a
    folder, or delivered no file in time. A retry would meet it again (unless the error says otherwise)."""

    retryable = False


class FileRefusedError(ActitoSftpError):
    """One file is refused (its content, name or place: bad input); the others go on. Whoever makes the file must
    act: a retry would meet it again (unless the error says otherwise)."""

    retryable = False


class TransportError(ActitoSftpError):
    """Nobody must act: the connection or the session failed, or a file changed while it was read. A retry (or a
    later run) may get past it."""

    retryable = True


class ThisMachineError(ActitoSftpError):
    """This worker cannot do its part (a missing program, a temp folder not ours alone): its administrator must act.
    A retry may get past it (on another worker, or once fixed)."""

    retryable = True


GROUPS: tuple[type[ActitoSftpError], ...] = (
    ConfigurationError,
    ServerError,
    FileRefusedError,
    TransportError,
    ThisMachineError,
)


# --- the errors -----------------------------------------------------------------------------------------------


class OptionError(ConfigurationError, ValueError):
    """An import or export option holds a value it cannot take, or options that do not go together (the message
    names the option and the valid values)."""


class NoTaskContextError(ConfigurationError, RuntimeError):
    """Something that needs the running Airflow task was asked for outside a task."""


class NoFileReadyError(ServerError, TimeoutError):
    """No complete file came within the wait's timeout (a later look may find one)."""

    retryable = True


class ConnectionConfigError(ConfigurationError, ValueError):
    """A connection field holds a value the provider cannot use.

    The page shows the field's label, then ``problem_on_page`` (the plugin renders it).

    :param conn_id: the connection's technical name.
    :param field: the field (Airflow column or extra key) that is wrong.
    :param problem: what is wrong and what is expected instead.
    :param on_page: ``problem`` in the page's words, where they differ (its buttons, not commands).
    """

    def __init__(self, conn_id: str, field: str, problem: str, *, on_page: str | None = None) -> None:
        self.conn_id = conn_id
        self.field = field
        self.problem = problem
        self.problem_on_page = on_page or problem
        super().__init__(f"Connection {conn_id!r}, field {field!r}: {problem}")


class HostKeyError(ServerError):
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
                "(`actito-sftp connection update ... --accept-host-key <fingerprint>` or the 'host_key' field)."
            )
        super().__init__(f"Connection {conn_id!r} to {address}: {detail}", on_page=self._page_text(address, offered))

    def _page_text(self, address: str, offered: str) -> str:
        """The refusal in the page's words: its Re-pin button instead of commands and field names."""
        confirm = "confirm the fingerprint with the partner, then press “Re-pin” on the Server configuration tab"
        if self.pinned_fingerprints:
            pinned = ", ".join(self.pinned_fingerprints)
            return (
                f"Connecting to {address}: the server offered {offered} but the pinned host key is {pinned}. "
                f"Refusing to connect: this may be a man-in-the-middle. If the partner really changed its host key, "
                f"{confirm}."
            )
        return f"Connecting to {address}: no host key is pinned; the server offered {offered}: {confirm}."


class AuthenticationError(ServerError):
    """The server refused our credentials."""


class RemoteConnectError(TransportError):
    """The server could not be reached or the SSH/SFTP session could not be set up (a server that broke the SSH
    protocol too: the message says what it sent wrong)."""


class SftpSubsystemError(RemoteConnectError):
    """Host key and authentication passed, but the server's SFTP subsystem did not start (missing, silent within
    ``connect_timeout``, or broken)."""


class UnknownLocationError(ConfigurationError, KeyError):
    """A location name that the connection does not define."""

    def __init__(self, conn_id: str, location: str, known: Iterable[str]) -> None:
        self.conn_id = conn_id
        self.location = location
        self.known = tuple(sorted(known))
        known_text = ", ".join(repr(name) for name in self.known) or "none are configured"
        super().__init__(f"Connection {conn_id!r}: unknown location {location!r}; known locations: {known_text}")

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class RemoteLocationError(ServerError):
    """A location's folder is missing or not usable on the server.

    :param conn_id: the connection's technical name.
    :param location: the location's name.
    :param path: its folder on the server.
    :param problem: what is wrong.
    :param retryable: the connection was lost while the folder was checked (a transport error: a retry may pass).
    """

    def __init__(self, conn_id: str, location: str, path: str, problem: str, *, retryable: bool = False) -> None:
        self.retryable = retryable
        self.conn_id = conn_id
        self.location = location
        self.path = path
        self.problem = problem
        super().__init__(f"Connection {conn_id!r}, location {location!r} ({path}): {problem}")


class ImportRefusedError(FileRefusedError):
    """An inbound file was refused (bad input, not retried); the message says why. The file is left
    in place or quarantined."""


class UnsafeTempDirError(ThisMachineError):
    """A provider temp folder exists but is not ours alone (a symlink, a file, or another user's)."""


class RefusedError(ConfigurationError):
    """An operation was refused; nothing was changed (``on_page``: the advice in the page's words)."""


class PgpKeyError(ConfigurationError, ValueError):
    """A PGP key was refused or a key operation failed. Messages never quote key material."""


class GpgUnavailableError(ThisMachineError, OSError):
    """gpg cannot run on this machine: not installed, it fails to start, or its gpg-agent cannot start.

    This machine's trouble, never the file's nor the connection's: an ``OSError``, so transfers count it as
    a failure a retry may get past (like a local I/O error), never as a refusal or a missing key.
    """


class ConnectionNotWritableError(ConfigurationError):
    """The connection is defined outside the metadata DB (environment variable or secrets backend).

    :param record: the connection record (``ConnectionRecord``), carried for the caller to export it.
    """

    def __init__(self, record: NamedRecord) -> None:
        self.record = record
        super().__init__(
            f"Connection {record.conn_id!r} is defined outside the Airflow metadata DB "
            "(an environment variable or a secrets backend), so it cannot be changed here"
        )


class ConnectionExistsError(ConfigurationError):
    """A connection with that id already exists."""


class ConnectionNotFoundError(ConfigurationError, LookupError):
    """No connection with that id anywhere Airflow looks."""


class ExportRefusedError(FileRefusedError):
    """Nothing was uploaded: the export cannot be done as configured."""


class SourceUnavailableError(ExportRefusedError):
    """A source matches no file or is not a file: it may be written meanwhile, so a retry may succeed."""

    retryable = True


class UnsafeNameError(FileRefusedError, ValueError):
    """A remote name that must not become a local path."""


class RemoteExistsError(FileRefusedError):
    """The remote file exists and ``overwrite`` is ``"fail"``."""


class PublishConflictError(FileRefusedError):
    """The final local name is taken and the ``on_conflict`` policy forbids replacing it."""


class GpgStreamError(FileRefusedError):
    """gpg refused the data; the message says why in user terms (never quotes data or keys)."""


class GpgIntegrityError(GpgStreamError):
    """gpg opened the message with our key but could not confirm its integrity: a damaged file, or packets
    gpg 2.2 cannot read (Sequoia's default padding). Sequoia's ``sq``, where installed, gives a second opinion.

    :param message: the refusal, with the partner-side fix.
    :param decrypting_fingerprint: the primary key of ours that opened the session key, as gpg said.
    :param padding: gpg read the data, then stumbled on what followed it: most likely Sequoia's padding.
    """

    def __init__(self, message: str, decrypting_fingerprint: str | None, *, padding: bool) -> None:
        super().__init__(message)
        self.decrypting_fingerprint = decrypting_fingerprint
        self.padding = padding


class SequoiaDecryptError(GpgStreamError):
    """Sequoia's ``sq`` could not decrypt the file either (its reason quoted)."""


class OutputLimitError(FileRefusedError):
    """The decrypted output exceeds the size cap or the expansion ratio (a decompression bomb?)."""


class RemoteChangedError(TransportError):
    """The remote file changed while it was read (still being written?): nothing is published."""


class HostFieldError(ConfigurationError, ValueError):
    """The Host typed holds more than the server (a port, a user, a URL): refused before anything is sent, with
    where each part goes (the message); a stored connection says it as :class:`ConnectionConfigError`."""

    field = "host"


class PlatformConfigError(ConfigurationError, ValueError):
    """An option of the ``[actito_sftp]`` section of Airflow's configuration holds a value it cannot use."""


class TargetNotAllowedError(RefusedError):
    """The platform's ``[actito_sftp] allowed_targets`` does not list this server: nothing was sent to it.

    :param host: the server as given.
    :param port: its port.
    """

    field = "host"

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        super().__init__(
            f"connecting to {host}:{port} is not allowed on this Airflow: the [actito_sftp] allowed_targets "
            "setting does not list it (ask your platform team)"
        )
