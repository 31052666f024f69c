"""What the page offers follows the user's Airflow rights from the start, in a real (headless) Chromium.

A real Airflow API server with the plugin and the users of tests/plugin/conftest.py, and ``acme`` created
through the API on the real sshd of tests/conftest.py. A user who may not create connections is neither
offered "New integration" nor invited to create one; a reader sees no edit control on any tab of an
integration page; a viewer (who may not read connections) opening the page is told why in words (HTTP 403),
while the JSON API keeps answering JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from partner_sandbox.sshd import SshServer
from tests.plugin.conftest import module_integrations
from tests.support.browser import (
    DARK_SURFACE,
    WAIT,
    Browser,
    by_id,
    css,
    prefer_dark,
    show_tab,
    wait,
    wait_loaded,
)

CONN_ID = "acme"  # "acme_owner" may do everything with it, and create nothing
TABS = ("overview", "general", "server", "locations", "inbound", "outbound", "delete")
# a selector each tab shows once drawn (the Server configuration tab draws its key sections last)
DRAWN = {
    "overview": "#tab-overview[data-rendered]",
    "general": "#general",
    "server": "#server-host-key",
    "locations": "#tab-locations",
    "inbound": "#tab-inbound",
    "outbound": "#tab-outbound",
    "delete": "#delete",
}
# controls of a user who may edit the connection, one per kind of change (see the owner's test)
EDIT_CONTROLS = {
    "general": "#general-save",
    "server": "#server-save, #server-password, #repin-fetch, #ssh-rotate, #server-test",
    "locations": "#location-add-form",
    "inbound": "#inbound-pgp-required:not([disabled])",
    "outbound": "#partner-key-file, #outbound-lock-suffix-save",
    "delete": "#delete-button",
}
_BACKGROUND = "return getComputedStyle(document.querySelector(arguments[0])).backgroundColor"


@pytest.fixture(scope="module")
def server(sshd: SshServer, plugin_server: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The shared API server with ``acme``, created through the API."""
    with module_integrations(plugin_server, sshd, {CONN_ID: "ACME Rights"}):
        yield plugin_server


def _get(server: dict[str, Any], path: str, user: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server['tokens'][user]}"} if user else {}
    return httpx.get(f"{server['url']}/actito{path}", headers=headers, timeout=WAIT)


def _integrations(browser: Browser, server: dict[str, Any], user: str) -> Any:
    driver = browser.open(server, user, "#integrations")
    wait_loaded(driver, "integrations")
    return driver


def _open_tab(driver: Any, tab: str) -> Any:
    """Show one tab of the integration page; its panel once drawn."""
    show_tab(driver, tab, f'#integration-panel [data-panel="{tab}"] {DRAWN[tab]}')
    return by_id(driver, "integration-panel")


def test_the_rights_route_says_who_may_create(server):
    for user, create in (("admin", True), ("reader", False), ("newcomer", False), ("acme_owner", False)):
        answer = _get(server, "/api/rights", user)
        assert answer.status_code == 200, (user, answer.text)
        assert answer.json() == {"create": create}, user
    refused = _get(server, "/api/rights", "viewer")
    assert (refused.status_code, refused.json()) == (403, {"detail": "Forbidden"})
    assert _get(server, "/api/rights", None).status_code == 401


def test_the_button_is_hidden_until_the_rights_are_known(server):
    page = _get(server, "/", "admin")
    assert page.status_code == 200
    button = re.search(r'<button[^>]*id="new-integration"[^>]*>', page.text)
    assert button is not None
    assert re.search(r"\shidden[\s>]", button.group(0)), button.group(0)  # no flash before api/rights answers


def test_an_admin_is_offered_new_integration(server, browser):
    driver = _integrations(browser, server, "admin")
    assert css(driver, f'#integrations tr[data-conn-id="{CONN_ID}"]')
    assert by_id(driver, "new-integration").is_displayed()


