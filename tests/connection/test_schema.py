"""The schema declares each connection field once; every surface is derived from it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from airflow.sdk import Connection

from airflow_provider_actito_sftp.connection.schema import (
    BY_NAME,
    FIELDS,
    SECRET_EXTRA_KEYS,
    Field,
    Kind,
    Screen,
    form_behaviour,
    form_fields,
    markdown_table,
)
from airflow_provider_actito_sftp.connection.settings import ConnectionSettings, parse_connection
from airflow_provider_actito_sftp.exceptions import ConnectionConfigError

README = Path(__file__).parents[2] / "README.md"
PRIVATE_KEY = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
OTHER_PRIVATE_KEY = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
HOST_KEY = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
MINIMAL = {"host": "sftp.partner.example", "username": "actito", "entity": "acme", "ssh_private_key": PRIVATE_KEY}

# A valid value different from the default, per field: proves each field reaches the settings.
CHANGED: dict[str, Any] = {
    "display_name": "Partner exchange",
    "entity": "marketing",
    "host": "other.example",
    "port": 2222,
    "username": "someone",
    "auth_type": "password",
    "password": "s3cret-password",
    "host_key": HOST_KEY,
    "locations": {"inbound": "/in"},
    "inbound_pgp_required": True,
    "outbound_lock": False,
    "outbound_lock_suffix": ".tmp",
    "outbound_pgp": True,
    "outbound_pgp_armor": True,
    "partner_pgp_public_key": "-----BEGIN PGP PUBLIC KEY BLOCK-----",
    "ssh_private_key": OTHER_PRIVATE_KEY,
    "ssh_private_key_passphrase": "passphrase",
    "ssh_private_key_pending": OTHER_PRIVATE_KEY,
    "inbound_pgp_private_keys": "-----BEGIN PGP PRIVATE KEY BLOCK-----",
    "connect_timeout": 61,
    "keepalive_interval": 0,
    "transfer_concurrency": 3,
    "ciphers": "aes256-ctr",
    "compression": True,
}
# A value of the right JSON type but out of bounds or not a choice.
INVALID: dict[str, Any] = {
    "port": 70000,
    "auth_type": "kerberos",
    "inbound_pgp_required": "maybe",
    "outbound_lock": "sometimes",
    "outbound_pgp": 2,
    "outbound_pgp_armor": "armored",
    "compression": "fast",
    "connect_timeout": 0,
    "keepalive_interval": -1,
    "transfer_concurrency": 65,
    "ciphers": "rot13",
    "outbound_lock_suffix": "a/b",
    "locations": {"in": "relative"},
    "host_key": "not a key",
}


def _connection(values: dict[str, Any]) -> Connection:
    columns = {field.column: values.get(field.name) for field in FIELDS if field.column}
    extra = {field.name: values[field.name] for field in FIELDS if field.in_extra and field.name in values}
    return Connection(conn_id="partner", conn_type="actito_sftp", extra=json.dumps(extra), **columns)


def _settings_value(settings: ConnectionSettings, name: str) -> Any:
    """Where a field lands in the settings: its own name, or its name inside its group."""
    if name == "host_key":
        return settings.host_keys
    for group, prefix in (("inbound", "inbound_"), ("outbound", "outbound_"), ("advanced", ""), ("keys", "")):
        holder = getattr(settings, group)
        if name.startswith(prefix) and hasattr(holder, name.removeprefix(prefix)):
            return getattr(holder, name.removeprefix(prefix))
    return getattr(settings, name)


def test_each_field_is_declared_once_with_a_unique_name_and_flag():
    names = [field.name for field in FIELDS]
    assert len(names) == len(set(names))
    assert len({field.flag for field in FIELDS}) == len(FIELDS)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in names)
    assert set(CHANGED) == set(names), "every field needs a changed value in this test"


def test_readme_field_table_is_the_schema():
    text = README.read_text()
    table = text.split("<!-- connection-fields:", 1)[1].split("-->", 1)[1].split("<!-- /connection-fields -->")[0]
    assert table.strip() == markdown_table()


def test_airflow_form_is_derived_from_the_schema():
    form = form_fields()
    assert set(form) == {field.name for field in FIELDS if field.column is None}
    for name, widget in form.items():
        field = BY_NAME[name]
        assert widget["description"] == field.help
        assert (widget["schema"].get("format") == "password") is field.secret
        assert widget["label"].endswith("(required)") is field.required
    behaviour = form_behaviour()
    assert behaviour["relabeling"] == {"login": "Username"}
    assert behaviour["placeholders"]["host"] == BY_NAME["host"].placeholder


def test_secret_fields_are_the_stores_secret_keys():
    assert set(SECRET_EXTRA_KEYS) == {field.name for field in FIELDS if field.secret and field.in_extra}
    assert "password" not in SECRET_EXTRA_KEYS  # an Airflow column, secret by Airflow's own rules


@pytest.mark.parametrize("name", [field.name for field in FIELDS])
def test_every_field_reaches_the_settings(name: str):
    default = parse_connection(_connection({**MINIMAL, "password": "pw"}))
    values = {**MINIMAL, "password": "pw", name: CHANGED[name]}
    if name == "ssh_private_key_passphrase":  # a passphrase must decrypt the key it goes with
        key = asyncssh.import_private_key(PRIVATE_KEY)
        values["ssh_private_key"] = key.export_private_key(passphrase="passphrase").decode()
    changed = parse_connection(_connection(values))
    assert _settings_value(changed, name) != _settings_value(default, name)


@pytest.mark.parametrize("name", sorted(INVALID))
def test_every_invalid_value_names_its_field(name: str):
    with pytest.raises(ConnectionConfigError) as raised:
        parse_connection(_connection({**MINIMAL, name: INVALID[name]}))
    assert raised.value.field == name
    assert raised.value.conn_id == "partner"


@pytest.mark.parametrize("field", [field for field in FIELDS if field.required], ids=lambda field: field.name)
def test_required_fields(field: Field):
    with pytest.raises(ConnectionConfigError, match=f"field '{field.name}': is required"):
        parse_connection(_connection({**MINIMAL, field.name: None}))


class TestRead:
    @pytest.mark.parametrize(("value", "expected"), [("yes", True), ("OFF", False), ("0", False), (True, True)])
    def test_boolean_words(self, value: object, expected: bool):
        assert BY_NAME["compression"].read("c", value) is expected

    def test_integer_text_and_bounds(self):
        assert BY_NAME["port"].read("c", " 2022 ") == 2022
        with pytest.raises(ConnectionConfigError, match="from 1 to 65535"):
            BY_NAME["port"].read("c", "0")
        with pytest.raises(ConnectionConfigError):
            BY_NAME["port"].read("c", True)

    def test_unset_gives_the_default(self):
        assert BY_NAME["outbound_lock"].read("c", None) is True
        assert BY_NAME["outbound_lock_suffix"].read("c", "  ") == ".part"

    def test_list_of_words(self):
        assert BY_NAME["ciphers"].read("c", "a, b,,") == ("a", "b")
        assert BY_NAME["ciphers"].read("c", ["a"]) == ("a",)

    def test_text_must_be_text(self):
        with pytest.raises(ConnectionConfigError, match="expected text, got int"):
            BY_NAME["entity"].read("c", 5)


def test_every_screen_has_fields():
    assert {field.screen for field in FIELDS} == set(Screen)
    assert {field.kind for field in FIELDS} == set(Kind)
