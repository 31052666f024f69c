"""Logging in: the host key checked, our credentials handed over as the server asks for them, and, when the login
fails, what the server wanted, in words.

asyncssh asks the connection's :class:`asyncssh.SSHClient` for a credential each time the server lists a method
(publickey, keyboard-interactive, password), in our order of preference. A server asking for two factors (sshd's
``AuthenticationMethods publickey,password``, or ``password,publickey``) answers the first with a partial success
and lists only the second: asyncssh then asks for that one. :class:`LoginClient` hands out each credential once
(all our keys, then the password: as a password or as the answer to a keyboard-interactive password prompt) and
notes what the server asked for, so that a refusal says what happened: our key was accepted and the server wants a
password too (never "install the key" then), the password was accepted and it wants a key, or it refused one.

Nothing here is sent to the server that the connection's auth type does not use: a key-only connection never sends
a password, a password-only one never offers a key. A credential the server asks for that we do not hold is only
noted.

A connect that fails before the login is said here too, as far as it got (:func:`timed_out`): no TCP connection, a
TCP connection without the server's SSH greeting, a greeting without a finished handshake.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

import asyncssh

from airflow_provider_actito_sftp.connection.settings import AuthType, ConnectionSettings
from airflow_provider_actito_sftp.exceptions import AuthenticationError

# Our order of preference: the key first, then the password (keyboard-interactive before the password method,
# as many servers ask for the password only through keyboard-interactive).
PREFERRED_AUTH = "publickey,keyboard-interactive,password"
_PASSWORD_PROMPTS = ("password", "passcode")


class LoginClient(asyncssh.SSHClient):
    """The client side of one connection: refuses a host key that is not pinned (remembering it), hands out our
    credentials once each, and records what the server asked for.

    :param settings: the connection (its auth type decides which credentials exist).
    """

    def __init__(self, settings: ConnectionSettings) -> None:
        auth = settings.auth_type
        self._keys: list[asyncssh.SSHKey] = settings.client_private_keys() if auth.uses_key else []
        self._password = settings.password if auth.uses_password else None
        self.refused_key: asyncssh.SSHKey | None = None  # the host key the server offered, when not pinned
        self.connection: asyncssh.SSHClientConnection | None = None  # set once the TCP connection is up
        self.keys_offered = False  # our keys were handed to asyncssh (it tries them in turn)
        self.keys_asked_again = False  # the server still wanted a key after trying all of ours: refused
        self.key_wanted = False  # the server asked for a key and we hold none
        self.password_sent = False
        self.password_asked_again = False  # the server asked again after we sent it: refused
        self.password_wanted = False  # the server asked for a password and we hold none
        self.asked_by = "password"  # how it asked for it last: "password" or "keyboard-interactive"

    @property
    def greeted(self) -> bool:
        """Whether the server sent its SSH greeting (``SSH-2.0-...``) on the TCP connection."""
        return self.connection is not None and self.connection.get_extra_info("server_version") is not None

    @property
    def key_accepted(self) -> bool:
        """The server accepted one of our keys (it then wanted something else, or the login succeeded)."""
        return self.keys_offered and not self.keys_asked_again

    @property
    def key_refused(self) -> bool:
        """The server tried all our keys and still wanted one."""
        return self.keys_offered and self.keys_asked_again

    @property
    def password_accepted(self) -> bool:
        """The server accepted the password (it then wanted something else, or the login succeeded)."""
        return self.password_sent and not self.password_asked_again

    @property
    def password_refused(self) -> bool:
        """The server asked for the password again after we sent it."""
        return self.password_sent and self.password_asked_again

    def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
        self.connection = conn

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.refused_key = key  # asyncssh asks only when the key is not among the pinned ones
        return False

    def public_key_auth_requested(self) -> Sequence[asyncssh.SSHKey] | None:
        if self._keys and not self.keys_offered:
            self.keys_offered = True
            return list(self._keys)
        if self.keys_offered:
            self.keys_asked_again = True
        else:
            self.key_wanted = True
        return None

    def password_auth_requested(self) -> str | None:
        self.asked_by = "password"
        return self._give_password()

    def kbdint_auth_requested(self) -> str | None:
        self.asked_by = "keyboard-interactive"
        if self._password is None or self.password_sent:
            self._note_password_asked()
            return None
        return ""  # no particular submethod

    def kbdint_challenge_received(
        self, name: str, instructions: str, lang: str, prompts: Sequence[tuple[str, bool]]
    ) -> Sequence[str] | None:
        if not prompts:  # a message only
            return []
        if len(prompts) == 1 and any(word in prompts[0][0].lower() for word in _PASSWORD_PROMPTS):
            password = self._give_password()
            return None if password is None else [password]
        return None  # a one-time code or other questions: not ours to answer

    def _give_password(self) -> str | None:
        if self._password is None or self.password_sent:
            self._note_password_asked()
            return None
        self.password_sent = True
        return self._password

    def _note_password_asked(self) -> None:
        if self.password_sent:
            self.password_asked_again = True
        else:
            self.password_wanted = True


def refusal(settings: ConnectionSettings, address: str, client: LoginClient) -> AuthenticationError:
    """The server refused the login: say what it accepted, what it wanted, and the fix.

    :param settings: the connection.
    :param address: ``host:port`` for the message.
    :param client: the connection's client, which noted what the server asked for.
    """
    head = f"Connection {settings.conn_id!r} to {address}:"
    user = f"user {settings.username!r}"
    auth = settings.auth_type
    refused = f"{head} the server refused {auth.label} authentication for {user}"
    if client.key_refused:  # in the same words for key and key + password (the page's wizard reads them)
        return _install_key(
            f"{head} the server refused {AuthType.SSH_KEY.label} authentication for {user}", settings.conn_id
        )
    if client.password_refused:
        if client.key_accepted:
            refused = f"{head} the server accepted our SSH key for {user} but refused the password"
        elif auth.uses_key:
            refused = f"{head} the server refused the password for {user}"
        return AuthenticationError(
            f"{refused}: check the password (`actito-sftp connection update {settings.conn_id} --password-stdin`)",
            on_page=f"{refused}: enter the password again on the Server configuration tab",
        )
    if not auth.uses_password and client.password_wanted:
        return _wants_password_too(head, user, settings.conn_id, client)
    if not auth.uses_key and client.key_wanted:
        return _wants_key_too(head, user, settings.conn_id, client.password_accepted)
    return AuthenticationError(refused)


def _wants_password_too(head: str, user: str, conn_id: str, client: LoginClient) -> AuthenticationError:
    """A key-only connection; the server asked for a password (after accepting our key, or before any key)."""
    method = client.asked_by
    how = "" if method == "password" else f" ({method})"
    if client.key_accepted:
        what = (
            f"{head} the server accepted our SSH key for {user}, then asked for a password as well (two "
            f"factors: sshd's AuthenticationMethods publickey,{method})"
        )
    else:
        what = (
            f"{head} the server asks {user} for a password{how} before any key (AuthenticationMethods "
            f"{method},publickey, or a password-only account)"
        )
    return AuthenticationError(
        f"{what}: set the authentication to SSH key and password, with the account's password "
        f"(`actito-sftp connection update {conn_id} --auth-type ssh_key_and_password --password-stdin`)",
        on_page=f"{what}: set Authentication to “SSH key and password” and enter the account's password on the "
        "Server configuration tab",
    )


def _wants_key_too(head: str, user: str, conn_id: str, password_accepted: bool) -> AuthenticationError:
    """A password-only connection; the server asked for a key (after accepting the password, or before it)."""
    if password_accepted:
        what = (
            f"{head} the server accepted the password for {user}, then asked for an SSH key as well (two factors: "
            "sshd's AuthenticationMethods password,publickey)"
        )
    else:
        what = (
            f"{head} the server asks {user} for an SSH key before any password (AuthenticationMethods "
            "publickey,password, or key authentication only)"
        )
    return AuthenticationError(
        f"{what}: set the authentication to SSH key and password (`actito-sftp connection update {conn_id} "
        f"--auth-type ssh_key_and_password` generates our key pair) and install our public key in that user's "
        f"authorized keys (`actito-sftp ssh-key public {conn_id}`)",
        on_page=f"{what}: set Authentication to “SSH key and password” on the Server configuration tab (our key "
        "pair is generated) and install our public key in that user's authorized keys",
    )


def _install_key(refused: str, conn_id: str) -> AuthenticationError:
    """The server refused our key: how to install it (the CLI's command, the page's button)."""
    install = (
        " with our key: install our public key in that user's authorized keys (OpenSSH: one line in "
        "~/.ssh/authorized_keys; ProFTPD and some other servers need the RFC 4716 form: "
    )
    return AuthenticationError(
        f"{refused}{install}`actito-sftp ssh-key public {conn_id} --format rfc4716`)",
        on_page=f"{refused}{install}“Download for ProFTPD (RFC 4716)” on the Server configuration tab)",
    )


# --- a connect that did not get as far as the login ----------------------------------------------------------


def timed_out(address: str, client: LoginClient, timeout: int) -> str:
    """No session within ``connect_timeout``: how far the connection got (TCP, the server's greeting, the login).

    :param address: ``host:port``.
    :param client: the connection's client.
    :param timeout: the connection's ``connect_timeout``.
    """
    if client.connection is None:
        return (
            f"cannot reach {address}: no TCP connection within {timeout} s (connect_timeout): check the host and "
            "port, and that no firewall drops the packets on the way"
        )
    if not client.greeted:
        return (
            f"the server at {address} accepted the TCP connection but sent no SSH greeting within {timeout} s "
            "(connect_timeout): is it an SSH server, and not overloaded (sshd's MaxStartups)? If it is only slow, "
            "raise connect_timeout"
        )
    return (
        f"the server at {address} greeted but the SSH handshake and login did not finish within {timeout} s "
        "(connect_timeout)"
    )


def closed_before_greeting(address: str, error: BaseException) -> str:
    """The server closed the TCP connection without a word of SSH.

    :param address: ``host:port``.
    :param error: what asyncssh raised.
    """
    return (
        f"the server at {address} closed the connection before its SSH greeting ({_reason(error)}): too many "
        "connections at once (sshd's MaxStartups), or a firewall or TCP wrapper turning us away?"
    )


def unreachable(address: str, error: BaseException) -> str:
    """No TCP connection: the name does not resolve, or the connection was refused (the OS's words).

    :param address: ``host:port``.
    :param error: what the connect raised.
    """
    if isinstance(error, socket.gaierror):
        return f"cannot reach {address}: the host name does not resolve ({_reason(error)}): check the Host field"
    return f"cannot reach {address}: {_reason(error)}"


def _reason(error: BaseException) -> str:
    if isinstance(error, asyncssh.Error):
        return error.reason or type(error).__name__
    return str(error) or type(error).__name__
