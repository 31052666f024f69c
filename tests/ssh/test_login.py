"""The login's client side: each credential handed out once, only those the auth type uses, and a refusal worded
from what the server asked for (the sequences below are asyncssh's calls for real sshd configurations; the
same logins against a real sshd are in tests/integration/test_interop_logins.py)."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass

import asyncssh
import pytest

from airflow_provider_actito_sftp.connection.settings import ConnectionSettings, parse_connection
from airflow_provider_actito_sftp.exceptions import AuthenticationError
from airflow_provider_actito_sftp.ssh.login import (
    LoginClient,
    closed_before_greeting,
    refusal,
    timed_out,
    unreachable,
)

KEY = asyncssh.generate_private_key("ssh-ed25519")
HOST_KEY = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
PASSWORD = "s3cret pass"
ADDRESS = "sftp.bank.example:22"


@dataclass
class _Conn:
    conn_id: str
    host: str
    port: int
    login: str
    password: str | None
    extra: str


def settings(auth_type: str) -> ConnectionSettings:
    extra = {"entity": "acme", "auth_type": auth_type, "host_key": HOST_KEY, "locations": {}}
    if auth_type != "password":
        extra["ssh_private_key"] = KEY.export_private_key().decode()
    password = PASSWORD if auth_type != "ssh_key" else None
    return parse_connection(_Conn("bank", "sftp.bank.example", 22, "actito", password, json.dumps(extra)))


def words(auth_type: str, client: LoginClient) -> AuthenticationError:
    error = refusal(settings(auth_type), ADDRESS, client)
    assert PASSWORD not in str(error)
    assert PASSWORD not in error.for_page()
    return error


def test_each_credential_goes_out_once_and_only_those_the_auth_type_uses() -> None:
    both = LoginClient(settings("ssh_key_and_password"))
    [offered] = both.public_key_auth_requested() or []
    assert offered.public_data == KEY.public_data
    assert both.password_auth_requested() == PASSWORD
    assert (both.public_key_auth_requested(), both.password_auth_requested()) == (None, None)  # asked again: refused
    assert (both.key_refused, both.password_refused) == (True, True)

    key_only, password_only = LoginClient(settings("ssh_key")), LoginClient(settings("password"))
    assert (key_only.password_auth_requested(), key_only.kbdint_auth_requested()) == (None, None)
    assert password_only.public_key_auth_requested() is None
    assert (key_only.password_wanted, password_only.key_wanted) == (True, True)


def test_a_keyboard_interactive_password_prompt_gets_the_password_and_nothing_else_does() -> None:
    client = LoginClient(settings("password"))
    assert client.kbdint_auth_requested() == ""
    assert client.kbdint_challenge_received("", "", "", []) == []  # a message only
    assert client.kbdint_challenge_received("", "", "", [("Verification code: ", False)]) is None
    assert client.kbdint_challenge_received("", "", "", [("Password: ", False)]) == [PASSWORD]
    assert not client.password_refused
    assert client.kbdint_auth_requested() is None  # once only: the server asking again refused it
    assert client.password_refused


def test_a_key_only_connection_to_a_two_factor_server_hears_that_its_key_was_accepted() -> None:
    """AuthenticationMethods publickey,password: our key accepted (partial success), then the password asked."""
    client = LoginClient(settings("ssh_key"))
    client.public_key_auth_requested()
    client.password_auth_requested()
    error = words("ssh_key", client)
    assert "accepted our SSH key for user 'actito', then asked for a password as well" in str(error)
    assert "AuthenticationMethods publickey,password" in str(error)
    assert "--auth-type ssh_key_and_password --password-stdin" in str(error)
    assert "“SSH key and password”" in error.for_page()
    assert "install" not in str(error) + error.for_page()


def test_a_key_only_connection_asked_for_a_password_first_is_told_so() -> None:
    """AuthenticationMethods password,publickey: the server lists only the password at first, no key was tried."""
    client = LoginClient(settings("ssh_key"))
    client.kbdint_auth_requested()
    error = words("ssh_key", client)
    assert "asks user 'actito' for a password (keyboard-interactive) before any key" in str(error)
    assert "keyboard-interactive,publickey" in str(error)
    assert "install" not in str(error)


def test_a_refused_key_still_says_how_to_install_it_even_when_the_server_would_take_a_password() -> None:
    client = LoginClient(settings("ssh_key"))
    client.public_key_auth_requested()
    client.public_key_auth_requested()  # all our keys tried, the server still wants one
    client.password_auth_requested()  # and it would take a password instead
    error = words("ssh_key", client)
    assert "refused SSH key authentication for user 'actito' with our key: install our public key" in str(error)


def test_a_password_connection_to_a_two_factor_server_hears_that_its_password_was_accepted() -> None:
    """AuthenticationMethods password,publickey: the password accepted, then a key asked."""
    client = LoginClient(settings("password"))
    client.password_auth_requested()
    client.public_key_auth_requested()
    error = words("password", client)
    assert "accepted the password for user 'actito', then asked for an SSH key as well" in str(error)
    assert "--auth-type ssh_key_and_password" in str(error)


def test_a_password_connection_asked_for_a_key_first_is_told_so_but_a_wrong_password_is_a_wrong_password() -> None:
    first = LoginClient(settings("password"))
    first.public_key_auth_requested()  # AuthenticationMethods publickey,password: only the key is listed
    assert "asks user 'actito' for an SSH key before any password" in str(words("password", first))

    wrong = LoginClient(settings("password"))  # any of key or password: the key asked first, then the password
    wrong.public_key_auth_requested()
    wrong.password_auth_requested()
    wrong.public_key_auth_requested()
    wrong.password_auth_requested()
    error = words("password", wrong)
    assert str(error).startswith(
        f"Connection 'bank' to {ADDRESS}: the server refused password authentication for user 'actito': check the "
        "password"
    )


def test_key_and_password_say_which_of_the_two_was_refused() -> None:
    password_refused = LoginClient(settings("ssh_key_and_password"))
    password_refused.public_key_auth_requested()
    password_refused.password_auth_requested()
    password_refused.password_auth_requested()
    assert "accepted our SSH key for user 'actito' but refused the password" in str(
        words("ssh_key_and_password", password_refused)
    )

    key_refused = LoginClient(settings("ssh_key_and_password"))
    key_refused.password_auth_requested()  # password,publickey: the password accepted
    key_refused.public_key_auth_requested()
    key_refused.public_key_auth_requested()
    error = words("ssh_key_and_password", key_refused)
    assert "refused SSH key authentication for user 'actito' with our key: install our public key" in str(error)


def test_how_far_a_connect_got_is_said_when_it_times_out() -> None:
    client = LoginClient(settings("ssh_key"))
    assert timed_out(ADDRESS, client, 2).startswith(f"cannot reach {ADDRESS}: no TCP connection within 2 s")
    client.connection = _Greeting(None)  # type: ignore[assignment]
    assert timed_out(ADDRESS, client, 2).startswith(
        f"the server at {ADDRESS} accepted the TCP connection but sent no SSH greeting within 2 s (connect_timeout)"
    )
    client.connection = _Greeting("SSH-2.0-OpenSSH_9.2")  # type: ignore[assignment]
    assert "greeted but the SSH handshake and login did not finish within 2 s" in timed_out(ADDRESS, client, 2)


def test_a_server_gone_before_its_greeting_and_a_name_that_does_not_resolve_are_said_in_words() -> None:
    gone = closed_before_greeting(ADDRESS, asyncssh.ConnectionLost("Connection lost"))
    assert gone.startswith(f"the server at {ADDRESS} closed the connection before its SSH greeting (Connection lost)")
    unknown = unreachable(ADDRESS, socket.gaierror(-2, "Name or service not known"))
    assert unknown == (
        f"cannot reach {ADDRESS}: the host name does not resolve ([Errno -2] Name or service not known): check the "
        "Host field"
    )
    assert unreachable(ADDRESS, TimeoutError()) == f"cannot reach {ADDRESS}: TimeoutError"  # never an empty reason


@dataclass
class _Greeting:
    """What the client reads of a connection: the server's version line, once it greeted."""

    version: str | None

    def get_extra_info(self, name: str) -> str | None:
        return self.version if name == "server_version" else None


@pytest.mark.parametrize("auth_type", ["ssh_key", "password", "ssh_key_and_password"])
def test_a_plain_refusal_names_the_auth_type(auth_type: str) -> None:
    label = {"ssh_key": "SSH key", "password": "password", "ssh_key_and_password": "SSH key and password"}[auth_type]
    error = words(auth_type, LoginClient(settings(auth_type)))  # refused before asking for anything we hold
    assert str(error) == f"Connection 'bank' to {ADDRESS}: the server refused {label} authentication for user 'actito'"
