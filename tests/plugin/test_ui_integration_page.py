"""The integration page's General, Server configuration and Delete tabs in a real (headless) Chromium.

A real Airflow API server with the plugin and the real sshd of tests/conftest.py as the partner's server.
Screenshots go under docs/screenshots/ only with UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from partner_sandbox.sshd import SshServer
from tests.cli.support import fingerprint_of
from tests.plugin.conftest import module_integrations
from tests.support.browser import (
    Browser,
    by_id,
    call_api,
    click,
    connection_of,
    css,
    has,
    screenshot,
    show_tab,
    type_into,
    wait,
    wait_loaded,
)

CONN_ID = "acme_page"


@pytest.fixture(scope="module")
def server(sshd: SshServer, plugin_server: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The shared API server with ``acme_page``, created through the API, its SSH key installed."""
    with module_integrations(plugin_server, sshd, {CONN_ID: "ACME Page"}):
        yield {**plugin_server, "sshd": sshd}


def _open(browser: Browser, server: dict[str, Any], user: str) -> Any:
    """The page of ``acme_page`` as ``user``, opened from its row in the Integrations list."""
    driver = browser.open(server, user, "#integrations")
    link = wait(driver).until(lambda d: css(d, f'#integrations tr[data-conn-id="{CONN_ID}"] a'))[0]
    link.click()
    wait_loaded(driver, "integration")
    return driver


def _connection(server: dict[str, Any]) -> dict[str, Any]:
    return connection_of(server, CONN_ID)


def _tab(driver: Any, tab: str, marker: str) -> None:
    show_tab(driver, tab, f"#{marker}")


