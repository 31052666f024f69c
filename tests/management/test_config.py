"""``update_fields``: every field set by value, in its column or extra key, with the keys' refusals."""

from __future__ import annotations

import pytest

from airflow_provider_actito_sftp.connection.field import Screen
from airflow_provider_actito_sftp.connection.schema import FIELDS
from airflow_provider_actito_sftp.exceptions import ConnectionConfigError, RefusedError
from airflow_provider_actito_sftp.management import (
    editable_fields,
    location_remove,
    location_set,
    new_connection,
    update_fields,
    validate,
)
from tests.management.conftest import MakeRecord


def test_columns_and_extra_keys_per_the_schema(password_record: MakeRecord):
    record = password_record()
    update = update_fields(
        record,
        {
            "host": "other.example",
            "port": "2222",
            "username": "someone",
            "display_name": "Sales",
            "ciphers": "aes256-ctr, aes128-ctr",
        },
    )
    assert update.changed == ("host", "port", "username", "display_name", "ciphers")
    assert update.generated_ssh_key is None
    assert (record.host, record.port, record.login) == ("other.example", 2222, "someone")
    assert record.extra["display_name"] == "Sales"
    assert record.extra["ciphers"] == "aes256-ctr,aes128-ctr"
    assert not {"host", "port", "username"} & set(record.extra)
    assert validate(record).advanced.ciphers == ("aes256-ctr", "aes128-ctr")


def test_entity_is_fixed_after_creation_for_every_front_end(password_record: MakeRecord):
    """The schema's ``fixed_after_creation`` (entity), enforced where the CLI, the page and the API all save."""
    record = password_record()
    with pytest.raises(ConnectionConfigError, match="'entity': is fixed after creation"):
        update_fields(record, {"entity": "sales", "display_name": "New"})
    assert record.extra["entity"] == "acme"
    assert "display_name" not in record.extra  # nothing changed
    assert update_fields(record, {"entity": "acme", "display_name": "New"}).changed == ("entity", "display_name")
    record.extra.pop("entity")  # made without one (Airflow's own form): a first value is accepted
    assert update_fields(record, {"entity": "sales"}).changed == ("entity",)
    created, _ = new_connection("fresh", {"entity": "sales", "host": "h", "username": "u", "auth_type": "password"})
    assert created.extra["entity"] == "sales"


def test_none_clears_a_field(password_record: MakeRecord):
    record = password_record(display_name="Partner", compression=True)
    update_fields(record, {"display_name": None, "compression": None})
    assert "display_name" not in record.extra
    assert "compression" not in record.extra


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"inbound_pgp_required": True}, "cannot require inbound PGP without an inbound key pair"),
        ({"outbound_pgp": "yes"}, "cannot encrypt outbound files without the partner's public key"),
        ({"host_key": "ssh-ed25519 AAAA"}, "field 'host_key' has its own command"),
        ({"ssh_private_key": "x"}, "field 'ssh_private_key' has its own command"),
        ({"partner_pgp_public_key": "x"}, "field 'partner_pgp_public_key' has its own command"),
        ({"locations": {"in": "/in"}}, "field 'locations' has its own command"),
        ({"colour": "blue"}, "there is no field 'colour'"),
    ],
)
def test_refusals_change_nothing(password_record: MakeRecord, values: dict[str, object], message: str):
    record = password_record()
    before = (record.host, dict(record.extra))
    with pytest.raises(RefusedError, match=message):
        update_fields(record, {"display_name": "changed", **values})
    assert (record.host, record.extra) == before


def test_policies_are_accepted_with_their_keys(password_record: MakeRecord):
    record = password_record(inbound_pgp_private_keys="(armored keys)", partner_pgp_public_key="(armored key)")
    update_fields(record, {"inbound_pgp_required": True, "outbound_pgp": True, "outbound_lock": "no"})
    assert (record.extra["inbound_pgp_required"], record.extra["outbound_pgp"]) == (True, True)
    assert record.extra["outbound_lock"] is False


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"port": 0}, "field 'port': expected an integer from 1 to 65535, got 0"),
        (
            {"auth_type": "kerberos"},
            "field 'auth_type': expected 'ssh_key', 'password' or 'ssh_key_and_password', got 'kerberos'",
        ),
        ({"entity": ""}, "field 'entity': is required"),
        ({"compression": "maybe"}, "field 'compression': expected true or false, got 'maybe'"),
    ],
)
def test_values_are_read_like_the_hook_reads_them(password_record: MakeRecord, values: dict[str, object], message: str):
    with pytest.raises(ConnectionConfigError, match=message):
        update_fields(password_record(), values)


