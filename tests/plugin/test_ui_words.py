"""The page speaks its own words, in a real (headless) Chromium against a real Airflow API server.

Field errors name the label the user sees, not the schema key; refusals give the page's buttons, not the
command line's flags; the authentication type reads "SSH key"; a fingerprint is accepted as partners
write it (without "SHA256:", with blanks); switching to SSH key authentication says the password was removed.
The real sshd of tests/conftest.py is the partner's server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from partner_sandbox.sshd import SshServer
from tests.cli.support import fingerprint_of
from tests.plugin.conftest import module_integrations
from tests.support.browser import (
    WAIT,
    Browser,
    by_id,
    call_api,
    click,
    connection_of,
    css,
    show_tab,
    type_into,
    wait,
    wait_loaded,
)

PAGE = "words_page"  # SSH key authentication, our key installed on the sshd
NO_KEY = "words_no_key"  # SSH key authentication, our key not installed: the server refuses it
PASSWORD = "words_password"  # password authentication
WIZARD = "words_wizard"  # created in the wizard
_TEXT = "return document.body.innerText"


def _create(server: dict[str, Any], sshd: SshServer, conn_id: str, values: dict[str, Any]) -> None:
    """Create an integration on ``sshd`` through the API, without installing its SSH key."""
    base = {"entity": "acme", "host": sshd.host, "port": sshd.port, "username": sshd.user.name}
    body = {"conn_id": conn_id, "values": {**base, **values}, "host_key": {"trust_on_first_use": True}}
    created = call_api(server, "POST", "/api/connections", body)
    assert created.status_code == 201, created.text


@pytest.fixture(scope="module")
def server(sshd: SshServer, plugin_server: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The shared API server with ``words_page``, ``words_no_key`` and ``words_password`` (deleted after, and
    ``words_wizard`` too)."""
    with module_integrations(plugin_server, sshd, {PAGE: "Words Page"}):
        try:
            _create(plugin_server, sshd, NO_KEY, {})
            _create(plugin_server, sshd, PASSWORD, {"auth_type": "password", "password": "pw-words-once"})
            yield {**plugin_server, "sshd": sshd}
        finally:
            for conn_id in (NO_KEY, PASSWORD, WIZARD):
                call_api(plugin_server, "DELETE", f"/api/connections/{conn_id}", {"confirm": conn_id})


@pytest.fixture
def driver(server: dict[str, Any], browser: Browser) -> Any:
    """The shared Chromium logged in as admin."""
    return browser.log_in(server, "admin")


def _open_tab(driver: Any, server: dict[str, Any], conn_id: str, tab: str, marker: str) -> None:
    """Open an integration's page on one tab and wait until ``#marker`` is drawn."""
    driver.get(f"{server['url']}/actito/#integration/{conn_id}")
    wait(driver).until(lambda d: by_id(d, "integration-conn-id").text == conn_id)
    wait_loaded(driver, "integration")
    show_tab(driver, tab, f"#{marker}")


def _airflow_has_password(server: dict[str, Any], conn_id: str) -> bool:
    """Whether Airflow's own connection API shows a stored password (redacted; never printed)."""
    headers = {"Authorization": f"Bearer {server['tokens']['admin']}"}
    response = httpx.get(f"{server['url']}/api/v2/connections/{conn_id}", headers=headers, timeout=WAIT)
    assert response.status_code == 200, response.status_code
    return bool(response.json()["password"])


def _step(driver: Any) -> str:
    return str(by_id(driver, "wizard").get_attribute("data-step"))


def _open_wizard(driver: Any, server: dict[str, Any]) -> None:
    driver.get(f"{server['url']}/actito/#integrations")
    wait_loaded(driver, "integrations")
    click(driver, "new-integration")
    wait(driver).until(lambda d: by_id(d, "wizard").get_attribute("open") is not None and _step(d) == "1")


def test_a_field_error_names_the_label_the_page_shows(server, driver):
    _open_tab(driver, server, PAGE, "outbound", "outbound-lock-suffix")
    type_into(driver, "outbound-lock-suffix", "in/flight")
    click(driver, "outbound-lock-suffix-save")
    shown = wait(driver).until(lambda d: by_id(d, "outbound-lock-suffix-error").text)
    assert shown.startswith("Lock suffix: "), shown
    assert "outbound_lock_suffix" not in shown
    assert "field '" not in shown
    assert connection_of(server, PAGE)["outbound_lock_suffix"] != "in/flight"


def test_a_refusal_names_the_pages_button_not_a_command(server, driver):
    """The server refuses our key: the Test says how to install it with the page's button, not a command."""
    _open_tab(driver, server, NO_KEY, "server", "server-test")
    click(driver, "server-test")
    wait(driver).until(lambda d: by_id(d, "test-results").get_attribute("data-ok"))
    assert by_id(driver, "test-results").get_attribute("data-ok") == "false"
    refused = [item.text for item in css(driver, "#test-results li") if "authentication:" in item.text]
    assert len(refused) == 1, [item.text for item in css(driver, "#test-results li")]
    assert "refused SSH key authentication" in refused[0]
    assert "“Download for ProFTPD (RFC 4716)” on the Server configuration tab" in refused[0]
    assert "--" not in refused[0]
    assert "actito-sftp" not in driver.execute_script(_TEXT)