def test_general_and_server_tabs_change_the_connection(server, browser):
    driver = _open(browser, server, "admin")
    assert by_id(driver, "integration-conn-id").text == CONN_ID
    assert by_id(driver, "integration-entity").text == "acme"
    tabs = [tab.text for tab in css(driver, "#integration-tabs button")]
    assert tabs == ["Overview", "General", "Server configuration", "Locations", "Inbound", "Outbound", "Delete"]
    _tab(driver, "general", "general-display_name")
    row_id = _connection(server)["id"]
    assert isinstance(row_id, int)
    assert by_id(driver, "general-id").text == str(row_id)  # the metadata DB row's id, as the reference shows
    type_into(driver, "general-display_name", "ACME Renamed")
    screenshot(driver, "integration-general.png")
    click(driver, "general-save")
    wait(driver).until(lambda d: has(d, "integration-saved"))
    saved = by_id(driver, "integration-saved")  # a success looks like one: not the warning colours of .notice
    assert ("success" in saved.get_attribute("class").split(), saved.get_attribute("role")) == (True, "status")
    assert by_id(driver, "integration-title").text == "ACME Renamed"
    assert _connection(server)["display_name"] == "ACME Renamed"

    _tab(driver, "server", "server-connect_timeout")
    type_into(driver, "server-connect_timeout", "45")
    click(driver, "server-save")
    wait(driver).until(lambda d: has(d, "integration-saved"))
    assert _connection(server)["connect_timeout"] == 45
    assert by_id(driver, "server-connect_timeout").get_attribute("value") == "45"
    type_into(driver, "server-port", "0")
    click(driver, "server-save")
    wait(driver).until(lambda d: by_id(d, "err-port").text or by_id(d, "server-error").text)
    assert "400" not in by_id(driver, "err-port").text + by_id(driver, "server-error").text
    assert _connection(server)["port"] == server["sshd"].port

    pinned = _connection(server)["host_key"]
    click(driver, "repin-fetch")
    shown = wait(driver).until(lambda d: has(d, "repin-fingerprint") and by_id(d, "repin-fingerprint").text)
    assert [shown] == pinned
    type_into(driver, "repin-expected", "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    click(driver, "repin-confirm")
    wait(driver).until(lambda d: by_id(d, "err-expected_fingerprint").text or by_id(d, "repin-error").text)
    type_into(driver, "repin-expected", shown)
    click(driver, "repin-confirm")
    wait(driver).until(lambda d: has(d, "integration-saved") and shown in by_id(d, "integration-saved").text)
    assert _connection(server)["host_key"] == pinned

    click(driver, "server-test")
    wait(driver).until(lambda d: by_id(d, "test-results").get_attribute("data-ok"))
    lines = [line.text for line in css(driver, "#test-results li")]
    assert lines
    assert all(line.startswith("✓") for line in lines), lines
    assert by_id(driver, "test-results").get_attribute("data-ok") == "true"
    screenshot(driver, "integration-server.png")


def test_ssh_key_rotation(server, browser):
    driver = _open(browser, server, "admin")
    _tab(driver, "server", "ssh-rotate")
    old = _connection(server)["ssh_key"]["fingerprint"]
    click(driver, "ssh-rotate")
    wait(driver).until(lambda d: has(d, "ssh-pending-key"))
    pending = _connection(server)["ssh_pending_key"]
    assert by_id(driver, "ssh-pending-key").get_attribute("value") == pending["public_key"]
    click(driver, "ssh-activate")
    wait(driver).until(lambda d: by_id(d, "ssh-error").text)
    assert "does not accept the pending key yet" in by_id(driver, "ssh-error").text
    assert _connection(server)["ssh_key"]["fingerprint"] == old

    server["sshd"].add_authorized_key(pending["public_key"])
    click(driver, "ssh-activate")
    wait(driver).until(lambda d: not has(d, "ssh-pending") and has(d, "integration-saved"))
    after = _connection(server)
    assert after["ssh_key"]["fingerprint"] == pending["fingerprint"]
    assert after["ssh_pending_key"] is None


def test_a_reader_is_told_and_sees_no_edit_controls(server, browser):
    before = _connection(server)
    driver = _open(browser, server, "reader")
    assert "permission" in by_id(driver, "integration-notice").text  # told at once, before any attempt
    _tab(driver, "general", "general-display_name")
    assert not has(driver, "general-save")
    assert not by_id(driver, "general-display_name").is_enabled()
    _tab(driver, "server", "server-host")
    for control in ("server-save", "ssh-rotate", "repin-fetch", "server-test"):
        assert not has(driver, control), control
    # our public key, both forms, is for anyone who may read the connection (OpenSSH line, ProFTPD's RFC 4716)
    for element_id, file_name, query in (
        ("ssh-download", f"{CONN_ID}.pub", ""),
        ("ssh-download-rfc4716", f"{CONN_ID}.rfc4716.pub", "?format=rfc4716"),
    ):
        link = by_id(driver, element_id)
        assert link.get_attribute("download") == file_name
        assert link.get_attribute("href").endswith(f"/ssh-public-key{query}")
    _tab(driver, "delete", "delete")
    assert not has(driver, "delete-button")
    refused = driver.execute_async_script(_PATCH_AS_PAGE, f"api/connections/{CONN_ID}")
    assert refused == 403  # the API refuses the reader's change too, whatever the page shows
    assert _connection(server) == before


_PATCH_AS_PAGE = """
const [path, done] = arguments;
fetch(path, {method: "PATCH", headers: {"Content-Type": "application/json"},
  body: JSON.stringify({values: {display_name: "Reader Was Here"}})}).then((r) => done(r.status));
"""


def test_moving_a_password_integration_asks_for_the_password_again(server, browser, impostor_sshd: SshServer):
    sshd = server["sshd"]
    values = {"entity": "acme", "host": sshd.host, "port": sshd.port, "username": "u", "auth_type": "password"}
    body = {"conn_id": "acme_password", "values": {**values, "password": "pw-typed-once"}}
    created = call_api(server, "POST", "/api/connections", {**body, "host_key": {"trust_on_first_use": True}})
    assert created.status_code == 201, created.text
    driver = _open(browser, server, "admin")
    driver.get(f"{server['url']}/actito/#integration/acme_password")
    wait(driver).until(lambda d: by_id(d, "integration-conn-id").text == "acme_password")
    wait_loaded(driver, "integration")
    _tab(driver, "server", "server-port")
    type_into(driver, "server-port", str(impostor_sshd.port))  # the partner's server moved
    click(driver, "server-save")
    wait(driver).until(lambda d: by_id(d, "err-password").text)
    assert "enter the password again" in by_id(driver, "err-password").text
    assert call_api(server, "GET", "/api/connections/acme_password").json()["port"] == sshd.port
    type_into(driver, "server-password", "pw-typed-once")
    click(driver, "server-save")
    wait(driver).until(lambda d: has(d, "integration-saved"))
    assert call_api(server, "GET", "/api/connections/acme_password").json()["port"] == impostor_sshd.port

    click(driver, "repin-fetch")  # ... with another host key: pinning it needs the password too
    wait(driver).until(lambda d: has(d, "repin-password"))
    click(driver, "repin-tofu")
    click(driver, "repin-confirm")
    wait(driver).until(lambda d: css(d, "#server-host-key #err-password")[0].text)
    assert "enter the password again" in css(driver, "#server-host-key #err-password")[0].text
    type_into(driver, "repin-password", "pw-typed-once")
    click(driver, "repin-confirm")
    wait(driver).until(lambda d: has(d, "integration-saved") and "pinned" in by_id(d, "integration-saved").text)
    shown = call_api(server, "GET", "/api/connections/acme_password").json()
    assert shown["host_key"] == [fingerprint_of(impostor_sshd.host_key_line)]
    assert call_api(server, "DELETE", "/api/connections/acme_password", {"confirm": "acme_password"}).status_code == 200


def test_zz_delete_the_integration(server, browser):
    driver = _open(browser, server, "admin")
    _tab(driver, "delete", "delete-confirm")
    type_into(driver, "delete-confirm", "acme_wrong")
    assert not by_id(driver, "delete-button").is_enabled()
    type_into(driver, "delete-confirm", CONN_ID)
    wait(driver).until(lambda d: by_id(d, "delete-button").is_enabled())
    screenshot(driver, "integration-delete.png")
    click(driver, "delete-button")
    wait(driver).until(lambda d: by_id(d, "view-integrations").is_displayed())
    summary = by_id(driver, "integrations-notice").text
    assert f"Deleted {CONN_ID}" in summary
    assert "SSH key" in summary
    assert call_api(server, "GET", f"/api/connections/{CONN_ID}").status_code == 404
