"""``management.validate``: a record parsed exactly as the hook parses a connection."""

from __future__ import annotations

import pytest

from airflow_provider_actito_sftp.connection.settings import AuthType
from airflow_provider_actito_sftp.exceptions import ConnectionConfigError
from airflow_provider_actito_sftp.management import validate
from airflow_provider_actito_sftp.management.validation import RecordConnection
from tests.management.conftest import MakeRecord


def test_a_valid_record_gives_the_hooks_settings(password_record: MakeRecord):
    settings = validate(password_record(outbound_lock="no", connect_timeout="60"))
    assert (settings.conn_id, settings.auth_type, settings.port) == ("partner", AuthType.PASSWORD, 22)
    assert (settings.outbound.lock, settings.advanced.connect_timeout) == (False, 60)


def test_an_invalid_record_names_its_field(password_record: MakeRecord):
    record = password_record()
    record.port = 70000
    with pytest.raises(ConnectionConfigError, match="field 'port': expected an integer from 1 to 65535"):
        validate(record)


def test_the_record_as_a_connection(password_record: MakeRecord):
    connection = RecordConnection.of(password_record())
    assert (connection.conn_id, connection.login, connection.password) == (
        "partner",
        "actito",
        "a-password-nobody-may-see",
    )
    assert connection.extra == '{"entity": "acme", "auth_type": "password"}'
