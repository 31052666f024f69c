"""An auth manager for tests: Airflow's simple auth manager, except that role "user" may READ connections.

It separates "may read connections" from "may edit connections", which the simple auth manager does not
(it requires role "op" for both), so the plugin's edit-only refusals can be shown.
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager


class ReadOnlyConnectionsAuthManager(SimpleAuthManager):
    def is_authorized_connection(self, *, method: Any, user: Any, details: Any = None) -> bool:
        if method == "GET" and user.role and user.role.upper() == "USER":
            return True
        return super().is_authorized_connection(method=method, user=user, details=details)
