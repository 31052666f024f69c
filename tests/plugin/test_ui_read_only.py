"""A connection defined in an environment variable, on the integration page in a real (headless) Chromium.

It is read only: an admin changes values and downloads the updated connection JSON (no secret in it, none
sent to the browser); a reader sees no such control. A real Airflow API server with the plugin, the
connection in its environment, pinned to the real sshd of tests/conftest.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_actito_sftp.ssh.keys import generate_ssh_key
from partner_sandbox.sshd import SshServer
from tests.plugin.conftest import plugin_stack, serve
from tests.support.browser import (
    Browser,
    by_id,
    click,
    connection_of,
    css,
    downloaded,
    has,
    show_tab,
    type_into,
    wait,
    wait_loaded,
)

CONN_ID = "env_page"
PASSWORD = "env-page-password-never-in-a-browser"  # a test secret that must never be shown
SSH_KEY = generate_ssh_key(comment="env-page")


@pytest.fixture(scope="module")
def server(sshd: SshServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """An API server with the plugin and ``env_page`` defined in its environment only (SSH key + password)."""
    base = tmp_path_factory.mktemp("ui_read_only")
    (base / "dags").mkdir()
    stack = plugin_stack(base / "airflow", base / "dags")
    extra = {
        "entity": "acme",
        "display_name": "Env Page",
        "auth_type": "ssh_key",
        "host_key": sshd.host_key_line,
        "locations": {"inbound": "/in"},
        "ssh_private_key": SSH_KEY.private_key,
    }
    columns = {"conn_type": "actito_sftp", "host": sshd.host, "port": sshd.port, "login": "u", "password": PASSWORD}
    stack.env[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps({**columns, "extra": extra})
    served = serve(stack)
    try:
        yield {**served, "sshd": sshd}
    finally:
        stack.stop()


def _open(browser: Browser, server: dict[str, Any], user: str) -> Any:
    """The page of ``env_page`` as ``user``, once loaded."""
    driver = browser.open(server, user, f"#integration/{CONN_ID}")
    wait_loaded(driver, "integration")
    return driver


def _tab(driver: Any, tab: str, marker: str) -> None:
    show_tab(driver, tab, f"#{marker}")


def _assert_no_secret(text: str) -> None:
    assert PASSWORD not in text
    assert "PRIVATE KEY" not in text
    assert not any(line in text for line in SSH_KEY.private_key.splitlines() if not line.startswith("-----"))


def _display_name(server: dict[str, Any]) -> str:
    return str(connection_of(server, CONN_ID)["display_name"])


def test_an_editor_downloads_the_updated_connection_json(server, browser):
    driver = _open(browser, server, "admin")
    notice = by_id(driver, "integration-notice").text
    assert "environment variable" in notice
    assert "updated connection JSON" in notice
    _tab(driver, "general", "general-display_name")
    assert by_id(driver, "general-display_name").is_enabled()
    assert not has(driver, "general-save")
    type_into(driver, "general-display_name", "Env Page Renamed")
    click(driver, "general-export")
    wait(driver).until(lambda d: by_id(d, "general-export-status").text)
    text = downloaded(browser.downloads / f"{CONN_ID}.connection.json")
    _assert_no_secret(text)
    exported = json.loads(text)
    assert exported["extra"]["display_name"] == "Env Page Renamed"
    assert (exported["conn_type"], exported["host"], exported["port"]) == (
        "actito_sftp",
        server["sshd"].host,
        server["sshd"].port,
    )
    assert "password" not in exported
    assert "ssh_private_key" not in exported["extra"]
    assert "password, ssh_private_key" in by_id(driver, "general-export-secrets").text
    assert "--display-name 'Env Page Renamed'" in by_id(driver, "general-export-cli").text
    _assert_no_secret(driver.page_source)
    assert _display_name(server) == "Env Page"  # nothing saved on the server

    _tab(driver, "server", "server-connect_timeout")
    assert "CLI" in by_id(driver, "server-key-actions-note").text
    for control in ("server-save", "server-password", "ssh-rotate", "repin-fetch", "server-test"):
        assert not has(driver, control), control
    type_into(driver, "server-port", "0")
    click(driver, "server-export")
    wait(driver).until(lambda d: by_id(d, "err-port").text or by_id(d, "server-error").text)
    assert "400" not in by_id(driver, "err-port").text + by_id(driver, "server-error").text
    type_into(driver, "server-port", str(server["sshd"].port))
    type_into(driver, "server-connect_timeout", "45")
    click(driver, "server-export")
    wait(driver).until(lambda d: has(d, "server-export-cli") and by_id(d, "server-export-cli").text)
    assert "--connect-timeout 45" in by_id(driver, "server-export-cli").text
    assert not by_id(driver, "err-port").text


def test_it_is_opened_by_its_technical_name_from_the_list(server, browser):
    driver = _open(browser, server, "admin")
    driver.get(f"{server['url']}/actito/#integrations")
    wait_loaded(driver, "integrations")
    assert not css(driver, f'#integrations tr[data-conn-id="{CONN_ID}"]')  # Airflow cannot list it
    type_into(driver, "open-conn-id", CONN_ID)
    click(driver, "open-conn")
    wait(driver).until(lambda d: by_id(d, "integration-title").text == "Env Page")
    wait_loaded(driver, "integration")
    assert "Read only" in by_id(driver, "integration-notice").text


def test_a_reader_gets_no_download_button(server, browser):
    driver = _open(browser, server, "reader")
    _tab(driver, "general", "general-display_name")
    assert not by_id(driver, "general-display_name").is_enabled()
    assert not has(driver, "general-export")
    _tab(driver, "server", "server-connect_timeout")
    assert not by_id(driver, "server-connect_timeout").is_enabled()
    assert not has(driver, "server-export")
    refused = driver.execute_async_script(_EXPORT_AS_PAGE, f"api/connections/{CONN_ID}/connection-json")
    assert refused == 403


_EXPORT_AS_PAGE = """
const [path, done] = arguments;
fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
  body: JSON.stringify({values: {display_name: "Reader"}})}).then((r) => done(r.status));
"""
