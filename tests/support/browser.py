"""Headless Chromium driven by Selenium, logged in to a test Airflow API server, and the browser tests' helpers.

Debian's ``chromedriver`` (package ``chromium-driver``) and ``chromium`` only: the driver path is given
explicitly, so Selenium Manager never downloads anything. Waits are bounded (:data:`WAIT`).

One Chromium serves every browser test of a run (:class:`SharedChromium`, the session's ``chromium_session``
fixture in tests/conftest.py): each test gets it reset by the ``browser`` fixture (:class:`Browser`): no
cookie, the light colour scheme, its own downloads folder, and each :meth:`Browser.open` a fresh page load
with the origin's storage cleared (Airflow's stored theme), so no test sees what another left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

WAIT = 30  # seconds, the longest any step may take in the browser
CHROMEDRIVER = "/usr/bin/chromedriver"
DARK_SURFACE = "oklch(0.23185 0.0323 266.44)"  # the dark palette's --bg/--surface: Airflow's navy, as computed
STATIC = Path(__file__).parents[2] / "airflow_provider_actito_sftp" / "plugin" / "static"


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def chromium(profile: Path, downloads: Path, *, width: int = 1400, height: int = 1000) -> Iterator[Any]:
    """A headless Chromium session (skips the test when chromium or its driver is missing); quit at the end."""
    binary = chromium_binary()
    driver_path = CHROMEDRIVER if Path(CHROMEDRIVER).exists() else shutil.which("chromedriver")
    if binary is None or driver_path is None:
        pytest.skip("chromium and chromium-driver are not installed (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        driver.set_page_load_timeout(WAIT)
        driver.set_script_timeout(WAIT)
        yield driver
    finally:
        driver.quit()


def log_in(driver: Any, base_url: str, token: str) -> None:
    """Log in as the Airflow UI does after its login form: the JWT in the ``_token`` cookie. What an earlier
    visit stored for the origin (Airflow's theme, say) is cleared.

    :param base_url: the API server, e.g. ``http://127.0.0.1:8080``.
    :param token: an access token from ``POST /auth/token``.
    """
    driver.get(f"{base_url}/api/v2/monitor/health")  # any page of the server's origin, to set its cookie
    driver.execute_script("localStorage.clear(); sessionStorage.clear();")
    driver.add_cookie({"name": "_token", "value": token, "path": "/"})


def wait(driver: Any, timeout: float = WAIT) -> Any:
    """A bounded wait that tries again while the page is being (re)drawn: an element not there yet, or
    redrawn between finding and reading it."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))


class SharedChromium:
    """One headless Chromium for the whole run, started on first use and started again should it die.

    :param base: a folder for its profiles.
    """

    def __init__(self, base: Path) -> None:
        self._base = base
        self._session: ExitStack | None = None
        self._driver: Any = None
        self._starts = 0

    def driver(self) -> Any:
        """The running Chromium (a new one when the last one no longer answers)."""
        if self._driver is not None and not _answers(self._driver):
            self.close()
        if self._driver is None:
            self._starts += 1
            profile = self._base / f"profile-{self._starts}"
            session = ExitStack()
            self._driver = session.enter_context(chromium(profile, self._base / "downloads"))
            self._session = session
        return self._driver

    def close(self) -> None:
        session, self._session, self._driver = self._session, None, None
        if session is not None:
            session.close()


def _answers(driver: Any) -> bool:
    from selenium.common.exceptions import WebDriverException

    try:
        driver.execute_script("return 1")
    except WebDriverException:
        return False
    return True


class Browser:
    """The shared Chromium, reset for one test (see the module docstring).

    :param driver: the running Chromium.
    :param downloads: where this test's downloads land (created here).
    """

    def __init__(self, driver: Any, downloads: Path) -> None:
        self.driver = driver
        self.downloads = downloads
        downloads.mkdir(parents=True, exist_ok=True)
        blank(driver)
        driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": []})
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})

    def log_in(self, server: dict[str, Any], user: str) -> Any:
        """Log in to ``server`` as ``user`` (its origin's stored theme and state cleared first); the driver."""
        log_in(self.driver, server["url"], server["tokens"][user])
        return self.driver

    def open(self, server: dict[str, Any], user: str, fragment: str = "") -> Any:
        """Log in as ``user`` and load the plugin's page at ``/actito/`` + ``fragment``; the driver.

        :param fragment: a route of the page, e.g. ``#integrations`` or ``#integration/acme``.
        """
        self.log_in(server, user)
        self.driver.get(f"{server['url']}/actito/{fragment}")
        return self.driver


