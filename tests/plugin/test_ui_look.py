"""The plugin page looks like Airflow's own pages (issue 23), in a real (headless) Chromium, light and dark.

A real Airflow API server with the plugin; Airflow's own colours and font are read from its running UI (the Chakra
UI tokens on its page) and compared with the computed styles of ours. Screenshots of every view and tab in both
themes (``look-<view>-<theme>.png``) go under docs/screenshots/ only with UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from partner_sandbox.sshd import SshServer
from tests.plugin.conftest import module_integrations
from tests.support.browser import by_id, click, css, screenshot, wait, wait_loaded

THEMES = ("light", "dark")
# Airflow's Chakra UI tokens the page follows, read from Airflow's own page in the same browser.
TOKENS = {
    "bg": "--chakra-colors-bg",
    "primary": "--chakra-colors-brand-solid",
    "danger": "--chakra-colors-danger-solid",
    "border": "--chakra-colors-border",
}
# The integration page's tabs (integration.js ORDER) and an element each draws once shown.
TABS = {
    "overview": "tab-overview",
    "general": "general-display_name",
    "server": "server-connect_timeout",
    "locations": "tab-locations",
    "inbound": "tab-inbound",
    "outbound": "tab-outbound",
    "delete": "delete-confirm",
}


@pytest.fixture(scope="module")
def server(sshd: SshServer, plugin_server: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The shared API server with two integrations, created through the API."""
    with module_integrations(plugin_server, sshd, {"acme_look": "Zeta Look", "beta_look": "Alpha Look"}):
        yield plugin_server


def _airflow_tokens(driver: Any, server: dict[str, Any], theme: str) -> dict[str, str]:
    """Airflow's own token values in ``theme`` and its body's font, from its running UI (the theme set as its
    toggle does)."""
    driver.get(f"{server['url']}/connections")
    driver.execute_script("localStorage.setItem('theme', arguments[0]);", theme)
    driver.refresh()
    read = "const s = getComputedStyle(document.documentElement); return s.getPropertyValue(arguments[0]).trim();"
    wait(driver).until(
        lambda d: d.execute_script("return document.documentElement.classList.contains(arguments[0])", theme)
    )
    wait(driver).until(lambda d: d.execute_script(read, TOKENS["bg"]))
    tokens = {name: str(driver.execute_script(read, token)) for name, token in TOKENS.items()}
    return {**tokens, "font": str(driver.execute_script("return getComputedStyle(document.body).fontFamily"))}


# A colour as this browser computes it, to compare a token (e.g. "oklch(...)", "#FFFFFF") with a computed style.
_AS_COMPUTED = """
const probe = document.createElement("div");
probe.style.backgroundColor = arguments[0];
document.body.append(probe);
const value = getComputedStyle(probe).backgroundColor;
probe.remove();
return value;
"""


def _style(driver: Any, selector: str, prop: str) -> str:
    return str(
        driver.execute_script(
            "return getComputedStyle(document.querySelector(arguments[0]))[arguments[1]];", selector, prop
        )
    )


def _open(driver: Any, server: dict[str, Any], route: str, theme: str) -> None:
    """Open the plugin page on its own at ``#route`` in ``theme`` (stored as Airflow's toggle stores it)."""
    driver.get(f"{server['url']}/actito/#{route}")
    driver.execute_script("localStorage.setItem('theme', arguments[0]);", theme)
    driver.refresh()
    wait(driver).until(lambda d: d.execute_script("return document.documentElement.dataset.theme") == theme)


def _integration_rows(driver: Any) -> list[str]:
    return [str(row.get_attribute("data-conn-id")) for row in css(driver, "#integrations tbody tr")]


