"""What a connection field is: how a stored value is read and checked, and the form's link and path rule."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.connection.field import (
    LOCATION_PATH_PATTERN,
    PAGE_LINK,
    Field,
    Kind,
    Screen,
    check_length,
)
from airflow_provider_actito_sftp.connection.schema import BY_NAME
from airflow_provider_actito_sftp.connection.settings import parse_locations
from airflow_provider_actito_sftp.exceptions import ConnectionConfigError
from tests.support.import_graph import parse_source


def test_page_link_is_the_plugins_page():
    """The form's Markdown link is relative to Airflow's <base href>: the plugin's URL prefix."""
    source = (Path(__file__).parents[2] / "airflow_provider_actito_sftp" / "plugin" / "__init__.py").read_text()
    prefix = next(
        node.value.value
        for node in parse_source(source).body
        if isinstance(node, ast.Assign)
        and getattr(node.targets[0], "id", None) == "URL_PREFIX"
        and isinstance(node.value, ast.Constant)
    )
    assert PAGE_LINK.startswith(prefix.strip("/") + "/#")


@pytest.mark.parametrize(
    "path", ["/in", "/", "/a/b.c/d", "/a..b", "relative", "/a/../b", "/..", "/a/..", "../a", "/a\x00b"]
)
def test_location_path_pattern_is_the_parsers_rule(path: str):
    try:
        parse_locations("c", {"name": path})
        accepted = True
    except ConnectionConfigError:
        accepted = False
    assert bool(re.search(LOCATION_PATH_PATTERN, path)) is accepted


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


def test_a_choice_outside_its_list_names_the_choices() -> None:
    with pytest.raises(ConnectionConfigError, match=r"expected 'ssh_key', 'password' or 'ssh_key_and_password'"):
        BY_NAME["auth_type"].read("c", "kerberos")


def test_a_list_with_choices_refuses_other_words() -> None:
    assert BY_NAME["legacy_algorithms"].read("c", "cbc, ssh-rsa") == ("cbc", "ssh-rsa")
    with pytest.raises(ConnectionConfigError, match="legacy_algorithms"):
        BY_NAME["legacy_algorithms"].read("c", "cbc, arcfour")


def test_a_text_longer_than_its_limit_is_refused_with_both_lengths() -> None:
    field = Field("name", "Name", "help", Screen.GENERAL, Kind.TEXT, max_length=3)
    with pytest.raises(ConnectionConfigError, match="is 4 characters long; at most 3 are allowed"):
        check_length(field, "c", "four")
