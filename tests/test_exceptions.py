"""The provider's errors: one family, messages that say which connection, field and location, and no secret."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import asyncssh
import pytest

import airflow_provider_actito_sftp
from airflow_provider_actito_sftp import exceptions
from airflow_provider_actito_sftp.connection.store import ConnectionRecord
from airflow_provider_actito_sftp.exceptions import (
    GROUPS,
    ActitoSftpError,
    AuthenticationError,
    ConnectionConfigError,
    ConnectionNotFoundError,
    ConnectionNotWritableError,
    GpgUnavailableError,
    HostKeyError,
    ImportRefusedError,
    NoFileReadyError,
    NoTaskContextError,
    OptionError,
    PgpKeyError,
    RemoteConnectError,
    RemoteLocationError,
    SourceUnavailableError,
    UnknownLocationError,
    UnsafeNameError,
    UnsafeTempDirError,
)
from airflow_provider_actito_sftp.metrics import SUMMARY_XCOM_KEY

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
        (OptionError, ValueError),
        (NoTaskContextError, RuntimeError),
        (NoFileReadyError, TimeoutError),
        (GpgUnavailableError, OSError),
    ],
    ids=lambda value: value.__name__,
)
def test_errors_still_caught_by_the_builtin_they_refine(cls: type[BaseException], builtin: type[BaseException]) -> None:
    assert issubclass(cls, builtin)


# Exception classes that are not errors of the provider: signals caught in the module that raises them, and the
# plugin's HTTP error response (its status and body, made from the provider's errors).
NOT_PROVIDER_ERRORS = {
    "airflow_provider_actito_sftp.pgp.packet_fields.NotPgp",  # the PGP sniffer's, made a verdict or a PgpKeyError
    "airflow_provider_actito_sftp.pgp.packet_fields.Short",  # "the head ends inside a packet", made a NotPgp
    "airflow_provider_actito_sftp.transfer.importer._Skip",  # "leave the file for a later run", made a skip
    "airflow_provider_actito_sftp.transfer.signatures.WaitingForSignature",  # the same, made a skip: "waiting for ..."
    "airflow_provider_actito_sftp.plugin.bodies.ApiError",  # an HTTP error response of the plugin's API
}
# Errors whose retryable differs from their group's (the group's is the rule; each of these says why).
RETRYABLE_AGAINST_THE_GROUP = {SourceUnavailableError, NoFileReadyError}


def package_error_classes() -> list[type[BaseException]]:
    """Every exception class any module of the package defines (the package walked, each module imported)."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(airflow_provider_actito_sftp.__path__, "airflow_provider_actito_sftp."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == module.__name__:
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [cls for name, cls in sorted(found.items()) if name not in NOT_PROVIDER_ERRORS]


def test_the_walk_finds_the_errors_outside_the_exceptions_module_too() -> None:
    names = {cls.__name__ for cls in package_error_classes()}
    assert {"ActitoSftpError", "NoTaskContextError"} <= names
    assert set(NOT_PROVIDER_ERRORS) <= {  # the exemptions exist: none is stale
        f"{cls.__module__}.{cls.__qualname__}"
        for info in pkgutil.walk_packages(airflow_provider_actito_sftp.__path__, "airflow_provider_actito_sftp.")
        for _, cls in inspect.getmembers(importlib.import_module(info.name), inspect.isclass)
    }


