"""A real Airflow API server with the plugin, and the users of tests.support.auth_manager, for the plugin tests.

"admin" may do anything ("editor" too, with Airflow's op role); "acme_owner" may do anything with the ``acme``
connection and nothing with any other; "reader" may read every connection and change none; "viewer" may not read
connections; "partner" may read only ``acme_*`` connections and change none; "newcomer" may read connections
but none exists for it (only ``new_*`` ones), as on a fresh installation.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.airflow_stack import AirflowStack, sqlite_stack

REPO = Path(__file__).parents[2]
ROLES = {
    "admin": "admin",
    "editor": "op",
    "reader": "user",
    "viewer": "viewer",
    "partner": "user",
    "newcomer": "user",
    "acme_owner": "user",
}
USERS = tuple(ROLES)


def plugin_stack(home: Path, dags: Path) -> AirflowStack:
    """A migrated Airflow (not started) whose auth manager separates reading and editing connections."""
    return sqlite_stack(
        home,
        dags,
        {
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{user}:{ROLES[user]}" for user in USERS),
            "AIRFLOW__CORE__AUTH_MANAGER": "tests.support.auth_manager.ReadOnlyConnectionsAuthManager",
            "PYTHONPATH": str(REPO),
        },
    )


def serve(stack: AirflowStack) -> dict[str, Any]:
    """Start the API server and log every user in: ``{"url", "tokens", "stack"}`` (stop the stack after)."""
    stack.start(["api-server"])
    base_url = stack.env["AIRFLOW__API__BASE_URL"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/api/v2/monitor/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(1)
    else:
        stack.stop()
        raise RuntimeError(stack.logs())
    passwords = json.loads((stack.home / "simple_auth_manager_passwords.json.generated").read_text())
    tokens = {
        user: httpx.post(f"{base_url}/auth/token", json={"username": user, "password": passwords[user]}).json()[
            "access_token"
        ]
        for user in USERS
    }
    return {"url": base_url, "tokens": tokens, "stack": stack}


@pytest.fixture(scope="session")
def plugin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One API server with the plugin for every browser module that needs no connection in its environment:
    ``{"url", "tokens", "stack"}``. Each module creates its own integrations (distinct technical names) in it
    and removes them after (:func:`module_integrations`), so a module sees what it made and what is left of
    the others' is nothing."""
    base = tmp_path_factory.mktemp("plugin_server")
    (base / "dags").mkdir()
    served = serve(plugin_stack(base / "airflow", base / "dags"))
    try:
        yield {**served, "dags": base / "dags"}
    finally:
        served["stack"].stop()


@contextmanager
def module_integrations(server: dict[str, Any], sshd: Any, integrations: dict[str, str]) -> Iterator[None]:
    """Create these integrations (technical name -> display name) on ``sshd`` through the API, then delete
    whichever of them still exist (a test may have deleted one)."""
    from tests.support.browser import call_api, create_integration

    try:
        for conn_id, display_name in integrations.items():
            create_integration(server, sshd, conn_id, display_name)
        yield
    finally:
        for conn_id in integrations:
            call_api(server, "DELETE", f"/api/connections/{conn_id}", {"confirm": conn_id})
