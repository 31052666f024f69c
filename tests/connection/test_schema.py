"""The schema declares each connection field once; every surface is derived from it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from airflow.sdk import Connection

from airflow_provider_actito_sftp.connection.field import Field, Kind, Screen
from airflow_provider_actito_sftp.connection.schema import (
    FIELDS,
    SECRET_EXTRA_KEYS,
    form_behaviour,
    form_fields,
    markdown_table,
)
from airflow_provider_actito_sftp.connection.settings import ConnectionSettings, parse_connection
from airflow_provider_actito_sftp.exceptions import ConnectionConfigError
from airflow_provider_actito_sftp.pgp.keys import generate_inbound_key

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
    "legacy_algorithms": "ssh-rsa, cbc",
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
    "legacy_algorithms": "ssh-rsa,ssh-dss",
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


# What Airflow's own connection form shows for each field (its React form renders ``conn-fields``):
# the section, the widget it picks from the JSON schema, and the standard field a column field fills.
FORM: dict[str, tuple[str, str]] = {
    "display_name": ("General", "text"),
    "entity": ("General", "required text"),
    "host": ("Standard Fields", "host"),
    "port": ("Standard Fields", "port"),
    "username": ("Standard Fields", "login"),
    "auth_type": ("Server configuration", "drop-down ssh_key|password|ssh_key_and_password"),
    "password": ("Standard Fields", "password"),
    "host_key": ("Server configuration", "multiline, managed on the page"),
    "legacy_algorithms": ("Server configuration", "text"),
    "locations": ("Locations", "JSON object"),
    "inbound_pgp_required": ("Inbound", "switch"),
    "outbound_lock": ("Outbound", "switch"),
    "outbound_lock_suffix": ("Outbound", "text"),
    "outbound_pgp": ("Outbound", "switch"),
    "outbound_pgp_armor": ("Outbound", "switch"),
    "partner_pgp_public_key": ("Outbound", "multiline"),
    "ssh_private_key": ("Keys (managed on the Actito SFTP page)", "masked, managed on the page"),
    "ssh_private_key_passphrase": ("Keys (managed on the Actito SFTP page)", "masked"),
    "ssh_private_key_pending": ("Keys (managed on the Actito SFTP page)", "masked, managed on the page"),
    "inbound_pgp_private_keys": ("Keys (managed on the Actito SFTP page)", "masked, managed on the page"),
    "connect_timeout": ("Server configuration: advanced", "number 1..3600"),
    "keepalive_interval": ("Server configuration: advanced", "number 0..3600"),
    "transfer_concurrency": ("Server configuration: advanced", "number 1..64"),
    "ciphers": ("Server configuration: advanced", "text"),
    "compression": ("Server configuration: advanced", "switch"),
}


def _widget(form_field: dict[str, Any]) -> str:
    """The widget Airflow 3.3's FlexibleForm (FieldSelector) renders for a ``conn-fields`` entry."""
    schema = form_field["schema"]
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    kind = next(t for t in types if t != "null")
    page = (
        ", managed on the page" if "(actito/#integrations) (open the integration)" in schema["description_md"] else ""
    )
    if kind == "boolean":
        return "switch"
    if "enum" in schema:
        return "drop-down " + "|".join(schema["enum"])
    if kind == "integer":
        return f"number {schema['minimum']}..{schema['maximum']}"
    if kind == "object":
        return "JSON object"
    if schema.get("format") == "password":
        return "masked" + page
    if schema.get("format") == "multiline":
        return "multiline" + page
    return ("text" if "null" in types else "required text") + page


def test_the_form_table_covers_every_field():
    assert list(FORM) == [field.name for field in FIELDS]


@pytest.mark.parametrize("field", FIELDS, ids=lambda field: field.name)
def test_airflow_form_is_derived_from_the_schema(field: Field):
    section, widget = FORM[field.name]
    form, behaviour = form_fields(), form_behaviour()
    if field.column:  # an Airflow column: a standard field, relabeled and with a placeholder
        assert field.name not in form
        assert widget == field.column
        assert behaviour["relabeling"].get(field.column, field.label) == field.label
        assert behaviour["placeholders"].get(field.column) == field.placeholder
        assert field.column not in behaviour["hidden-fields"]
        return
    form_field = form[field.name]
    assert (form_field["schema"]["section"], _widget(form_field)) == (section, widget)
    assert form_field["label"] == field.label
    assert form_field["schema"]["description_md"].startswith(field.help)
    assert "description" not in form_field  # Airflow shows description_md only when there is no description
    assert form_field["schema"].get("default") == (None if field.kind is Kind.LIST else field.default)
    if field.placeholder and field.placeholder != field.default and field.kind is not Kind.LOCATIONS:
        assert f"Example: `{field.placeholder}`." in form_field["schema"]["description_md"]


def test_form_behaviour_hides_only_the_unused_schema_column():
    """Airflow 3.3 applies ui-field-behaviour to its standard fields only; the extra JSON editor stays."""
    assert form_behaviour() == {
        "hidden-fields": ["schema"],
        "relabeling": {"login": "Username"},
        "placeholders": {"host": "sftp.partner.example", "port": "22", "login": "actito"},
    }


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
    if name == "inbound_pgp_private_keys":  # checked as our secret keys by the parser: a real one
        values[name] = generate_inbound_key("partner")[0]
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


def test_every_screen_has_fields():
    assert {field.screen for field in FIELDS} == set(Screen)
    assert {field.kind for field in FIELDS} == set(Kind)
