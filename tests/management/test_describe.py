"""``describe``: the one secret-free view, with every value as the hook reads it."""

from __future__ import annotations

import json

import pytest

from airflow_provider_actito_sftp.connection.schema import FIELDS
from airflow_provider_actito_sftp.exceptions import ConnectionConfigError
from airflow_provider_actito_sftp.management import describe, pgp_key_generate
from airflow_provider_actito_sftp.pgp.keys import PgpKeyType
from partner_sandbox.sshd import SshServer
from tests.management.conftest import MakeRecord


def test_every_non_secret_field_under_its_name(password_record: MakeRecord):
    view = describe(password_record())
    assert [name for name in view if name in {field.name for field in FIELDS}] == [
        field.name for field in FIELDS if not field.secret
    ]
    assert view["conn_id"] == "partner"
    assert view["display_name"] == "partner"  # defaults to the id
    assert view["secrets_set"] == ["password"]
    assert view["stored_in"] == "metadata DB"
    assert view["id"] is None  # a record not read from the metadata DB has no row id
    assert (view["ssh_key"], view["ssh_pending_key"], view["host_key"]) == (None, None, None)
    assert view["ciphers"][0] == "aes128-gcm@openssh.com"
    assert "a-password-nobody-may-see" not in json.dumps(view)


def test_text_values_are_read_as_the_hook_reads_them(password_record: MakeRecord):
    view = describe(
        password_record(inbound_pgp_required="false", outbound_lock="no", compression="on", connect_timeout="60")
    )
    assert (view["inbound_pgp_required"], view["outbound_lock"]) == (False, False)
    assert (view["compression"], view["connect_timeout"]) == (True, 60)


def test_locations_are_an_object_whatever_their_stored_form(password_record: MakeRecord):
    assert describe(password_record(locations='{"in": "/in/"}'))["locations"] == {"in": "/in"}
    assert describe(password_record(locations={"out": "/out"}))["locations"] == {"out": "/out"}
    assert describe(password_record())["locations"] == {}


def test_keys_are_shown_by_their_public_parts(server_record: MakeRecord, sshd: SshServer, client_key: str):
    view = describe(server_record(partner_pgp_public_key="(not looked at)"), key_details=False)
    assert [fingerprint[:7] for fingerprint in view["host_key"]] == ["SHA256:"]
    assert view["ssh_key"]["public_key"].startswith("ssh-ed25519 ")
    assert view["partner_pgp_public_key"] == {"configured": True}
    assert view["secrets_set"] == ["ssh_private_key"]
    assert not [line for line in client_key.splitlines()[1:-1] if line in json.dumps(view)]


def test_a_partner_key_that_does_not_read_is_a_warning(password_record: MakeRecord):
    view = describe(password_record(partner_pgp_public_key="this is not a key"))
    assert "no OpenPGP key found" in view["partner_pgp_public_key"]["error"]
    assert view["warnings"] == [f"partner {view['partner_pgp_public_key']['error']}"]


def test_an_invalid_connection_is_not_described(password_record: MakeRecord):
    with pytest.raises(ConnectionConfigError, match="field 'outbound_lock': expected true or false"):
        describe(password_record(outbound_lock="perhaps"))


def test_garbage_in_the_inbound_pgp_keys_is_named_and_new_keys_fix_it(password_record: MakeRecord):
    """Issue 21.9: the CLI's and the page's view of the connection names the field (the page shows the error
    beside its public values); generating new keys replaces the garbage and the view is whole again."""
    record = password_record(inbound_pgp_private_keys="-----BEGIN PGP PRIVATE KEY BLOCK-----\nchangeme\n")
    with pytest.raises(ConnectionConfigError) as raised:
        describe(record)
    assert raised.value.field == "inbound_pgp_private_keys"
    assert "changeme" not in str(raised.value)
    info = pgp_key_generate(record, PgpKeyType.ED25519, expires="2y", force=True)
    view = describe(record)
    assert [key["fingerprint"] for key in view["inbound_pgp_keys"]] == [info.fingerprint]
    assert "inbound_pgp_private_keys" in view["secrets_set"]
