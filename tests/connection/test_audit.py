"""Audit log entries: who changed which connection and what, never a secret."""

from __future__ import annotations

import json
from dataclasses import replace

from airflow_provider_actito_sftp.connection.audit import Actor, Change, audit_entry, field_changes
from airflow_provider_actito_sftp.connection.store import ConnectionRecord
from airflow_provider_actito_sftp.ssh.keys import generate_ssh_key

PASSWORD = "a-password-nobody-may-see"
HOST_KEY = generate_ssh_key().public_line  # any OpenSSH public key line pins like a host key


def record(**extra: object) -> ConnectionRecord:
    base = {"entity": "acme", "auth_type": "password", "display_name": "ACME", "locations": {"in": "/in"}}
    return ConnectionRecord("acme", "sftp.acme.example", 22, "actito", PASSWORD, {**base, **extra})


def test_public_fields_show_their_old_and_new_values():
    before, after = record(), record(display_name="ACME (prod)", locations={"in": "/in", "out": "/out"})
    after.host, after.port = "evil.example", 2222
    assert field_changes(before, after) == {
        "display_name": {"from": "ACME", "to": "ACME (prod)"},
        "host": {"from": "sftp.acme.example", "to": "evil.example"},
        "port": {"from": 22, "to": 2222},
        "locations": {"from": {"in": "/in"}, "to": {"in": "/in", "out": "/out"}},
    }


def test_secrets_only_say_what_happened_to_them():
    key = generate_ssh_key()
    before, after = record(), record(ssh_private_key=key.private_key)
    after.password = "another-password"
    changes = field_changes(before, after)
    assert changes == {"password": "replaced", "ssh_private_key": f"set: public key {key.fingerprint}"}
    removed = replace(after, password=None, extra={**after.extra})
    del removed.extra["ssh_private_key"]
    assert field_changes(after, removed) == {"password": "removed", "ssh_private_key": "removed"}


def test_host_keys_are_shown_by_their_fingerprints():
    from tests.cli.support import fingerprint_of

    changes = field_changes(record(), record(host_key=HOST_KEY))
    assert changes == {"host_key": {"from": None, "to": [fingerprint_of(HOST_KEY)]}}


def test_extra_keys_the_schema_does_not_know_appear_by_name_only():
    before = record(private_key="LEAK-1", note="kept")
    after = record(note="changed", api_token="LEAK-2")
    changes = field_changes(before, after)
    assert changes == {"other extra keys": {"added": ["api_token"], "changed": ["note"], "removed": ["private_key"]}}


def test_an_entry_names_who_what_and_which_connection():
    actor = Actor("alice", "Actito SFTP page")
    entry = audit_entry(actor, Change.HOST_KEY_PIN, "acme", {"host_key": "x"}, {"trusted_on_first_use": False})
    extra = json.loads(entry.extra)
    assert (entry.event, entry.owner, entry.owner_display_name) == ("actito_sftp_host_key_pin", "alice", "alice")
    assert extra["conn_id"] == "acme"
    assert (extra["via"], extra["changes"], extra["trusted_on_first_use"]) == (
        "Actito SFTP page",
        {"host_key": "x"},
        False,
    )
    assert extra["host_name"]
    assert all(len(change.event) <= 60 for change in Change)  # Airflow's column


def test_a_deletion_lists_what_was_there_without_secrets():
    changes = field_changes(record(), None)
    assert changes["host"] == {"from": "sftp.acme.example", "to": None}
    assert changes["password"] == "removed"
    assert PASSWORD not in json.dumps(changes)


def test_the_local_user_is_named_as_airflows_cli_names_it():
    import getpass

    assert Actor.local_user("actito-sftp CLI") == Actor(getpass.getuser(), "actito-sftp CLI")
