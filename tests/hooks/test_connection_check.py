"""The Test button on an unsaved form, as Airflow's API runs it: a ``Connection`` under a random temporary id,
exported as ``AIRFLOW_CONN_<ID>``, then ``Connection.test_connection()`` (which makes our hook). The real sshd."""

from __future__ import annotations

import json
from typing import Any

import pytest

from partner_sandbox.sshd import SshServer

TEMPORARY_ID = "n2XCbe2t"  # what Airflow's get_random_string() gives


@pytest.fixture
def test_form(monkeypatch: pytest.MonkeyPatch, sshd: SshServer, client_key: str) -> Any:
    """Test a form's values the way Airflow's ``POST /connections/test`` does; returns (ok, message)."""
    from airflow.models.connection import Connection

    def run(**changes: Any) -> tuple[bool, str]:
        columns: dict[str, Any] = {"host": sshd.host, "port": sshd.port, "login": sshd.user.name}
        extra: dict[str, Any] = {
            "entity": "acme",
            "ssh_private_key": client_key,
            "host_key": sshd.host_key_line,
            "locations": {},
        }
        for key, value in changes.items():
            target = columns if key in columns else extra
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value
        form = Connection(conn_id=TEMPORARY_ID, conn_type="actito_sftp", extra=json.dumps(extra), **columns)
        monkeypatch.setenv(f"AIRFLOW_CONN_{TEMPORARY_ID.upper()}", form.get_uri())
        return form.test_connection()

    return run


def test_a_valid_form_is_one_short_sentence(test_form: Any, sshd: SshServer):
    ok, message = test_form()
    assert ok, message
    assert message.startswith("Host key SHA256:")
    assert message.endswith(f"matches the pin; authenticated as {sshd.user.name}; 0 locations OK.")
    assert len(message) < 140


def test_a_port_airflow_cannot_read_is_named_as_the_port(test_form: Any):
    assert test_form(port=70000) == (False, "Port: '70000' is not a port number from 1 to 65535")


def test_every_invalid_field_is_named_by_its_label_without_the_temporary_id(test_form: Any):
    ok, message = test_form(entity=None, connect_timeout=0)
    assert (ok, message) == (
        False,
        "Entity: is required; Connect timeout (s): expected an integer from 1 to 3600, got 0",
    )
    ok, message = test_form(locations={"in": "relative/path"})
    assert not ok
    assert message.startswith("Locations: "), message
    assert TEMPORARY_ID not in message


def test_advice_names_the_technical_name_not_the_temporary_id(test_form: Any):
    ok, message = test_form(ssh_private_key=None)
    assert not ok
    assert message.startswith("SSH private key: SSH key authentication needs a private key"), message
    assert "actito-sftp ssh-key generate <technical name>" in message
    assert TEMPORARY_ID not in message


def test_a_refused_login_says_what_was_refused(test_form: Any):
    ok, message = test_form(login="nobody-here")
    assert not ok
    assert message.startswith("Connecting to ")
    assert "refused SSH key authentication for user 'nobody-here'" in message


def test_a_server_that_sends_garbage_is_named_in_words(test_form: Any):
    """Issue 21.7: the Test button said "Unexpected PacketDecodeError: Incomplete packet"."""
    from tests.support.rogue_ssh import RogueSshServer

    with RogueSshServer() as rogue:
        ok, message = test_form(port=rogue.port, connect_timeout=10)
    assert not ok
    assert message == (
        f"The server at 127.0.0.1:{rogue.port} broke the SSH protocol: a malformed packet (Incomplete packet)"
    )


def test_an_sftp_subsystem_that_never_answers_is_named_within_connect_timeout(
    test_form: Any, mute_sftp_sshd: SshServer
):
    """Issue 21.13: the test used to wait forever whatever the connect timeout said."""
    from tests.support.rogue_ssh import call_bounded

    ok, message = call_bounded(
        lambda: test_form(port=mute_sftp_sshd.port, host_key=mute_sftp_sshd.host_key_line, connect_timeout=2)
    )
    assert not ok
    assert message == (
        f"Connecting to 127.0.0.1:{mute_sftp_sshd.port}: the server did not start its SFTP subsystem within 2 s "
        "(connect_timeout)"
    )


def test_a_host_with_its_port_is_named_by_the_host_fields_label(test_form: Any, sshd: SshServer) -> None:
    """Issue 26.5: Airflow's form says it in the same words as the CLI and the page (the parser's rule)."""
    assert test_form(host=f"127.0.0.1:{sshd.port}") == (
        False,
        f"Host: '127.0.0.1:{sshd.port}' holds a port: put the server alone in Host ('127.0.0.1') and {sshd.port} in "
        "the Port field",
    )
