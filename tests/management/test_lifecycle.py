"""A connection's life through management.lifecycle: created against the real sshd, edited, checked, deleted."""

from __future__ import annotations

import json

import pytest

from airflow_provider_actito_sftp.connection.store import ConnectionStore
from airflow_provider_actito_sftp.exceptions import (
    ConnectionConfigError,
    ConnectionExistsError,
    RefusedError,
    RemoteLocationError,
)
from airflow_provider_actito_sftp.management import (
    Check,
    check_conn_id,
    check_location,
    connection_checks,
    create_connection,
    delete_connection,
    pgp_key_generate,
)
from airflow_provider_actito_sftp.pgp.keys import PgpKeyType
from partner_sandbox.sshd import SshServer
from tests.cli.support import fingerprint_of
from tests.management.conftest import MakeRecord


@pytest.mark.parametrize("conn_id", ["acme", "a.b-c_d:1/x", "x" * 250])
def test_airflow_conn_ids_are_accepted(conn_id: str):
    assert check_conn_id(conn_id) == conn_id


@pytest.mark.parametrize("conn_id", ["", "has space", "semi;colon", "x" * 251])
def test_other_conn_ids_are_refused(conn_id: str):
    with pytest.raises(ConnectionConfigError) as refused:
        check_conn_id(conn_id)
    assert refused.value.field == "conn_id"


def test_checks_pass_one_line_each(server_record: MakeRecord, locations: dict[str, str]):
    checks = connection_checks(server_record(locations=locations))
    assert [check.name for check in checks] == ["host key", "authentication", "location inbound", "location outbound"]
    assert all(check.ok for check in checks), checks
    assert checks[2].message == f"{locations['inbound']} can be listed"


def test_a_missing_folder_fails_its_own_line(server_record: MakeRecord, locations: dict[str, str]):
    record = server_record(locations={**locations, "gone": "/no/such/folder"})
    by_name = {check.name: check for check in connection_checks(record)}
    assert by_name["location inbound"].ok
    assert not by_name["location gone"].ok
    assert "/no/such/folder" in by_name["location gone"].message
    with pytest.raises(RemoteLocationError):
        check_location(record, "gone")
    check_location(record, "inbound")


def test_a_refused_key_stops_at_authentication(server_record: MakeRecord, locations: dict[str, str]):
    from airflow_provider_actito_sftp.ssh.key_type import SshKeyType
    from airflow_provider_actito_sftp.ssh.keys import generate_ssh_key

    record = server_record(locations=locations, ssh_private_key=generate_ssh_key(SshKeyType.ED25519).private_key)
    checks = connection_checks(record)
    assert [check.ok for check in checks] == [True, False, False, False]
    assert "refused SSH key authentication" in checks[1].message
    assert checks[2] == Check("location inbound", False, "not checked: not authenticated")


def test_a_wrong_host_key_stops_everything(server_record: MakeRecord, impostor_sshd: SshServer):
    checks = connection_checks(server_record(host_key=impostor_sshd.host_key_line))
    assert [(check.name, check.ok) for check in checks] == [("host key", False), ("authentication", False)]
    assert "man-in-the-middle" in checks[0].message


def test_create_pins_only_a_confirmed_host_key(airflow_db, sshd: SshServer):
    store = ConnectionStore()
    values = {"entity": "acme", "host": sshd.host, "port": sshd.port, "username": sshd.user.name}
    with pytest.raises(RefusedError, match="host key mismatch"):
        create_connection(store, "lifecycle_new", values, expected_fingerprint="SHA256:wrong")
    assert not store.exists("lifecycle_new")
    with pytest.raises(ConnectionConfigError, match="'username': is required"):
        create_connection(store, "lifecycle_new", {**values, "username": None}, expected_fingerprint=None)
    created = create_connection(store, "lifecycle_new", values, expected_fingerprint=fingerprint_of(sshd.host_key_line))
    view = created.as_dict()
    assert view["host_key_fingerprint"] == fingerprint_of(sshd.host_key_line)
    assert view["ssh_key"]["public_key"].startswith("ssh-ed25519 ")
    assert store.get("lifecycle_new").extra["ssh_private_key"]
    with pytest.raises(ConnectionExistsError):
        create_connection(store, "lifecycle_new", values, expected_fingerprint=None, trust_on_first_use=True)
    store.delete("lifecycle_new")