def blank(driver: Any) -> None:
    """Leave whatever page the driver shows (its scripts stop), back in the top-level window."""
    driver.switch_to.default_content()
    driver.get("about:blank")


def prefer_dark(driver: Any) -> None:
    """Emulate a system that prefers the dark colour scheme (the page follows it outside Airflow)."""
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
    )


def wait_loaded(driver: Any, view: str) -> None:
    """Wait until a view of the page has drawn its data: ``integrations`` (the list) or ``integration`` (a page).

    :param view: the view's name (its element is ``#view-<view>``, marked ``data-loaded="true"``).
    """
    script = "return document.getElementById(arguments[0]).dataset.loaded"
    wait(driver).until(lambda d: d.execute_script(script, f"view-{view}") == "true")


def show_tab(driver: Any, tab: str, drawn: str) -> None:
    """Click a tab of the integration page and wait until it has drawn ``drawn`` (a CSS selector)."""
    click_found(driver, lambda d: css(d, f'#integration-tabs [data-tab="{tab}"]')[0])
    wait(driver).until(lambda d: css(d, drawn))


# The README's screenshots are refreshed only when asked (UPDATE_SCREENSHOTS=1): a test run must not
# rewrite tracked files. Otherwise they go to a temporary folder, still checked for being taken.
SCREENSHOTS = (
    Path(__file__).parents[2] / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.mkdtemp(prefix="actito-screenshots-"))
)


def screenshot(driver: Any, name: str) -> None:
    """Save a screenshot of the page (see :data:`SCREENSHOTS`) and check one was taken."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    time.sleep(0.2)  # let the layout settle
    assert driver.save_screenshot(str(SCREENSHOTS / name))


def by_id(driver: Any, element_id: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, selector))


def has(driver: Any, element_id: str) -> bool:
    return bool(css(driver, f"#{element_id}"))


def text_of(driver: Any, element_id: str) -> str:
    """The element's text, or "" while it is not there."""
    found = css(driver, f"#{element_id}")
    return str(found[0].text) if found else ""


def type_into(driver: Any, element_id: str, text: str) -> None:
    """Replace what the input holds with ``text``, as typed."""
    field = by_id(driver, element_id)
    field.clear()
    field.send_keys(text)


def downloaded(path: Path) -> str:
    """The text of a file the browser downloads, once it is there (a bounded wait)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size:
            return path.read_text()
        time.sleep(0.2)
    raise AssertionError(f"{path.name} was not downloaded: {sorted(p.name for p in path.parent.iterdir())}")


def click(driver: Any, element_id: str) -> None:
    """Click an element, finding it again if the page was redrawn meanwhile (a stale element)."""
    click_found(driver, lambda d: by_id(d, element_id))


def click_found(driver: Any, find: Any) -> None:
    """Click what ``find(driver)`` returns once it exists, finding it again if the page was redrawn between
    finding and clicking (a React list re-rendered after a fetch, say)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    ignored = (StaleElementReferenceException, NoSuchElementException, IndexError)
    WebDriverWait(driver, WAIT, ignored_exceptions=ignored).until(lambda d: find(d).click() is None)


def node_json(script: str) -> Any:
    """Run an ES module ``script`` with Node (``%(static)s`` in it: the page's static folder as a file URL) and
    read the JSON it prints last; the test is skipped without Node."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    code = script.replace("%(static)s", STATIC.as_uri())
    result = subprocess.run([node, "--input-type=module", "-e", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def call_api(server: dict[str, Any], method: str, path: str, body: Any = None) -> httpx.Response:
    """Call the plugin's API as admin (``path`` below ``/actito``)."""
    headers = {"Authorization": f"Bearer {server['tokens']['admin']}"}
    content = {} if method == "GET" else {"json": {} if body is None else body}
    return httpx.request(method, f"{server['url']}/actito{path}", headers=headers, timeout=120, **content)


def connection_of(server: dict[str, Any], conn_id: str) -> dict[str, Any]:
    """A connection as the plugin's API describes it (it must exist)."""
    response = call_api(server, "GET", f"/api/connections/{conn_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def create_integration(server: dict[str, Any], sshd: Any, conn_id: str, display_name: str) -> None:
    """Create an integration on the real sshd through the API (host key trusted) and install its SSH key."""
    values = {"entity": "acme", "display_name": display_name, "host": sshd.host, "port": sshd.port}
    body = {
        "conn_id": conn_id,
        "values": {**values, "username": sshd.user.name},
        "host_key": {"trust_on_first_use": True},
    }
    created = call_api(server, "POST", "/api/connections", body)
    assert created.status_code == 201, created.text
    sshd.add_authorized_key(created.json()["ssh_key"]["public_key"])
