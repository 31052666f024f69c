"""Who may do what on the plugin's routes: every authorization dependency and rights question, once.

Reading needs a logged-in user allowed to read connections (``CanRead``); lists and aggregates cover only the
connections the auth manager lets that user read (:func:`readable_conn_ids`), and per-connection routes check
that very connection: Airflow's ``requires_access_connection`` reads the ``connection_id`` path parameter.
A change needs the matching right on the connection (``CanEdit``, ``CanCreate``, ``CanDelete``), a JSON body
and no foreign ``Origin`` (:func:`same_origin_json`: cookies alone do not authorize a state change). Every
change is audited as the request's user (:func:`editor_store`).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import ConnectionDetails
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_connection
from fastapi import Depends, HTTPException, Request, status

from airflow_provider_actito_sftp.connection.audit import Actor
from airflow_provider_actito_sftp.connection.store import ConnectionStore

CanRead = Depends(requires_access_connection(method="GET"))
CanEdit = Depends(requires_access_connection(method="PUT"))
CanCreate = Depends(requires_access_connection(method="POST"))
CanDelete = Depends(requires_access_connection(method="DELETE"))
PAGE = "Actito SFTP page"  # where the audit log says a change was made
DEFAULT_PORTS = {"http": 80, "https": 443}


def readable_conn_ids(user: GetUserDep, session: SessionDep) -> set[str]:
    """The conn_ids the auth manager lets the current user read, each checked on its own (and its team)."""
    return set(get_auth_manager().get_authorized_connections(user=user, method="GET", session=session))


async def may_read_connections(request: Request, user: GetUserDep) -> bool:
    """Airflow's own read check of the routes (``CanRead``), as a yes or no for a logged-in user.

    Not logged in (or an invalid token) still fails in ``GetUserDep`` as Airflow answers it.
    """
    try:
        await requires_access_connection(method="GET")(request, user)
    except HTTPException as e:
        if e.status_code == status.HTTP_403_FORBIDDEN:
            return False
        raise
    return True


def can_create_or_edit(user: GetUserDep) -> None:
    """The user may create or edit connections (in general), or 403."""
    auth = get_auth_manager()
    if not any(auth.is_authorized_connection(method=method, user=user) for method in ("POST", "PUT")):
        raise HTTPException(403, "Forbidden")


def require_create(user: Any, conn_id: str) -> None:
    """The user may create a connection with this very id (its team, for instance), or 403.

    :param user: the request's user.
    :param conn_id: the id the new connection would have.
    """
    details = ConnectionDetails(conn_id=conn_id)
    if not get_auth_manager().is_authorized_connection(method="POST", user=user, details=details):
        raise HTTPException(403, "Forbidden")


def general_rights(user: Any) -> dict[str, bool]:
    """What the user may do in general: ``{"create": ...}`` (the page offers "New integration" only then).

    :param user: the request's user.
    """
    return {"create": get_auth_manager().is_authorized_connection(method="POST", user=user)}


def connection_rights(user: Any, connection_id: str) -> dict[str, bool]:
    """What the auth manager lets this user do with this connection: ``{"edit": ..., "delete": ...}``.

    :param user: the request's user.
    :param connection_id: the connection.
    """
    auth, details = get_auth_manager(), ConnectionDetails(conn_id=connection_id)
    return {
        "edit": auth.is_authorized_connection(method="PUT", user=user, details=details),
        "delete": auth.is_authorized_connection(method="DELETE", user=user, details=details),
    }


def same_origin_json(request: Request) -> None:
    """Guard of every state-changing route: refuse what another site's page can make a browser send.

    A foreign ``Origin`` is refused (403); so is any body but JSON (415): a cross-site form or "simple"
    fetch cannot send ``Content-Type: application/json`` without a CORS preflight, and a cross-site request
    that does (or any fetch by a foreign page) carries its foreign ``Origin``.
    """
    origin = request.headers.get("origin")
    if origin is not None and origin_of(origin) not in _own_origins(request):
        raise HTTPException(403, "cross-origin request refused")
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise HTTPException(415, "send a JSON body with Content-Type: application/json")


def editor_store(user: GetUserDep, session: SessionDep) -> ConnectionStore:
    """The request's connection store: its changes are audited as this user's, made on the page."""
    return ConnectionStore(session, actor=Actor(user.get_name(), PAGE))


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` (default port dropped, lower case), or None for ``null`` or garbage.

    :param url: an ``Origin`` header or a URL.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return f"{scheme}://{host}" if port in (None, DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def _own_origins(request: Request) -> set[str]:
    """This server's origin as the client addressed it, and the configured ``[api] base_url`` (proxies)."""
    from airflow.configuration import conf

    candidates = [str(request.base_url), conf.get("api", "base_url", fallback="") or ""]
    return {origin for origin in map(origin_of, candidates) if origin is not None}


Readable = Annotated[set[str], Depends(readable_conn_ids)]
MayReadConnections = Annotated[bool, Depends(may_read_connections)]
EditorStore = Annotated[ConnectionStore, Depends(editor_store)]
SameOriginJson = Depends(same_origin_json)
CanCreateOrEdit = Depends(can_create_or_edit)
