"""Headless Chromium driven by Selenium, logged in to a test Airflow API server.

Debian's ``chromedriver`` (package ``chromium-driver``) and ``chromium`` only: the driver path is given
explicitly, so Selenium Manager never downloads anything. Waits are bounded (:data:`WAIT`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

WAIT = 30  # seconds, the longest any step may take in the browser
CHROMEDRIVER = "/usr/bin/chromedriver"


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
    """Log in as the Airflow UI does after its login form: the JWT in the ``_token`` cookie.

    :param base_url: the API server, e.g. ``http://127.0.0.1:8080``.
    :param token: an access token from ``POST /auth/token``.
    """
    driver.get(f"{base_url}/api/v2/monitor/health")  # any page of the server's origin, to set its cookie
    driver.add_cookie({"name": "_token", "value": token, "path": "/"})


def wait(driver: Any, timeout: float = WAIT) -> Any:
    """A bounded wait that tries again when the page redrew an element between finding and reading it."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))


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


def call_api(server: dict[str, Any], method: str, path: str, body: Any = None) -> httpx.Response:
    """Call the plugin's API as admin (``path`` below ``/actito``)."""
    headers = {"Authorization": f"Bearer {server['tokens']['admin']}"}
    content = {} if method == "GET" else {"json": {} if body is None else body}
    return httpx.request(method, f"{server['url']}/actito{path}", headers=headers, timeout=120, **content)


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
