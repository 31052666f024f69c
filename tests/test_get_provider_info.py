"""Provider discovery, the declared connection form, and what the secrets masker hides."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.connection.schema import form_fields
from airflow_provider_actito_sftp.get_provider_info import get_provider_info

SECRET_FIELDS = {
    "ssh_private_key",
    "ssh_private_key_passphrase",
    "ssh_private_key_pending",
    "inbound_pgp_private_keys",
}
PUBLIC_FIELDS = {"host_key", "partner_pgp_public_key", "locations", "entity", "display_name"}


def _airflow(*args: str) -> str:
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run([str(airflow), *args], capture_output=True, text=True, env=os.environ, check=True)
    return result.stdout


def test_package_name_is_the_distribution_name():
    from importlib.metadata import distribution

    assert get_provider_info()["package-name"] == distribution("airflow-provider-actito-sftp").metadata["Name"]


@pytest.mark.airflow  # runs the `airflow` command: seconds each (tests/support/tiers.py)
def test_airflow_providers_list_shows_the_provider():
    providers = json.loads(_airflow("providers", "list", "--output", "json"))
    ours = [provider for provider in providers if provider["package_name"] == "airflow-provider-actito-sftp"]
    assert len(ours) == 1
    assert ours[0]["version"] == "0.1.0"


@pytest.mark.airflow  # runs the `airflow` command: seconds each (tests/support/tiers.py)
def test_connection_type_is_listed_with_its_hook():
    hooks = json.loads(_airflow("providers", "hooks", "--output", "json"))
    ours = [hook for hook in hooks if hook["connection_type"] == "actito_sftp"]
    assert ours == [
        {
            "connection_type": "actito_sftp",
            "class": "airflow_provider_actito_sftp.hooks.actito_sftp.ActitoSftpHook",
            "conn_id_attribute_name": "conn_id",
            "package_name": "airflow-provider-actito-sftp",
            "hook_name": "Actito SFTP",
        }
    ]


@pytest.mark.airflow  # runs the `airflow` command: seconds each (tests/support/tiers.py)
def test_the_providers_options_are_in_airflows_configuration():
    listed = _airflow("config", "list", "--section", "actito_sftp", "--defaults")
    for option in ("allowed_targets", "interactive_timeout", "interactive_calls", "interactive_calls_per_user"):
        assert option in listed
    assert "interactive_timeout = 15" in listed
    value = _airflow_env(
        {"AIRFLOW__ACTITO_SFTP__INTERACTIVE_TIMEOUT": "7"}, "config", "get-value", "actito_sftp", "interactive_timeout"
    )
    assert value.strip() == "7"


def _airflow_env(env: dict[str, str], *args: str) -> str:
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run(
        [str(airflow), *args], capture_output=True, text=True, env={**os.environ, **env}, check=True
    )
    return result.stdout


def test_form_fields_reach_the_providers_manager():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    widgets = {
        name.removeprefix("extra__actito_sftp__"): info
        for name, info in manager.connection_form_widgets.items()
        if name.startswith("extra__actito_sftp__")
    }
    assert set(widgets) == set(form_fields())
    assert widgets["auth_type"].field["schema"]["enum"] == ["ssh_key", "password", "ssh_key_and_password"]
    assert widgets["auth_type"].field["value"] == "ssh_key"
    assert widgets["inbound_pgp_required"].field["schema"]["type"] == ["boolean", "null"]
    assert widgets["outbound_lock"].field["value"] is True
    assert widgets["host_key"].field["schema"]["format"] == "multiline"
    assert {name for name, info in widgets.items() if info.is_sensitive} == SECRET_FIELDS
    behaviour = manager.field_behaviours["actito_sftp"]
    assert "schema" in behaviour["hidden_fields"]
    assert behaviour["relabeling"]["login"] == "Username"


@pytest.mark.parametrize("field", sorted(SECRET_FIELDS | {"password"}))
def test_secret_fields_are_hidden_by_the_masker(field: str):
    from airflow._shared.secrets_masker import should_hide_value_for_key

    assert should_hide_value_for_key(field)


@pytest.mark.parametrize("field", sorted(PUBLIC_FIELDS))
def test_public_fields_stay_readable(field: str):
    from airflow._shared.secrets_masker import should_hide_value_for_key

    assert not should_hide_value_for_key(field)


def test_rest_api_response_redacts_every_secret():
    """The serializer the Airflow REST API uses for connections returns no key material."""
    from airflow.api_fastapi.core_api.datamodels.connections import ConnectionResponse

    extra = {
        "entity": "acme",
        "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPUBLICHOSTKEY",
        "partner_pgp_public_key": "-----BEGIN PGP PUBLIC KEY BLOCK-----",
        "ssh_private_key": "-----BEGIN OPENSSH PRIVATE KEY-----SECRET1",
        "ssh_private_key_passphrase": "SECRET2",
        "inbound_pgp_private_keys": "-----BEGIN PGP PRIVATE KEY BLOCK-----SECRET3",
    }
    response = ConnectionResponse.model_validate(
        {
            "conn_id": "partner",
            "conn_type": "actito_sftp",
            "description": None,
            "host": "h",
            "login": "u",
            "schema": None,
            "port": 22,
            "password": "SECRET4",
            "extra": json.dumps(extra),
            "team_name": None,
        }
    )
    dumped = response.model_dump_json()
    for secret in ("SECRET1", "SECRET2", "SECRET3", "SECRET4"):
        assert secret not in dumped
    returned = json.loads(response.extra or "{}")
    assert returned["host_key"] == extra["host_key"]
    assert returned["partner_pgp_public_key"] == extra["partner_pgp_public_key"]
