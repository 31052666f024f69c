"""Headless Chromium driven by Selenium, logged in to a test Airflow API server.

Debian's ``chromedriver`` (package ``chromium-driver``) and ``chromium`` only: the driver path is given
explicitly, so Selenium Manager never downloads anything. Waits are bounded (:data:`WAIT`).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout)