def test_switching_to_ssh_key_auth_generates_a_key(password_record: MakeRecord):
    record = password_record()
    update = update_fields(record, {"auth_type": "ssh_key"})
    assert update.password_removed  # a password left in the connection would still be offered to the server
    assert record.password is None
    assert update.generated_ssh_key is not None
    assert update.generated_ssh_key.private_key == ""
    assert update.generated_ssh_key.public_line.startswith("ssh-ed25519 ")
    assert record.extra["ssh_private_key"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    existing = record.extra["ssh_private_key"]
    again = update_fields(record, {"auth_type": "ssh_key"})
    assert (again.generated_ssh_key, again.password_removed) == (None, False)  # nothing left to remove
    assert record.extra["ssh_private_key"] == existing


def test_switching_to_key_and_password_keeps_the_password_and_generates_a_key(password_record: MakeRecord):
    record = password_record()
    update = update_fields(record, {"auth_type": "ssh_key_and_password"})
    assert not update.password_removed  # both are sent (issue 26.1)
    assert record.password == "a-password-nobody-may-see"
    assert update.generated_ssh_key is not None
    assert record.extra["ssh_private_key"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")


def test_other_changes_keep_the_password(password_record: MakeRecord):
    record = password_record()
    assert not update_fields(record, {"auth_type": "password", "display_name": "Kept"}).password_removed
    assert record.password == "a-password-nobody-may-see"


def test_a_new_connection():
    record, update = new_connection(
        "fresh", {"entity": "acme", "host": "h.example", "port": 22, "username": "u", "auth_type": "ssh_key"}
    )
    assert (record.conn_id, record.host, record.port, record.login) == ("fresh", "h.example", 22, "u")
    assert record.extra["display_name"] == "fresh"
    assert record.extra["locations"] == {}
    assert update.generated_ssh_key is not None
    named, _ = new_connection("named", {"entity": "e", "display_name": "Named", "auth_type": "password"})
    assert named.extra["display_name"] == "Named"
    assert "ssh_private_key" not in named.extra


def test_editable_fields_are_the_cli_flags():
    assert [field.name for field in editable_fields(Screen.INBOUND, Screen.OUTBOUND)] == [
        "inbound_pgp_required",
        "outbound_lock",
        "outbound_lock_suffix",
        "outbound_pgp",
        "outbound_pgp_armor",
    ]
    editable = {field.name for field in editable_fields(*Screen)}
    assert not editable & {field.name for field in FIELDS if field.secret or field.generated}


def test_locations(password_record: MakeRecord):
    record = password_record()
    location_set(record, "in", "/data/in/", must_exist=False)
    assert record.extra["locations"] == {"in": "/data/in"}
    with pytest.raises(RefusedError, match="already has location 'in'; use `location update`"):
        location_set(record, "in", "/other", must_exist=False)
    location_set(record, "in", "/other", must_exist=True)
    with pytest.raises(RefusedError, match="has no location 'out'; use `location add`"):
        location_set(record, "out", "/out", must_exist=True)
    with pytest.raises(ConnectionConfigError, match=r"must not contain '\.\.'"):
        location_set(record, "out", "/a/../b", must_exist=False)
    location_remove(record, "in")
    assert record.extra["locations"] == {}
    with pytest.raises(RefusedError, match="has no location 'in'"):
        location_remove(record, "in")


def test_the_management_package_loads_each_name_on_first_use():
    """``management`` names every operation in ``__all__``; each is imported from its module when first used
    (so the CLI can build its commands without asyncssh), and is the module's own object."""
    import importlib

    from airflow_provider_actito_sftp import management

    homes = management._HOMES
    assert sorted(homes) == sorted(management.__all__)
    for name, module in homes.items():
        assert getattr(management, name) is getattr(
            importlib.import_module(f"airflow_provider_actito_sftp.{module}"), name
        )
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = management.nothing_here
