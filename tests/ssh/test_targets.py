"""The platform's allow-list of servers: entries as platform teams write them, and what each lets through."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from airflow_provider_actito_sftp.exceptions import PlatformConfigError, TargetNotAllowedError
from airflow_provider_actito_sftp.ssh.targets import TargetRule, checked_target, parse_rules


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