@pytest.mark.parametrize("user", ["reader", "acme_owner"])
def test_users_who_may_not_create_are_not_offered_it(server, browser, user: str):
    driver = _integrations(browser, server, user)
    assert css(driver, f'#integrations tr[data-conn-id="{CONN_ID}"]')  # the list is there, readable
    assert not by_id(driver, "new-integration").is_displayed()
    assert "create one with" not in by_id(driver, "view-integrations").text


def test_a_newcomer_with_no_integration_is_not_invited_to_create_one(server, browser):
    driver = browser.open(server, "newcomer", "#overview")
    empty = by_id(driver, "overview-empty")
    wait(driver).until(lambda d: empty.text)
    assert empty.text.startswith("No integration is visible to you.")
    assert "administrator" in empty.text
    assert "create one with" not in empty.text
    driver.find_element("css selector", 'nav.tabs a[data-view="integrations"]').click()
    wait_loaded(driver, "integrations")
    rows = css(driver, "#integrations tbody tr")
    assert len(rows) == 1
    assert rows[0].text.startswith("No integration is visible to you.")
    assert "create one with" not in by_id(driver, "view-integrations").text
    assert not by_id(driver, "new-integration").is_displayed()


def test_opening_a_connection_the_user_may_not_read_says_so(server, browser):
    driver = browser.open(server, "newcomer", f"#integration/{CONN_ID}")  # reads only new_* connections
    loaded = "return document.getElementById('view-integration').dataset.loaded"
    wait(driver).until(lambda d: d.execute_script(loaded) == "error")
    error = by_id(driver, "integration-error").text
    assert error.startswith("Your Airflow role does not allow reading this connection")
    assert "create" not in error


def test_a_reader_sees_no_edit_control_on_any_tab(server, browser):
    driver = browser.open(server, "reader", f"#integration/{CONN_ID}")
    wait_loaded(driver, "integration")
    assert "permission" in by_id(driver, "integration-notice").text
    shown = [tab.get_attribute("data-tab") for tab in css(driver, "#integration-tabs [data-tab]")]
    assert tuple(shown) == TABS
    for tab in TABS:
        panel = _open_tab(driver, tab)
        assert not css(driver, ", ".join(EDIT_CONTROLS.values())), tab
        assert not panel.find_elements("css selector", "button"), tab  # no action at all: keys are links
        fields = "input:not([disabled]), select:not([disabled]), textarea:not([readonly])"
        assert not panel.find_elements("css selector", fields), tab
        for invitation in ("add the folders", "generate one"):  # nothing invites what the reader may not do
            assert invitation not in panel.text, (tab, invitation)


def test_the_owner_of_the_connection_gets_its_controls(server, browser):
    """The same controls for a user who may edit ``acme`` (and create nothing): the reader's test can fail."""
    driver = browser.open(server, "acme_owner", f"#integration/{CONN_ID}")
    wait_loaded(driver, "integration")
    assert not by_id(driver, "integration-notice").is_displayed()
    for tab, controls in EDIT_CONTROLS.items():
        _open_tab(driver, tab)
        for control in controls.split(", "):
            assert css(driver, control), (tab, control)


def test_a_viewer_is_told_in_words_that_the_role_may_not_read_connections(server, browser):
    page = _get(server, "/", "viewer")
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert "does not allow reading connections" in page.text
    api = _get(server, "/api/connections", "viewer")  # the JSON API keeps its JSON refusal
    assert (api.status_code, api.json()) == (403, {"detail": "Forbidden"})
    assert _get(server, "/", None).status_code == 401  # not logged in: Airflow's own answer, unchanged

    driver = browser.open(server, "viewer")
    wait(driver).until(lambda d: css(d, "#access-denied"))
    text = by_id(driver, "access-denied").text
    assert "Access Denied" in text
    assert "Your Airflow role does not allow reading connections" in text
    assert "Ask your Airflow administrator" in text
    assert '"detail"' not in driver.page_source
    wait(driver).until(lambda d: d.execute_script(_BACKGROUND, "body") == "rgb(255, 255, 255)")  # light --bg
    prefer_dark(driver)
    wait(driver).until(lambda d: d.execute_script(_BACKGROUND, "#access-denied") == DARK_SURFACE)  # the dark --surface
