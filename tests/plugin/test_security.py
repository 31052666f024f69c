"""The plugin's origin check, by the origins it compares (its routes' rights: tests/plugin/test_plugin.py and
test_config_api.py, on a real API server)."""

from __future__ import annotations

import pytest

from airflow_provider_actito_sftp.plugin.security import origin_of


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://airflow.example.com", "https://airflow.example.com"),
        ("https://airflow.example.com:443/actito/", "https://airflow.example.com"),  # default port, path dropped
        ("HTTP://Airflow.Example.com:80", "http://airflow.example.com"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("https://airflow.example.com:8443", "https://airflow.example.com:8443"),
    ],
)
def test_an_origin_is_its_scheme_host_and_port(url: str, origin: str) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize("url", ["null", "", "file:///etc/passwd", "https://", "http://host:99999", "javascript:x"])
def test_what_is_no_origin_matches_none(url: str) -> None:
    assert origin_of(url) is None
