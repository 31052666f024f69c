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

``make test`` spreads the tests over pytest-xdist workers with :class:`GroupScheduling` (``tests/conftest.py``
installs it): each module runs on one worker (its module-scoped servers start once), every module of the shared
API server (``plugin_server``) on one worker together (it starts once per worker that needs it), and
:func:`schedule` orders the groups so the heaviest are handed out first and a long module does not start last.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

from tests.support.import_graph import parse

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
    ("tests.support.celery_stack", "celery_stack"),
}
BROWSER_FIXTURES = ("chromium_session",)
BROWSER_HELPERS = {("tests.support.browser", "chromium"), ("tests.support.browser", "chromium_binary")}
TESTS = Path(__file__).resolve().parents[1]
SHARED_SERVER_GROUP = "plugin_server"  # the xdist group of every module using the session's API server
WEIGHT = {"airflow": 0, "postgres": 0, "browser": 1, "server": 2, "fast": 3}  # who is handed out first
# The groups that take minutes of wall time each (measured with --durations): handed out before all others.
LONGEST = (
    "tests/test_demo.py",
    "tests/integration/test_celery_postgres.py",
    SHARED_SERVER_GROUP,
    "tests/integration/test_real_scheduler.py",
)


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


def schedule(items: list[pytest.Item]) -> None:
    """Order the tests by group (:func:`group_of`), heaviest groups first, keeping each group's tests in their
    order (run :func:`mark` first: the weight comes from the tiers). pytest-xdist hands the groups out in this
    order (:class:`GroupScheduling`)."""
    groups: dict[str, list[pytest.Item]] = {}
    for item in items:
        groups.setdefault(group_of(item.nodeid), []).append(item)

    def rank(name: str) -> tuple[int, int]:
        longest = LONGEST.index(name) if name in LONGEST else len(LONGEST)
        return longest, min(_weight(item) for item in groups[name])

    items[:] = [item for name in sorted(groups, key=rank) for item in groups[name]]  # a stable sort


def group_of(nodeid: str) -> str:
    """The xdist group of a test: its module, or :data:`SHARED_SERVER_GROUP` for a module using the shared
    API server (found in its source: a function taking the ``plugin_server`` fixture)."""
    module = nodeid.split("::")[0]
    return SHARED_SERVER_GROUP if module in _shared_server_modules() else module


@functools.cache
def _shared_server_modules() -> frozenset[str]:
    found = set()
    for path in sorted(TESTS.rglob("test_*.py")):
        tree = parse(path)
        functions = (node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef))
        if any(arg.arg == SHARED_SERVER_GROUP for function in functions for arg in function.args.args):
            found.add(path.relative_to(TESTS.parent).as_posix())
    return frozenset(found)


class GroupScheduling(LoadScopeScheduling):
    """pytest-xdist's scope scheduling over :func:`group_of`'s groups, in collection order (no reordering by
    size): a group runs whole on one worker, and the first groups collected are handed out first."""

    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        super().__init__(config, log)
        config.option.loadscopereorder = False

    def _split_scope(self, nodeid: str) -> str:
        return group_of(nodeid)


def _weight(item: pytest.Item) -> int:
    return min(WEIGHT[name] for name in WEIGHT if item.get_closest_marker(name))
