"""The provider's errors: one family, messages that say which connection, field and location, and no secret."""

from __future__ import annotations

import inspect
import re

import asyncssh
import pytest

from airflow_provider_actito_sftp import exceptions
from airflow_provider_actito_sftp.connection.store import ConnectionRecord
from airflow_provider_actito_sftp.exceptions import (
    ActitoSftpError,
    ConnectionConfigError,
    ConnectionNotFoundError,
    ConnectionNotWritableError,
    HostKeyError,
    PgpKeyError,
    RemoteLocationError,
    UnknownLocationError,
    UnsafeNameError,
)

PRIVATE_KEY = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
PASSWORD = "hunter2-very-secret"
OFFERED = "SHA256:offeredAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
PINNED = ("SHA256:pinnedOneBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", "SHA256:pinnedTwoCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC")


def error_classes() -> list[type[BaseException]]:
    """Every exception class the module defines (not the ones it imports)."""
    return [
        cls
        for _, cls in inspect.getmembers(exceptions, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__ == exceptions.__name__
    ]


def test_the_module_defines_the_errors_it_documents() -> None:
    names = {cls.__name__ for cls in error_classes()}
    assert len(names) >= 20, names  # introspection found the classes, not an empty list
    documented = set(re.findall(r":class:`(\w+)`", exceptions.__doc__ or ""))
    assert names == documented


@pytest.mark.parametrize("cls", error_classes(), ids=lambda cls: cls.__name__)
def test_every_error_is_an_actito_sftp_error(cls: type[BaseException]) -> None:
    assert issubclass(cls, ActitoSftpError)
    assert cls.__doc__, f"{cls.__name__} says nothing about when it is raised"


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (ConnectionConfigError, ValueError),
        (PgpKeyError, ValueError),
        (UnsafeNameError, ValueError),
        (UnknownLocationError, KeyError),
        (ConnectionNotFoundError, LookupError),
    ],
    ids=lambda value: value.__name__,
)
def test_errors_still_caught_by_the_builtin_they_refine(cls: type[BaseException], builtin: type[BaseException]) -> None:
    assert issubclass(cls, builtin)


def test_a_config_error_names_the_connection_and_the_field() -> None:
    error = ConnectionConfigError("acme_sftp", "port", "expected an integer from 1 to 65535, got 70000")
    assert str(error) == "Connection 'acme_sftp', field 'port': expected an integer from 1 to 65535, got 70000"
    assert (error.conn_id, error.field, error.problem) == (
        "acme_sftp",
        "port",
        "expected an integer from 1 to 65535, got 70000",
    )


def test_a_host_key_mismatch_names_the_offered_and_every_pinned_fingerprint() -> None:
    error = HostKeyError("acme_sftp", "127.0.0.1:2222", OFFERED, iter(PINNED))
    message = str(error)
    assert message.startswith("Connection 'acme_sftp' to 127.0.0.1:2222: the server offered ")
    assert f"offered {OFFERED} but the pinned host key is {PINNED[0]}, {PINNED[1]}." in message
    assert "man-in-the-middle" in message
    assert error.pinned_fingerprints == PINNED  # an iterator is kept as a tuple
    assert error.offered_fingerprint == OFFERED


def test_a_host_key_without_a_pin_says_how_to_pin_it() -> None:
    message = str(HostKeyError("acme_sftp", "127.0.0.1:2222", OFFERED, ()))
    assert message.startswith("Connection 'acme_sftp' to 127.0.0.1:2222: no host key is pinned (field 'host_key')")
    assert f"the server offered {OFFERED}." in message
    assert "--accept-host-key <fingerprint>" in message
    assert "man-in-the-middle" not in message


def test_a_host_key_error_tells_the_page_user_of_its_re_pin_button() -> None:
    for error in (HostKeyError("acme_sftp", "h:22", OFFERED, ()), HostKeyError("acme_sftp", "h:22", OFFERED, PINNED)):
        on_page = error.for_page()
        assert "press “Re-pin” on the Server configuration tab" in on_page
        assert OFFERED in on_page
        assert "actito-sftp" not in on_page
        assert "'host_key'" not in on_page
    assert "--accept-host-key" in str(HostKeyError("acme_sftp", "h:22", OFFERED, ()))  # the CLI keeps its flag


def test_a_host_key_error_when_no_key_of_a_pinned_type_was_offered() -> None:
    message = str(HostKeyError("acme_sftp", "127.0.0.1:2222", None, PINNED[:1]))
    assert f"the server offered no key of a pinned type but the pinned host key is {PINNED[0]}." in message


def test_an_unknown_location_lists_the_known_ones_and_is_not_quoted_like_a_key_error() -> None:
    error = UnknownLocationError("acme_sftp", "inbund", ["outbound", "inbound"])
    expected = "Connection 'acme_sftp': unknown location 'inbund'; known locations: 'inbound', 'outbound'"
    assert str(error) == expected  # KeyError's own __str__ would wrap it in quotes
    assert str(KeyError(expected)) == repr(expected)  # ...as it does for a plain KeyError
    assert error.known == ("inbound", "outbound")
    with pytest.raises(KeyError, match=r"^Connection 'acme_sftp'"):
        raise error


def test_an_unknown_location_when_none_are_configured() -> None:
    assert str(UnknownLocationError("acme_sftp", "inbound", [])).endswith("known locations: none are configured")


def test_a_remote_location_error_names_connection_location_folder_and_problem() -> None:
    error = RemoteLocationError("acme_sftp", "inbound", "/data/in", "the folder does not exist on the server")
    assert str(error) == (
        "Connection 'acme_sftp', location 'inbound' (/data/in): the folder does not exist on the server"
    )
    assert (error.location, error.path) == ("inbound", "/data/in")


def test_a_read_only_connection_error_carries_the_record_but_never_prints_its_secrets() -> None:
    record = ConnectionRecord(
        conn_id="from_env",
        host="sftp.partner.example",
        login="actito",
        password=PASSWORD,
        extra={"entity": "acme", "ssh_private_key": PRIVATE_KEY, "ssh_private_key_passphrase": PASSWORD},
        in_metadata_db=False,
    )
    error = ConnectionNotWritableError(record)
    assert error.record is record  # the caller exports it for the secrets backend
    message = str(error)
    assert message.startswith("Connection 'from_env' is defined outside the Airflow metadata DB")
    key_body = PRIVATE_KEY.splitlines()[1]
    for shown in (message, repr(error), repr(record)):
        assert PASSWORD not in shown
        assert key_body not in shown
        assert "PRIVATE KEY" not in shown


@pytest.mark.parametrize(
    "error",
    [
        ConnectionConfigError("acme_sftp", "ssh_private_key", "not an OpenSSH private key"),
        HostKeyError("acme_sftp", "127.0.0.1:22", OFFERED, PINNED),
        HostKeyError("acme_sftp", "127.0.0.1:22", None, ()),
        UnknownLocationError("acme_sftp", "x", ["inbound"]),
        RemoteLocationError("acme_sftp", "inbound", "/in", "permission denied on the server"),
        ConnectionNotWritableError(ConnectionRecord("acme_sftp", password=PASSWORD, in_metadata_db=False)),
    ],
    ids=lambda error: type(error).__name__,
)
def test_every_structured_message_starts_with_the_connection(error: ActitoSftpError) -> None:
    assert str(error).startswith("Connection 'acme_sftp'")
    named = error.record.conn_id if isinstance(error, ConnectionNotWritableError) else getattr(error, "conn_id", None)
    assert named == "acme_sftp"
    assert PASSWORD not in str(error)