def test_the_wizard_reads_a_fingerprint_as_partners_write_it(server, driver):
    sshd = server["sshd"]
    fingerprint = fingerprint_of(sshd.host_key_line)
    assert fingerprint.startswith("SHA256:")
    bare = fingerprint.removeprefix("SHA256:")
    _open_wizard(driver, server)
    fields = {"f-conn_id": WIZARD, "f-entity": "acme", "f-host": sshd.host, "f-port": str(sshd.port)}
    for element_id, text in {**fields, "f-username": sshd.user.name}.items():
        type_into(driver, element_id, text)
    click(driver, "wizard-next")
    wait(driver).until(lambda d: _step(d) == "2")
    assert by_id(driver, "host-fingerprint").text == fingerprint

    type_into(driver, "expected-fingerprint", " " + "A" * 20 + " " + "A" * 23)  # no prefix either, but wrong
    click(driver, "wizard-next")
    refusal = wait(driver).until(lambda d: by_id(d, "expected-fingerprint-error").text)
    assert "mismatch" in refusal, refusal
    assert by_id(driver, "expected-fingerprint-error").is_displayed()
    assert _step(driver) == "2"
    assert call_api(server, "GET", f"/api/connections/{WIZARD}").status_code == 404

    type_into(driver, "expected-fingerprint", f"  {bare[:10]} {bare[10:]} ")  # as a partner may paste it
    click(driver, "wizard-next")
    wait(driver).until(lambda d: _step(d) == "3" or by_id(d, "expected-fingerprint-error").text)
    assert _step(driver) == "3", by_id(driver, "expected-fingerprint-error").text
    assert by_id(driver, "created-host-key").text == fingerprint
    assert connection_of(server, WIZARD)["host_key"] == [fingerprint]


def test_the_authentication_type_reads_ssh_key(server, driver):
    driver.get(f"{server['url']}/actito/#integrations")
    wait_loaded(driver, "integrations")
    cells = {  # the Authentication column of each of our rows
        conn_id: wait(driver).until(lambda d, c=conn_id: css(d, f'#integrations tr[data-conn-id="{c}"] td'))[5].text
        for conn_id in (PAGE, PASSWORD)
    }
    assert cells == {PAGE: "SSH key", PASSWORD: "Password"}
    assert "ssh_key" not in driver.execute_script(_TEXT)

    click(driver, "new-integration")
    wait(driver).until(lambda d: _step(d) == "1" and css(d, 'input[name="auth_type"]'))
    choices = [label.text for label in css(driver, "#field-auth_type .choices label")]
    assert choices == ["SSH key (recommended)", "Password", "SSH key and password"]
    assert "ssh_key" not in driver.execute_script(_TEXT)
    click(driver, "wizard-cancel")
    wait(driver).until(lambda d: by_id(d, "wizard").get_attribute("open") is None)

    _open_tab(driver, server, PAGE, "server", "server-auth_type")
    from selenium.webdriver.support.select import Select

    chosen = Select(by_id(driver, "server-auth_type"))
    assert chosen.first_selected_option.text == "SSH key"
    assert [option.text for option in chosen.options] == ["SSH key", "Password", "SSH key and password"]
    assert "ssh_key" not in driver.execute_script(_TEXT)


def test_switching_to_ssh_key_says_the_password_was_removed(server, driver):
    before = connection_of(server, PASSWORD)
    assert (before["auth_type"], "password" in before["secrets_set"]) == ("password", True)
    assert _airflow_has_password(server, PASSWORD)
    _open_tab(driver, server, PASSWORD, "server", "server-auth_type")
    from selenium.webdriver.support.select import Select

    Select(by_id(driver, "server-auth_type")).select_by_value("ssh_key")
    click(driver, "server-save")
    wait(driver).until(lambda d: css(d, "#integration-saved"))
    notice = by_id(driver, "integration-saved")
    assert {"notice", "success"} <= set(notice.get_attribute("class").split())
    assert "The password was removed" in notice.text, notice.text

    after = connection_of(server, PASSWORD)
    assert after["auth_type"] == "ssh_key"
    assert after["ssh_key"]["public_key"].startswith("ssh-ed25519 ")
    assert "password" not in after["secrets_set"]
    assert not _airflow_has_password(server, PASSWORD)
    wait(driver).until(lambda d: css(d, "#ssh-active-key"))  # the tab redrawn for SSH key authentication
    assert by_id(driver, "ssh-active-key").get_attribute("value") == after["ssh_key"]["public_key"]
    assert Select(by_id(driver, "server-auth_type")).first_selected_option.text == "SSH key"
