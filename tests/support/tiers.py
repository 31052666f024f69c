"""Test tiers: markers given to each test from what it uses, so nobody has to remember to add them.

- ``server``: a real SSH server (any fixture in the test's closure whose name holds ``sshd``, or a
  ProFTPD/tinyssh server of the interop matrix).
- ``airflow``: Airflow's own processes (an API server, a scheduler, ``airflow standalone``): the test uses
  the ``plugin_server`` fixture, its module uses :mod:`tests.support.airflow_stack` or
  :mod:`tests.plugin.conftest`'s ``serve``, or says so with
  ``pytestmark = pytest.mark.airflow`` (a module that starts them another way, e.g. ``make airflow``).
- ``browser``: a real Chromium (the test uses the ``chromium_session`` fixture, through ``browser``, or its
  module uses :func:`tests.support.browser.chromium` or :func:`~tests.support.browser.chromium_binary`).
- ``postgres``: the PostgreSQL server (declared by the test).

``fast`` is every test with none of these: ``make test-fast`` runs it (no server, no browser, no Airflow
process) for the edit loop; ``make test`` runs everything.
"""

from __future__ import annotations

from types import ModuleType

import pytest

HEAVY = ("server", "airflow", "browser", "postgres")
DESCRIPTIONS = {
    "server": "uses a real SSH server on 127.0.0.1 (set from the fixtures it uses)",
    "airflow": "starts Airflow processes: API server, scheduler, standalone (set from what its module uses)",
    "browser": "drives a real headless Chromium (set from the fixtures it uses or what its module uses)",
    "postgres": "needs the PostgreSQL server on 127.0.0.1:5432",
    "fast": "none of the above: no server, no browser, no Airflow process (make test-fast)",
}
SERVER_FIXTURES = ("sshd", "proftpd", "interop_server")
AIRFLOW_FIXTURES = ("plugin_server",)
AIRFLOW_HELPERS = {
    ("tests.plugin.conftest", "serve"),
    ("tests.plugin.conftest", "plugin_stack"),
    ("tests.support.airflow_stack", "AirflowStack"),
    ("tests.support.airflow_stack", "sqlite_stack"),
}
BROWSER_FIXTURES = ("chromium_session",)
BROWSER_HELPERS = {("tests.support.browser", "chromium"), ("tests.support.browser", "chromium_binary")}


def configure(config: pytest.Config) -> None:
    for name, description in DESCRIPTIONS.items():
        config.addinivalue_line("markers", f"{name}: {description}")


def mark(items: list[pytest.Item]) -> None:
    """Add the tier markers to each collected test (see the module docstring)."""
    for item in items:
        tiers = set(_tiers(item))
        for tier in sorted(tiers - {marker.name for marker in item.iter_markers()}):
            item.add_marker(getattr(pytest.mark, tier))
        if not any(item.get_closest_marker(name) for name in HEAVY):
            item.add_marker(pytest.mark.fast)


def _tiers(item: pytest.Item) -> set[str]:
    tiers: set[str] = set()
    if any(part in name for name in getattr(item, "fixturenames", ()) for part in SERVER_FIXTURES):
        tiers.add("server")
    if any(name in AIRFLOW_FIXTURES for name in getattr(item, "fixturenames", ())):
        tiers.add("airflow")
    if any(name in BROWSER_FIXTURES for name in getattr(item, "fixturenames", ())):
        tiers.add("browser")
    module = getattr(item, "module", None)
    if module is not None:
        helpers = _helpers(module)
        if helpers & AIRFLOW_HELPERS:
            tiers.add("airflow")
        if helpers & BROWSER_HELPERS:
            tiers.add("browser")
    return tiers


def _helpers(module: ModuleType) -> set[tuple[str, str]]:
    """(module, name) of every function or class the test module imported or defined."""
    return {
        (getattr(value, "__module__", ""), getattr(value, "__name__", ""))
        for value in vars(module).values()
        if callable(value)
    }
