"""The platform's allow-list of servers: entries as platform teams write them, and what each lets through."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from airflow_provider_actito_sftp.exceptions import (
    ConnectionConfigError,
    HostFieldError,
    PlatformConfigError,
    TargetNotAllowedError,
)
from airflow_provider_actito_sftp.ssh.targets import (
    TargetRule,
    checked_host,
    checked_target,
    host_and_port,
    host_problem,
    parse_rules,
)


def checked(host: str, port: int, setting: str) -> str:
    return asyncio.run(checked_target(host, port, parse_rules(setting)))


def test_entries_as_platform_teams_write_them():
    rules = parse_rules(
        " sftp.acme.example, *.partner.example:2222, 203.0.113.0/24:22-2222, [2001:db8::]/32:22, 2001:db8::/48 "
    )
    assert rules == (
        TargetRule("sftp.acme.example", None, (22, 22)),
        TargetRule("*.partner.example", None, (2222, 2222)),
        TargetRule(None, ipaddress.ip_network("203.0.113.0/24"), (22, 2222)),
        TargetRule(None, ipaddress.ip_network("2001:db8::/32"), (22, 22)),
        TargetRule(None, ipaddress.ip_network("2001:db8::/48"), (22, 22)),
    )
    assert parse_rules("") == ()


@pytest.mark.parametrize("entry", ["sftp.acme.example:0", "host:99999", "host:30-20", "bad host", "[nope]:22", "a/b"])
def test_entries_that_make_no_sense_are_refused_naming_them(entry: str):
    with pytest.raises(PlatformConfigError, match=r"\[actito_sftp\] allowed_targets: entry .* is not understood"):
        parse_rules(f"sftp.ok.example, {entry}")


def test_an_empty_setting_allows_any_server():
    assert checked("anything.example", 2222, "") == "anything.example"


@pytest.mark.parametrize(
    ("host", "port", "connect_to"),
    [
        ("sftp.acme.example", 22, "sftp.acme.example"),
        ("SFTP.ACME.example.", 22, "SFTP.ACME.example."),  # host names compare without case or the root dot
        ("eu.partner.example", 2222, "eu.partner.example"),
        ("203.0.113.9", 2000, "203.0.113.9"),
        ("localhost", 22, "127.0.0.1"),  # allowed by its address: connect to the address that was checked
    ],
)
def test_allowed_targets(host: str, port: int, connect_to: str):
    setting = "sftp.acme.example, *.partner.example:2222, 203.0.113.0/24:22-2222, 127.0.0.0/8"
    assert checked(host, port, setting) == connect_to


@pytest.mark.parametrize(
    ("host", "port"),
    [
        ("sftp.acme.example", 2222),  # another port
        ("acme.example", 22),  # not the name listed
        ("partner.example", 2222),  # "*." needs a label before it
        ("evil.example", 22),
        ("203.0.114.1", 22),
        ("10.0.0.1", 22),
        ("no-such-host.invalid", 22),  # does not resolve: refused like the rest
    ],
)
def test_everything_else_is_refused_with_the_same_words(host: str, port: int):
    with pytest.raises(TargetNotAllowedError) as refused:
        checked(host, port, "sftp.acme.example, *.partner.example:2222, 203.0.113.0/24:22-2222, 127.0.0.0/8")
    assert str(refused.value) == (
        f"connecting to {host}:{port} is not allowed on this Airflow: the [actito_sftp] allowed_targets setting "
        "does not list it (ask your platform team)"
    )
    assert refused.value.field == "host"


def test_the_setting_comes_from_airflows_configuration(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AIRFLOW__ACTITO_SFTP__ALLOWED_TARGETS", "127.0.0.1:2222")
    assert asyncio.run(checked_target("127.0.0.1", 2222)) == "127.0.0.1"
    with pytest.raises(TargetNotAllowedError):
        asyncio.run(checked_target("127.0.0.1", 22))


def test_a_session_to_a_server_not_listed_sends_nothing(make_connection, monkeypatch: pytest.MonkeyPatch):
    from airflow_provider_actito_sftp.hooks import ActitoSftpHook
    from tests.support.rogue_ssh import SilentServer

    listener = SilentServer()
    try:
        monkeypatch.setenv("AIRFLOW__ACTITO_SFTP__ALLOWED_TARGETS", f"127.0.0.1:{listener.port + 1}")
        hook = ActitoSftpHook(make_connection("unlisted", port=listener.port))
        with pytest.raises(TargetNotAllowedError, match=f"127.0.0.1:{listener.port} is not allowed"):
            hook.list_location("inbound")
        assert listener.connections == 0
    finally:
        listener.close()


# --- the Host as people type it (issue 26.5) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "connect_to"),
    [
        ("sftp.acme.example", "sftp.acme.example"),
        (" sftp.acme.example ", "sftp.acme.example"),
        ("203.0.113.9", "203.0.113.9"),
        ("::1", "::1"),
        ("[::1]", "::1"),  # an IPv6 address in brackets, as in URLs and ssh's config
        ("[2001:db8::1]", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1%eth0"),
    ],
)
def test_a_server_alone_is_taken_and_an_ipv6_address_loses_its_brackets(typed: str, connect_to: str) -> None:
    assert host_problem(typed) is None
    assert checked_host("acme", typed) == connect_to
    assert checked(typed, 22, "") == connect_to  # what the session and the host-key fetch connect to


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        (
            "sftp.acme.example:2222",
            "'sftp.acme.example:2222' holds a port: put the server alone in Host ('sftp.acme.example') and 2222 in "
            "the Port field",
        ),
        ("[::1]:2222", "'[::1]:2222' holds a port: put the server alone in Host ('::1') and 2222 in the Port field"),
        ("203.0.113.9:22", "'203.0.113.9:22' holds a port: put the server alone in Host ('203.0.113.9') and 22 in"),
        (
            "actito@sftp.acme.example",
            "'actito@sftp.acme.example' holds a user: put 'actito' in the Username field, the server alone in Host",
        ),
        (
            "sftp://actito@sftp.acme.example:2222/upload",
            "'sftp://actito@sftp.acme.example:2222/upload' is a URL, not a server: put the server's name alone in "
            "Host ('sftp.acme.example'), 2222 in the Port field, 'actito' in the Username field, the folder "
            "('/upload') in a location",
        ),
        ("[sftp.acme.example]", "'[sftp.acme.example]': brackets hold an IPv6 address only"),
        ("2001:db8::zz", "'2001:db8::zz' is neither a host name nor an IP address"),
        ("sftp acme", "'sftp acme' is not a host name or address (it holds a space or a slash)"),
    ],
)
def test_a_port_a_user_or_a_url_in_the_host_is_refused_with_where_each_part_goes(typed: str, problem: str) -> None:
    found = host_problem(typed)
    assert found is not None
    assert found.startswith(problem)
    with pytest.raises(ConnectionConfigError) as stored:
        checked_host("acme", typed)
    assert (stored.value.field, stored.value.problem) == ("host", found)
    with pytest.raises(HostFieldError) as typed_in:  # a server named before any connection: the page's fetch
        checked(typed, 22, "")
    assert (str(typed_in.value), typed_in.value.field) == (f"Host {found}", "host")


def test_an_ipv6_address_in_brackets_is_checked_against_the_allow_list_without_them() -> None:
    assert checked("[::1]", 22, "[::1]/128") == "::1"
    with pytest.raises(TargetNotAllowedError):
        checked("[::1]", 22, "127.0.0.0/8")


def test_messages_write_an_ipv6_address_with_its_port_in_brackets() -> None:
    assert (host_and_port("::1", 2222), host_and_port("sftp.acme.example", 22)) == (
        "[::1]:2222",
        "sftp.acme.example:22",
    )
