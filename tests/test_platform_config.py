"""The provider's options in Airflow's configuration: declared once, read with their defaults, bad values named."""

from __future__ import annotations

import pytest

from airflow_provider_actito_sftp.exceptions import PlatformConfigError
from airflow_provider_actito_sftp.platform_config import OPTIONS, option_int, option_text, provider_config


def test_every_option_is_declared_for_airflow_with_its_default():
    declared = provider_config()["actito_sftp"]["options"]
    assert list(declared) == [option.name for option in OPTIONS]
    assert {name: option["default"] for name, option in declared.items()} == {
        "allowed_targets": "",
        "interactive_timeout": "15",
        "interactive_calls": "8",
        "interactive_calls_per_user": "2",
    }
    assert all(option["description"] and option["type"] in ("string", "integer") for option in declared.values())


def test_values_come_from_airflows_configuration(monkeypatch: pytest.MonkeyPatch):
    assert option_int("interactive_timeout") == 15
    monkeypatch.setenv("AIRFLOW__ACTITO_SFTP__INTERACTIVE_TIMEOUT", "40")
    monkeypatch.setenv("AIRFLOW__ACTITO_SFTP__ALLOWED_TARGETS", "*.partner.example")
    assert option_int("interactive_timeout") == 40
    assert option_text("allowed_targets") == "*.partner.example"


@pytest.mark.parametrize("value", ["soon", "0", "-3", "1.5"])
def test_a_number_that_is_not_one_is_named(monkeypatch: pytest.MonkeyPatch, value: str):
    monkeypatch.setenv("AIRFLOW__ACTITO_SFTP__INTERACTIVE_CALLS", value)
    with pytest.raises(PlatformConfigError, match=r"\[actito_sftp\] interactive_calls: expected a whole number"):
        option_int("interactive_calls")


def test_the_readme_lists_every_option_as_declared():
    from pathlib import Path

    from airflow_provider_actito_sftp.platform_config import markdown_table

    text = (Path(__file__).parents[1] / "README.md").read_text()
    table = text.split("<!-- platform-options:", 1)[1].split("-->", 1)[1].split("<!-- /platform-options -->")[0]
    assert table.strip() == markdown_table()