@pytest.mark.parametrize("cls", package_error_classes(), ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_every_error_of_the_package_is_in_exactly_one_group_saying_who_acts(cls: type[BaseException]) -> None:
    assert issubclass(cls, ActitoSftpError), f"{cls.__module__}.{cls.__name__} escapes the hierarchy"
    if cls is ActitoSftpError:
        return
    [group] = [group for group in GROUPS if issubclass(cls, group)]
    if cls not in RETRYABLE_AGAINST_THE_GROUP:
        assert cls.retryable is group.retryable
    else:
        assert cls.retryable is not group.retryable


def test_the_groups_decide_retries() -> None:
    retryable = {group.__name__: group.retryable for group in GROUPS}
    assert retryable == {
        "ConfigurationError": False,
        "ServerError": False,
        "FileRefusedError": False,
        "TransportError": True,
        "ThisMachineError": True,
    }


def test_a_location_checked_over_a_lost_connection_is_retryable() -> None:
    assert not RemoteLocationError("acme_sftp", "inbound", "/in", "permission denied on the server").retryable
    assert RemoteLocationError("acme_sftp", "inbound", "/in", "the connection was lost: x", retryable=True).retryable


# One error of each group, and each retryable against its group; then errors that are not the provider's.
TRY_ERRORS: list[Exception] = [
    ConnectionConfigError("acme_sftp", "port", "not a port"),
    OptionError("after_import must be one of 'keep', 'delete', 'move', got 'drop'"),
    NoTaskContextError("no Airflow task is running"),
    AuthenticationError("Connection 'acme_sftp': the server refused the credentials"),
    RemoteLocationError("acme_sftp", "inbound", "/in", "the folder does not exist on the server"),
    RemoteLocationError("acme_sftp", "inbound", "/in", "the connection was lost: reset", retryable=True),
    NoFileReadyError("Connection 'acme_sftp', location 'inbound': no complete file matching '*' within 5 s"),
    ImportRefusedError("not a PGP message"),
    SourceUnavailableError("source '/data/*.csv' matches no file"),
    RemoteConnectError("Connection 'acme_sftp': cannot reach h:22: refused"),
    UnsafeTempDirError("/tmp/x is not a real directory"),
    GpgUnavailableError("the 'gpg' command is not installed"),
]


def test_the_try_errors_cover_every_group_both_ways() -> None:
    groups = {(group, error.retryable) for error in TRY_ERRORS for group in GROUPS if isinstance(error, group)}
    assert {group for group, _ in groups} == set(GROUPS)
    assert {retryable for _, retryable in groups} == {True, False}


class _Ti:
    def __init__(self) -> None:
        self.pushed: dict[str, object] = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.pushed[key] = value


class _Settings:
    entity = "acme"


class _Hook:
    """The hook an operator makes, without a connection: the try fails in the operator's ``transfer``."""

    def __init__(self, conn_id: str) -> None:
        self.settings = _Settings()


@pytest.mark.parametrize("error", TRY_ERRORS, ids=lambda error: f"{type(error).__name__}-{error.retryable}")
def test_the_operator_fails_without_retry_exactly_when_the_error_is_not_retryable(
    error: ActitoSftpError, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    from airflow_provider_actito_sftp.hooks import actito_sftp as hook_module
    from airflow_provider_actito_sftp.operators.actito_sftp import ActitoSftpImportOperator

    monkeypatch.setattr(hook_module, "ActitoSftpHook", _Hook)
    operator = ActitoSftpImportOperator(task_id="import", conn_id="acme_sftp", location="inbound", destination="/x")

    def transfer(context: object, hook: object) -> None:
        raise error

    monkeypatch.setattr(operator, "transfer", transfer)
    ti = _Ti()
    with pytest.raises(AirflowException) as raised:
        operator.execute({"ti": ti})  # type: ignore[typeddict-item]
    assert type(raised.value) is (AirflowException if error.retryable else AirflowFailException)
    assert raised.value.__cause__ is error
    assert str(raised.value).startswith("Connection 'acme_sftp'")  # named, whatever the error's own text
    assert str(error) in str(raised.value)
    assert ti.pushed[SUMMARY_XCOM_KEY]["failed"] == 1  # type: ignore[index]


@pytest.mark.parametrize("error", [OSError("disk full"), asyncssh.ConnectionLost("reset"), KeyError("bug")], ids=type)
def test_an_error_that_is_not_the_providers_is_raised_as_it_is_for_a_retry(
    error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_actito_sftp.hooks import actito_sftp as hook_module
    from airflow_provider_actito_sftp.operators.actito_sftp import ActitoSftpImportOperator

    monkeypatch.setattr(hook_module, "ActitoSftpHook", _Hook)
    operator = ActitoSftpImportOperator(task_id="import", conn_id="acme_sftp", location="inbound", destination="/x")

    def transfer(context: object, hook: object) -> None:
        raise error

    monkeypatch.setattr(operator, "transfer", transfer)
    with pytest.raises(type(error)) as raised:
        operator.execute({"ti": _Ti()})  # type: ignore[typeddict-item]
    assert raised.value is error


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
