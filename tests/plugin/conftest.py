"""A real Airflow API server with the plugin, and the users of tests.support.auth_manager, for the plugin tests.

"admin" may do anything ("editor" too, with Airflow's op role); "acme_owner" may do anything with the ``acme``
connection and nothing with any other; "reader" may read every connection and change none; "viewer" may not read
connections; "partner" may read only ``acme_*`` connections and change none; "newcomer" may read connections
but none exists for it (only ``new_*`` ones), as on a fresh installation.
"""

from __future__ import annotations

import json
import time
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
