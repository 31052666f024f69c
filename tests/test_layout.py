"""The repository's layout: only tests import ``tests``, and every module has a test module mirroring it.

``airflow_provider_actito_sftp/<path>/<module>.py`` is tested by ``tests/<path>/test_<module>.py`` (a private
module's leading underscore dropped).
Modules deliberately tested elsewhere are listed, with where, in :data:`TESTED_ELSEWHERE`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.import_graph import parse, parse_source

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "airflow_provider_actito_sftp"
# Code that runs outside the test suite: it may use partner_sandbox, never tests.
STANDALONE = ("airflow_provider_actito_sftp", "partner_sandbox", "demo", "benchmarks", "dags")
MODULE_PATH_STRING = re.compile(r"tests(\.\w+)*")  # e.g. `python -m tests.support.x`, import_module("tests.x")

# Modules whose behaviour is tested through another module's tests, on purpose; each names those tests.
TESTED_ELSEWHERE: dict[str, tuple[str, ...]] = {
    # The operators are exercised as Airflow runs them: real DAG runs (dag.test()) against a real sshd.
    "operators/actito_sftp.py": ("tests/operators/test_import_export.py", "tests/operators/test_exactly_once.py"),
    "operators/outcome.py": ("tests/operators/test_import_export.py", "tests/operators/test_exactly_once.py"),
    # The UI plugin's routes and views are tested through a real API server (permissions, JSON) and a headless
    # browser.
    "plugin/views.py": ("tests/plugin/test_plugin.py", "tests/plugin/test_config_api.py"),
    "plugin/routes/page.py": ("tests/plugin/test_plugin.py",),
    "plugin/routes/docs.py": ("tests/plugin/test_plugin.py",),
    "plugin/routes/overview.py": ("tests/plugin/test_plugin.py",),
    "plugin/routes/connections.py": ("tests/plugin/test_config_api.py", "tests/plugin/test_plugin.py"),
    "plugin/routes/host_keys.py": ("tests/plugin/test_config_api.py",),
    "plugin/routes/locations.py": ("tests/plugin/test_config_api.py",),
    "plugin/routes/keys.py": ("tests/plugin/test_config_api.py", "tests/plugin/test_plugin.py"),
    # The JSON export of read-only connections: on the configuration API's server and its env connections.
    "plugin/external.py": ("tests/plugin/test_config_api.py", "tests/plugin/test_ui_read_only.py"),
    # An imported file's last remote step: through imports that delete, archive, keep, or meet a server refusing it.
    "transfer/remote_steps.py": (
        "tests/transfer/test_importer.py",
        "tests/operators/test_exactly_once.py",
        "tests/transfer/test_recovery.py",
    ),
    # The configuration API's request bodies: every route's body through the real API server.
    "plugin/bodies.py": ("tests/plugin/test_config_api.py", "tests/plugin/test_config_safety.py"),
    # Body limits and calls to partners' servers: on a real API server, by bodies and silent servers.
    "plugin/limits.py": ("tests/plugin/test_config_safety.py",),
    # An enum of its own so that the CLI's choices load without asyncssh: used and checked with the keys.
    "ssh/key_type.py": ("tests/ssh/test_keys.py", "tests/cli/test_app.py"),
}


def python_files(top: str) -> list[Path]:
    return sorted(path for path in (REPO / top).rglob("*.py") if "__pycache__" not in path.parts)


def imports_of_tests(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Line and name of every import of ``tests`` (and string naming a ``tests`` module) in a module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value] if MODULE_PATH_STRING.fullmatch(node.value) else []
        else:
            continue
        for name in names:
            if name == "tests" or name.startswith("tests."):
                yield node.lineno, name


def package_modules() -> list[str]:
    """Paths of the package's modules relative to it, like ``transfer/ledger.py`` (no ``__init__.py``)."""
    return [str(path.relative_to(PACKAGE)) for path in python_files(PACKAGE.name) if path.name != "__init__.py"]


def mirror(module: str) -> Path:
    """``transfer/ledger.py`` -> ``tests/transfer/test_ledger.py`` (``_event_loop.py`` -> ``test_event_loop.py``)."""
    path = Path(module)
    return REPO / "tests" / path.parent / f"test_{path.name.lstrip('_')}"


@pytest.mark.parametrize("top", STANDALONE)
def test_code_outside_tests_never_imports_tests(top: str) -> None:
    files = python_files(top)
    assert files, f"{top}/ has no Python files: is the list of folders still right?"
    found = [
        f"{path.relative_to(REPO)}:{line}: {name}" for path in files for line, name in imports_of_tests(parse(path))
    ]
    assert found == [], "move what these need to partner_sandbox/ (or benchmarks/):\n" + "\n".join(found)


def test_the_import_check_sees_every_form() -> None:
    source = (
        "import tests.support.dags\n"
        "from tests.support import sshd\n"
        "from .tests import x\n"  # relative: a package's own tests module, not the test suite
        "import testsuite\n"
        "subprocess.run(['python', '-m', 'tests.support.rss_child'])\n"
        "'''Run the tests.'''\n"
    )
    assert list(imports_of_tests(parse_source(source))) == [
        (1, "tests.support.dags"),
        (2, "tests.support"),
        (5, "tests.support.rss_child"),
    ]


def test_the_mirror_of_a_module() -> None:
    assert mirror("transfer/ledger.py") == REPO / "tests/transfer/test_ledger.py"
    assert mirror("metrics.py") == REPO / "tests/test_metrics.py"
    assert mirror("_event_loop.py") == REPO / "tests/test_event_loop.py"


def test_every_module_has_a_mirrored_test_module() -> None:
    missing = [
        f"{module} -> {mirror(module).relative_to(REPO)}"
        for module in package_modules()
        if module not in TESTED_ELSEWHERE and not mirror(module).is_file()
    ]
    assert missing == [], "modules without a mirrored test module:\n" + "\n".join(missing)


def test_modules_tested_elsewhere_are_listed_with_tests_that_exist() -> None:
    modules = set(package_modules())
    for module, tests in TESTED_ELSEWHERE.items():
        assert module in modules, f"{module} is gone: remove it from TESTED_ELSEWHERE"
        assert not mirror(module).is_file(), f"{module} now has {mirror(module).name}: remove it from TESTED_ELSEWHERE"
        absent = [test for test in tests if not (REPO / test).is_file()]
        assert absent == [], f"{module}: the tests named for it do not exist: {absent}"
