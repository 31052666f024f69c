"""HTTP endpoints of the plugin (HTML and JSON), each behind Airflow's own authentication.

Reading needs a logged-in user allowed to read connections; lists and aggregates cover only the
connections the auth manager lets that user read, and per-connection routes check that very connection
(Airflow's ``requires_access_connection`` reads the ``connection_id`` path parameter). Every change
(:mod:`.config_api`) needs the matching right on the connection, a JSON body and no foreign ``Origin``
(cookies alone do not authorize a state change). No endpoint ever returns secret material.

A logged-in user who may not read connections gets, on the page route only, an HTML page saying so (403);
the JSON routes answer JSON, and a user not logged in gets Airflow's usual 401.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_connection
from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles

from airflow_provider_actito_sftp.connection.store import ConnectionRecord, ConnectionStore
from airflow_provider_actito_sftp.exceptions import ActitoSftpError
from airflow_provider_actito_sftp.get_provider_info import CONNECTION_TYPE
from airflow_provider_actito_sftp.plugin.limits import BodyLimit
from airflow_provider_actito_sftp.plugin.wording import page_message
from airflow_provider_actito_sftp.ssh.key_type import PublicKeyFormat

STATIC = Path(__file__).parent / "static"
CanRead = Depends(requires_access_connection(method="GET"))
DEFAULT_PORTS = {"http": 80, "https": 443}


def readable_conn_ids(user: GetUserDep, session: SessionDep) -> set[str]:
    """The conn_ids the auth manager lets the current user read, each checked on its own (and its team)."""
    return set(get_auth_manager().get_authorized_connections(user=user, method="GET", session=session))


def same_origin_json(request: Request) -> None:
    """Guard of every state-changing route: refuse what another site's page can make a browser send.

    A foreign ``Origin`` is refused (403); so is any body but JSON (415): a cross-site form or "simple"
    fetch cannot send ``Content-Type: application/json`` without a CORS preflight, and a cross-site request
    that does (or any fetch by a foreign page) carries its foreign ``Origin``.
    """
    origin = request.headers.get("origin")
    if origin is not None and _origin(origin) not in _own_origins(request):
        raise HTTPException(403, "cross-origin request refused")
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise HTTPException(415, "send a JSON body with Content-Type: application/json")


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


Readable = Annotated[set[str], Depends(readable_conn_ids)]
SameOriginJson = Depends(same_origin_json)


def create_app() -> FastAPI:
    app = FastAPI(title="Actito SFTP", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(BodyLimit)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", response_class=HTMLResponse)
    def page(may_read: Annotated[bool, Depends(may_read_connections)]) -> HTMLResponse:
        """The page; a logged-in user who may not read connections is told so in words (403), not JSON."""
        if not may_read:
            return HTMLResponse((STATIC / "forbidden.html").read_text(), status_code=status.HTTP_403_FORBIDDEN)
        return HTMLResponse((STATIC / "index.html").read_text())

    @app.get("/api/rights", dependencies=[CanRead])
    def rights(user: GetUserDep) -> dict[str, bool]:
        """What this user may do in general: ``create`` connections (the page offers "New integration" only
        then). Rights on one connection come with it (``GET /api/connections/{id}``)."""
        return {"create": get_auth_manager().is_authorized_connection(method="POST", user=user)}

    @app.get("/api/connections", dependencies=[CanRead])
    def connections(session: SessionDep, readable: Readable) -> list[dict[str, Any]]:
        return [connection_view(record) for record in _records(session, readable)]

    @app.get("/api/overview", dependencies=[CanRead])
    def overview_all(
        session: SessionDep,
        readable: Readable,
        entity: Annotated[str | None, Query()] = None,
        days: Annotated[int, Query(ge=1, le=366)] = 30,
        until: Annotated[date | None, Query(description="last day of the range, default today")] = None,
    ) -> dict[str, Any]:
        from airflow_provider_actito_sftp.metrics import overview

        return overview(session, conn_ids=readable, entity=entity, days=days, now=_end_of(until)).as_dict()

    # Per-connection routes name their path parameter ``connection_id`` (not conn_id): Airflow's
    # ``requires_access_connection`` reads the connection to authorize from that very name.
    @app.get("/api/connections/{connection_id}/overview", dependencies=[CanRead])
    def overview_one(
        connection_id: str,
        session: SessionDep,
        days: Annotated[int, Query(ge=1, le=366)] = 30,
        until: Annotated[date | None, Query(description="last day of the range, default today")] = None,
    ) -> dict[str, Any]:
        from airflow_provider_actito_sftp.metrics import overview

        _record(session, connection_id)
        return overview(session, conn_id=connection_id, days=days, now=_end_of(until)).as_dict()

    @app.get("/api/connections/{connection_id}/activity", dependencies=[CanRead])
    def activity_one(
        connection_id: str, session: SessionDep, limit: Annotated[int, Query(ge=1, le=100)] = 10
    ) -> dict[str, Any]:
        """The connection's latest transfer tries (for links to their Airflow pages) and last file each way."""
        from airflow_provider_actito_sftp.metrics import activity

        _record(session, connection_id)
        return activity(session, connection_id, limit=limit).as_dict()

    @app.get("/api/connections/{connection_id}/ssh-public-key", dependencies=[CanRead])
    def ssh_public_key(
        connection_id: str,
        session: SessionDep,
        key_format: Annotated[PublicKeyFormat, Query(alias="format")] = PublicKeyFormat.OPENSSH,
    ) -> PlainTextResponse:
        """Our public key as a file: ``?format=openssh`` (default, ``<id>.pub``) or ``rfc4716`` (ProFTPD)."""
        from airflow_provider_actito_sftp import management
        from airflow_provider_actito_sftp.ssh.keys import public_key_text

        active, _ = management.ssh_public_keys(_record(session, connection_id))
        if active is None:
            raise HTTPException(404, f"connection {connection_id!r} has no SSH key")
        return _download(public_key_text(active.public_line, key_format), f"{connection_id}{key_format.file_suffix}")

    @app.get("/api/connections/{connection_id}/pgp-public-key", dependencies=[CanRead])
    def pgp_public_key(connection_id: str, session: SessionDep) -> PlainTextResponse:
        from airflow_provider_actito_sftp import management

        try:
            armored, _ = management.pgp_public_key(_record(session, connection_id))
        except ActitoSftpError as e:
            raise HTTPException(404, e.for_page()) from e
        return _download(armored, f"{connection_id}-inbound.asc")

    from airflow_provider_actito_sftp.plugin import config_api  # key rotation, creation, edits: all changes

    config_api.install(app)
    return app


