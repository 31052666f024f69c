"""A real Airflow API server with the plugin, and the users of tests.support.auth_manager, for the plugin tests.

"admin" may do anything ("editor" too, with Airflow's op role); "acme_owner" may do anything with the ``acme``
connection and nothing with any other; "reader" may read every connection and change none; "viewer" may not read
connections; "partner" may read only ``acme_*`` connections and change none; "newcomer" may read connections
but none exists for it (only ``new_*`` ones), as on a fresh installation. The one server most browser modules
share, ``plugin_server``, is in tests/conftest.py (a top-level module uses it too).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

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


@contextmanager
def airflow_connections(
    server: dict[str, Any], connections: dict[str, dict[str, Any]], made_by_tests: tuple[str, ...] = ()
) -> Iterator[None]:
    """Create these connections (technical name -> Airflow's fields, ``extra`` a dict) as they are, through
    Airflow's own REST API (the plugin checks nothing: an invalid one stays invalid), then delete them and
    whichever of ``made_by_tests`` exist (the connections the module's tests create)."""
    url = f"{server['url']}/api/v2/connections"
    headers = {"Authorization": f"Bearer {server['tokens']['admin']}"}
    try:
        for conn_id, fields in connections.items():
            body = {**fields, "connection_id": conn_id, "extra": json.dumps(fields.get("extra", {}))}
            created = httpx.post(url, json=body, headers=headers, timeout=60)
            assert created.status_code == 201, created.text
        yield
    finally:
        for conn_id in (*connections, *made_by_tests):
            deleted = httpx.delete(f"{url}/{conn_id}", headers=headers, timeout=60)
            assert deleted.status_code in (204, 404), deleted.text