@pytest.mark.parametrize("theme", THEMES)
def test_every_view_takes_airflows_look(server, browser, theme):
    driver = browser.log_in(server, "admin")  # 1400 px wide
    airflow = _airflow_tokens(driver, server, theme)
    _open(driver, server, "integrations", theme)
    wait(driver).until(lambda d: len(_integration_rows(d)) == 2)
    colour = lambda token: driver.execute_script(_AS_COMPUTED, token)  # noqa: E731
    # the page's background is Airflow's own (white in light, its navy in dark), never our old grey or black
    assert _style(driver, "body", "backgroundColor") == colour(airflow["bg"])
    if theme == "light":
        assert _style(driver, "body", "backgroundColor") == "rgb(255, 255, 255)"
    assert _style(driver, "body", "backgroundColor") not in ("rgb(247, 249, 251)", "rgb(17, 20, 24)")
    assert _style(driver, "body", "fontFamily") == airflow["font"]  # Inter, then Chakra's system stack
    # the primary button is Airflow's slate brand colour, the danger one Airflow's red
    assert _style(driver, "#new-integration", "backgroundColor") == colour(airflow["primary"])
    assert _style(driver, "#new-integration", "backgroundColor") != "rgb(1, 124, 238)"
    # rows with a thin line between them, no vertical grid
    cell = "#integrations tbody td"
    assert (_style(driver, cell, "borderLeftWidth"), _style(driver, cell, "borderRightWidth")) == ("0px", "0px")
    assert _style(driver, cell, "borderBottomWidth") == "1px"
    assert _style(driver, cell, "borderBottomColor") == colour(airflow["border"])
    assert _style(driver, "#integrations thead th", "borderLeftWidth") == "0px"
    # the full width of a wide window
    assert by_id(driver, "view-integrations").rect["width"] > 1200
    screenshot(driver, f"look-integrations-{theme}.png")

    click(driver, "new-integration")
    wait(driver).until(
        lambda d: by_id(d, "wizard").get_attribute("open") is not None and css(d, "#wizard-fields input")
    )
    screenshot(driver, f"look-wizard-{theme}.png")
    click(driver, "wizard-cancel")

    _open(driver, server, "overview", theme)
    wait(driver).until(lambda d: len(css(d, "#connections tbody tr")) == 2)
    assert by_id(driver, "view-overview").rect["width"] > 1200
    assert _style(driver, "#connections tbody td", "borderRightWidth") == "0px"
    screenshot(driver, f"look-overview-{theme}.png")

    _open(driver, server, "integration/acme_look", theme)
    for tab, marker in TABS.items():
        wait_loaded(driver, "integration")
        wait(driver).until(lambda d, tab=tab: css(d, f'#integration-tabs [data-tab="{tab}"]'))[0].click()
        wait(driver).until(lambda d, marker=marker: css(d, f"#{marker}"))
        assert css(driver, ".tab-panel")[0].rect["width"] > 1200, tab  # no narrow column on a wide screen
        if tab == "inbound":
            switch = "#tab-inbound label.checkbox input"
            # a real checkbox (keyboard, screen readers), drawn as Airflow's switch
            assert driver.execute_script("return document.querySelector(arguments[0]).type", switch) == "checkbox"
            assert _style(driver, switch, "appearance") == "none"
            width, height = (float(_style(driver, switch, side)[:-2]) for side in ("width", "height"))
            assert width > height * 1.5
            assert float(_style(driver, switch, "borderTopLeftRadius")[:-2]) >= height / 2
        if tab == "delete":
            danger = "#delete-button"
            assert _style(driver, danger, "backgroundColor") == colour(airflow["danger"])
        screenshot(driver, f"look-integration-{tab}-{theme}.png")


def test_headers_sort_the_tables(server, browser):
    driver = browser.log_in(server, "admin")
    _open(driver, server, "integrations", "light")
    wait(driver).until(lambda d: len(_integration_rows(d)) == 2)
    header = css(driver, "#integrations thead th")[1]  # Display name: "Alpha Look" (beta_look) before "Zeta Look"
    assert header.get_attribute("aria-sort") is None
    header.find_element("css selector", "button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert _integration_rows(driver) == ["beta_look", "acme_look"]
    assert header.find_element("css selector", ".sort-arrow").text == "↑"
    header.find_element("css selector", "button").click()
    assert header.get_attribute("aria-sort") == "descending"
    assert _integration_rows(driver) == ["acme_look", "beta_look"]
    assert header.find_element("css selector", ".sort-arrow").text == "↓"
    first = css(driver, "#integrations thead th")[0]
    first.find_element("css selector", "button").click()  # another column: that one sorts, the first is cleared
    assert (first.get_attribute("aria-sort"), header.get_attribute("aria-sort")) == ("ascending", None)
    assert _integration_rows(driver) == ["acme_look", "beta_look"]

    _open(driver, server, "overview", "light")
    wait(driver).until(lambda d: len(css(d, "#connections tbody tr")) == 2)
    names = lambda: [row.find_element("css selector", "td").text for row in css(driver, "#connections tbody tr")]  # noqa: E731
    display = css(driver, "#connections thead th")[1]
    display.find_element("css selector", "button").click()
    assert display.get_attribute("aria-sort") == "ascending"
    assert names() == ["beta_look", "acme_look"]
    display.find_element("css selector", "button").click()
    assert display.get_attribute("aria-sort") == "descending"
    assert names() == ["acme_look", "beta_look"]


@pytest.mark.parametrize("theme", THEMES)
def test_no_seam_inside_airflows_ui(server, browser, theme):
    """In Airflow's own UI (the plugin's external view in its iframe), the page's background is the one of
    Airflow's main area around the iframe: no visible edge at the sidebar."""
    from selenium.webdriver.common.by import By

    driver = browser.log_in(server, "admin")
    driver.get(f"{server['url']}/plugin/actito-sftp")
    driver.execute_script("localStorage.setItem('theme', arguments[0]);", theme)
    driver.refresh()
    frame = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, 'iframe[src*="/actito/"]'))
    around = driver.execute_script(_AROUND, frame)
    assert around not in ("", "rgba(0, 0, 0, 0)")
    driver.switch_to.frame(frame)
    wait(driver).until(lambda d: d.execute_script("return document.documentElement.dataset.theme") == theme)
    assert _style(driver, "body", "backgroundColor") == around
    driver.switch_to.default_content()
    screenshot(driver, f"look-in-airflow-{theme}.png")


# The background Airflow paints around its iframe: the first ancestor with an opaque background.
_AROUND = """
for (let node = arguments[0].parentElement; node; node = node.parentElement) {
  const colour = getComputedStyle(node).backgroundColor;
  if (colour !== "rgba(0, 0, 0, 0)" && colour !== "transparent") { return colour; }
}
return getComputedStyle(document.documentElement).backgroundColor;
"""