def _state_keys(conn_id: str, record: str) -> list[str]:
    """The Variable keys a connection's transfers write (both kinds), and those of earlier versions."""
    from airflow_provider_actito_sftp.connection.variable_keys import StateKind, legacy_key, state_key

    keys = [state_key(kind, conn_id, "inbound", record) for kind in StateKind]
    return keys + [key for kind in StateKind if (key := legacy_key(kind, conn_id, "inbound", record))]


def test_delete_removes_exactly_its_own_transfer_state(airflow_db, sshd: SshServer):
    from airflow.models import Log, Variable
    from airflow.utils.session import create_session

    store = ConnectionStore()
    values = {"entity": "acme", "host": sshd.host, "port": sshd.port, "username": sshd.user.name}
    long_id = "partner_" + "x" * 110
    for conn_id in ("to_delete", "to_delete:eu", long_id, long_id + "_twin"):
        create_connection(store, conn_id, values, expected_fingerprint=None, trust_on_first_use=True)
    record = store.get("to_delete")
    pgp_key_generate(record, PgpKeyType.ED25519, expires="1y")
    store.save(record)
    record_part = "ab" * 20
    doomed = _state_keys("to_delete", record_part)
    # earlier versions deleted these too: a prefix match, a case-insensitive LIKE, "_" as a wildcard
    kept = [key for other in ("to_delete:eu", "TO_DELETE", "toXdelete") for key in _state_keys(other, record_part)]
    long_keys = _state_keys(long_id, record_part)  # its legacy keys are its twin's too: they stay
    twin_keys = _state_keys(long_id + "_twin", record_part)
    with create_session() as session:
        for key in [*doomed, *kept, *long_keys, *twin_keys]:
            session.add(Variable(key=key, val="{}"))

    removed = delete_connection(store, "to_delete")
    assert removed.as_dict() == {"connection": "to_delete", "ssh_keys": 1, "pgp_keys": 1, "ledger_variables": 4}
    assert not store.exists("to_delete")
    assert delete_connection(store, long_id).ledger_variables == 2  # its own keys; the shared legacy ones stay
    with create_session() as session:
        written = [*doomed, *kept, *long_keys, *twin_keys]
        left = {key for (key,) in session.query(Variable.key).filter(Variable.key.in_(written))}
        assert left == {*kept, *twin_keys, *long_keys[2:]}
        session.query(Variable).filter(Variable.key.in_(left)).delete(synchronize_session=False)
        entries = [
            json.loads(row.extra) for row in session.query(Log).filter(Log.event == "actito_sftp_connection_delete")
        ]
        assert [entry["removed"] for entry in entries if entry["conn_id"] == "to_delete"] == [removed.as_dict()]
    for conn_id in ("to_delete:eu", long_id + "_twin"):
        store.delete(conn_id)


def test_a_server_that_sends_garbage_fails_the_first_line_in_words(server_record: MakeRecord):
    """Issue 21.7: the page's Test answered HTTP 500 (a bare PacketDecodeError)."""
    from tests.support.rogue_ssh import RogueSshServer

    with RogueSshServer() as rogue:
        record = server_record(locations={"inbound": "/in"}, connect_timeout=10)
        record.port = rogue.port
        checks = connection_checks(record)
    assert [(check.name, check.ok) for check in checks] == [
        ("host key", False),
        ("authentication", False),
        ("location inbound", False),
    ]
    assert checks[0].message == (
        f"Connection 'rotation': the server at 127.0.0.1:{rogue.port} broke the SSH protocol: "
        "a malformed packet (Incomplete packet)"
    )


def test_an_sftp_subsystem_that_never_answers_is_its_own_line(server_record: MakeRecord, mute_sftp_sshd: SshServer):
    """Issue 21.13: host key and login pass; the SFTP step fails within connect_timeout, the locations are not
    checked (the test used to wait forever)."""
    from tests.support.rogue_ssh import call_bounded

    record = server_record(locations={"inbound": "/in"}, host_key=mute_sftp_sshd.host_key_line, connect_timeout=2)
    record.port = mute_sftp_sshd.port
    checks = call_bounded(lambda: connection_checks(record))
    assert [(check.name, check.ok) for check in checks] == [
        ("host key", True),
        ("authentication", True),
        ("SFTP", False),
        ("location inbound", False),
    ]
    assert checks[2].message == (
        f"Connection 'rotation' to 127.0.0.1:{mute_sftp_sshd.port}: the server did not start its SFTP subsystem "
        "within 2 s (connect_timeout)"
    )
    assert checks[3].message == "not checked: no SFTP session"