def connection_view(record: ConnectionRecord) -> dict[str, Any]:
    """What the page shows about a connection: its description without gpg calls, never a secret.

    A connection that does not validate is listed with the reason instead.

    :param record: the connection.
    """
    from airflow_provider_actito_sftp import management

    try:
        return management.describe(record, key_details=False)
    except ActitoSftpError as e:
        return {"conn_id": record.conn_id, "error": page_message(e)}


def _records(session: Any, conn_ids: set[str]) -> list[ConnectionRecord]:
    return ConnectionStore(session).list(conn_ids)


def _record(session: Any, connection_id: str) -> ConnectionRecord:
    records = ConnectionStore(session).list({connection_id})
    if not records:
        raise HTTPException(404, f"no {CONNECTION_TYPE} connection {connection_id!r}")
    return records[0]


def _own_origins(request: Request) -> set[str]:
    """This server's origin as the client addressed it, and the configured ``[api] base_url`` (proxies)."""
    from airflow.configuration import conf

    candidates = [str(request.base_url), conf.get("api", "base_url", fallback="") or ""]
    return {origin for origin in map(_origin, candidates) if origin is not None}


def _origin(url: str) -> str | None:
    """``scheme://host[:port]`` (default port dropped, lower case), or None for ``null`` or garbage."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return f"{scheme}://{host}" if port in (None, DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def _end_of(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.max, tzinfo=UTC)


def _download(content: str, filename: str) -> PlainTextResponse:
    return PlainTextResponse(content, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
