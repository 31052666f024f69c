"""The CLI command and flags of a change, declared once for the CLI's options and the plugin's advice."""

from __future__ import annotations

import click
import pytest

from airflow_provider_actito_sftp.cli.connection import connection_create, connection_update
from airflow_provider_actito_sftp.cli.policies import policy
from airflow_provider_actito_sftp.connection.commands import (
    CREATE_SCREENS,
    POLICY_SCREENS,
    UPDATE_SCREENS,
    command_line,
    value_flags,
)
from airflow_provider_actito_sftp.connection.schema import BY_NAME, editable_fields


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"port": "2222", "compression": True}, ["connection", "update", "c", "--port", "2222", "--compression"]),
        ({"compression": False}, ["connection", "update", "c", "--no-compression"]),
        (
            {"ciphers": ["aes256-ctr", "aes128-ctr"]},
            ["connection", "update", "c", "--ciphers", "aes256-ctr,aes128-ctr"],
        ),
        ({"inbound_pgp_required": "yes"}, ["policy", "c", "--inbound-pgp-required"]),
        ({"port": 22, "inbound_pgp_required": True}, None),  # no one command sets both
        ({"display_name": None}, None),  # a cleared value has no flag
        ({"entity": "sales"}, None),  # fixed after creation: no command changes it
        ({"password": "x"}, None),  # secrets never go on a command line
    ],
)
def test_the_one_command_making_a_change(values: dict[str, object], expected: list[str] | None):
    assert command_line("c", values) == expected


def test_the_cli_offers_exactly_these_flags():
    """The CLI builds its options from the same screens: every flag named here exists there, typed alike."""
    for command, screens, creating in (
        (connection_create, CREATE_SCREENS, True),
        (connection_update, UPDATE_SCREENS, False),
        (policy, POLICY_SCREENS, False),
    ):
        options = {param.name: param for param in command.params if isinstance(param, click.Option)}
        for field in editable_fields(*screens, creating=creating):
            assert options[field.name].opts == [field.flag]
        every = {field.name: field for field in editable_fields(*screens, creating=True)}
        missing = {name for name in every if name not in options}
        assert missing == (set() if creating else {name for name, field in every.items() if field.fixed_after_creation})
    assert "entity" not in {param.name for param in connection_update.params}


def test_a_boolean_is_its_flag_or_the_negated_flag():
    field = BY_NAME["compression"]
    assert value_flags("c", field, "true") == ["--compression"]
    assert value_flags("c", field, "no") == ["--no-compression"]
    assert value_flags("c", None, True) is None
