"""Airflow's own connection form (Admin > Connections) for ``actito_sftp`` in a real headless Chromium.

The form is Airflow 3.3's React ``FlexibleForm`` fed by ``conn-fields``: this checks what it really
renders from the schema (sections, labels, the required marker, masked key material with its link to
the Actito SFTP page, number bounds) and that saving it keeps the key material it never shows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.plugin.conftest import airflow_connections
from tests.support.browser import WAIT, Browser, by_id, click_found, css, screenshot, wait

SECRET_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nKEEP-ME-INTACT\n-----END OPENSSH PRIVATE KEY-----"
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKEEPMEASITIS"
EXTRA = {
    "entity": "acme",
    "display_name": "ACME",
    "host_key": HOST_KEY,
    "locations": {"inbound": "/in"},
    "ssh_private_key": SECRET_KEY,
    "connect_timeout": 30,
}


@pytest.fixture(scope="module")
def server(plugin_server: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The shared API server (``plugin_server``) with ``acme_form``, removed after the module."""
    conn = {"conn_type": "actito_sftp", "host": "sftp.acme.example", "port": 22, "login": "actito", "extra": EXTRA}
    with airflow_connections(plugin_server, {"acme_form": conn}):
        yield plugin_server


def _stored_extra(server: dict[str, Any]) -> dict[str, Any]:
    """The connection's extra as stored (decrypted), read in a process of the test's Airflow."""
    script = "from airflow.models import Connection; print(Connection.get_connection_from_secrets('acme_form').extra)"
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=server["stack"].env,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=True,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def _section(driver: Any, title: str) -> None:
    """Open a section of the form (an accordion item, collapsed at first)."""
    from selenium.webdriver.common.by import By

    trigger = driver.find_element(By.XPATH, f'//button[normalize-space(.)="{title}"]')
    if trigger.get_attribute("aria-expanded") != "true":
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", trigger)
        trigger.click()
    wait(driver).until(lambda d: trigger.get_attribute("aria-expanded") == "true")


def test_edit_form_renders_the_schema_and_keeps_key_material(server: dict[str, Any], browser: Browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = browser.log_in(server, "admin")
    driver.get(f"{server['url']}/connections")
    # acme_form's row: the shared server may hold other modules' connections
    edit = '//tr[td[normalize-space(.)="acme_form"]]//button[@aria-label="Edit Connection"]'
    click_found(driver, lambda d: d.find_elements(By.XPATH, edit)[0])
    wait(driver).until(lambda d: d.find_elements(By.XPATH, '//button[normalize-space(.)="General"]'))
    triggers = [button.text.strip() for button in css(driver, "button[aria-expanded]")]
    # one collapsed section per screen; Airflow 3.3 shows only the extras the connection holds when editing
    sections = ["General", "Server configuration", "Locations", "Keys (managed on the Actito SFTP page)"]
    assert triggers[triggers.index("Standard Fields") :] == [
        "Standard Fields",
        *sections,
        "Server configuration: advanced",
        "Extra Fields JSON",
    ]
    _section(driver, "General")
    entity = by_id(driver, "element_entity")
    assert entity.get_attribute("required") is not None  # the schema's type without "null"
    assert entity.get_attribute("placeholder")  # from the field's example ...
    suggestions = css(driver, f"datalist#{entity.get_attribute('list')} option")
    assert [option.get_attribute("value") for option in suggestions] == ["marketing"]  # ... offered as one
    _section(driver, "Keys (managed on the Actito SFTP page)")
    secret = by_id(driver, "element_ssh_private_key")
    assert (secret.get_attribute("type"), secret.get_attribute("value")) == ("password", "***")
    links = {a.get_attribute("href") for a in css(driver, "a") if a.text == "Actito SFTP page"}
    assert links == {f"{server['url']}/actito/#integrations"}
    assert "KEEP-ME-INTACT" not in driver.page_source
    _section(driver, "Server configuration: advanced")
    timeout = driver.find_element(By.CSS_SELECTOR, 'input[name="element_connect_timeout"]')
    assert (timeout.get_attribute("aria-valuemin"), timeout.get_attribute("aria-valuemax")) == ("1", "3600")
    timeout.send_keys(Keys.CONTROL, "a")
    timeout.send_keys("99999")
    timeout.send_keys(Keys.TAB)
    wait(driver, 5).until(lambda d: timeout.get_attribute("value") == "3600")  # clamped on blur
    screenshot(driver, "airflow-form-advanced.png")
    save = driver.find_element(By.XPATH, '//button[normalize-space(.)="Save"]')
    wait(driver, 5).until(lambda d: save.is_enabled())
    save.click()
    wait(driver).until(lambda d: not d.find_elements(By.XPATH, '//button[normalize-space(.)="Save"]'))  # closed
    stored = _stored_extra(server)
    assert stored["connect_timeout"] == 3600
    assert stored["ssh_private_key"] == SECRET_KEY  # '***' sent back, restored by Airflow's merge
    assert stored["host_key"] == HOST_KEY
    assert stored["locations"] == {"inbound": "/in"}
