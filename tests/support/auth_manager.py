"""An auth manager for tests: Airflow's simple auth manager, except that role "user" may READ connections.

It separates "may read connections" from "may edit connections", which the simple auth manager does not
(it requires role "op" for both), so the plugin's edit-only refusals can be shown.

Users named in ``PREFIX_READERS`` may read only the connections whose conn_id starts with their prefix
(and "connections" in general, ``details.conn_id`` None, as a per-resource auth manager would answer),
and edit none, whatever their role: they show the plugin's per-connection filtering. Users named in ``OWNERS``
may do everything with the connections listed there, and nothing with any other.
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

PREFIX_READERS = {"partner": "acme_", "newcomer": "new_"}
# Users who may do everything with these connections only (read the list of connections too, create none).
OWNERS = {"acme_owner": frozenset({"acme"})}


class ReadOnlyConnectionsAuthManager(SimpleAuthManager):
    def is_authorized_connection(self, *, method: Any, user: Any, details: Any = None) -> bool:
        owned = OWNERS.get(user.get_name())
        if owned is not None:
            conn_id = details.conn_id if details is not None else None
            return conn_id in owned or (conn_id is None and method == "GET")
        prefix = PREFIX_READERS.get(user.get_name())
        if prefix is not None:
            conn_id = details.conn_id if details is not None else None
            return method == "GET" and (conn_id is None or conn_id.startswith(prefix))
        if method == "GET" and user.role and user.role.upper() == "USER":
            return True
        return super().is_authorized_connection(method=method, user=user, details=details)
