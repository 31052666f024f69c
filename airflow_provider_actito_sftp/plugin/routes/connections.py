"""Connections: the list, one connection, its creation, change, test and deletion; the fields' schema and the
user's rights; the change of a connection defined outside the metadata DB as connection JSON.

Reading needs Airflow's read right (on the connection, for its own routes); a list covers only the connections
the user may read. A change needs the edit right on the connection, creation the create right (also checked
for the new id), deletion the delete right; each also a JSON body from this site (``SameOriginJson``).
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import APIRouter

from airflow_provider_actito_sftp import management
from airflow_provider_actito_sftp.connection.audit import Change
from airflow_provider_actito_sftp.connection.schema import FIELDS
from airflow_provider_actito_sftp.connection.store import ConnectionStore
from airflow_provider_actito_sftp.plugin import external, models, security, views
from airflow_provider_actito_sftp.plugin.bodies import ApiError, CreateBody, DeleteBody, ValuesBody
from airflow_provider_actito_sftp.plugin.errors import ERROR_RESPONSES
from airflow_provider_actito_sftp.plugin.limits import ServerCall, interactive_timeout
from airflow_provider_actito_sftp.plugin.security import (
    CanCreate,
    CanDelete,
    CanEdit,
    CanRead,
    EditorStore,
    Readable,
    SameOriginJson,
)

router = APIRouter(tags=["connections"], responses=ERROR_RESPONSES)


@router.get("/api/rights", dependencies=[CanRead], response_model=models.GeneralRights)
def rights(user: GetUserDep) -> dict[str, bool]:
    """What this user may do in general: ``create`` connections (the page offers "New integration" only
    then). Rights on one connection come with it (``GET /api/connections/{id}``)."""
    return security.general_rights(user)


@router.get("/api/schema", dependencies=[CanRead], response_model=models.ConnectionSchema)
def schema() -> dict[str, Any]:
    """Every connection field, for forms."""
    return {"fields": [views.field_view(field) for field in FIELDS]}


@router.get("/api/connections", dependencies=[CanRead], response_model=models.ConnectionRows)
def connections(session: SessionDep, readable: Readable) -> list[dict[str, Any]]:
    """The connections this user may read (in the metadata DB), without PGP key details."""
    return [views.connection_row(record) for record in ConnectionStore(session).list(readable)]


@router.post(
    "/api/connections",
    status_code=201,
    dependencies=[SameOriginJson, CanCreate, ServerCall],
    response_model=models.ConnectionCreated,
)
def create(body: CreateBody, user: GetUserDep, session: SessionDep, store: EditorStore) -> dict[str, Any]:
    """Create a connection: host key fetched again here and pinned if confirmed, SSH key generated."""
    security.require_create(user, body.conn_id)
    created = management.create_connection(
        store,
        body.conn_id,
        body.values,
        expected_fingerprint=body.host_key.expected_fingerprint,
        trust_on_first_use=body.host_key.trust_on_first_use,
        ssh_key_type=body.ssh_key_type,
        timeout=interactive_timeout(),
    )
    session.commit()
    return created.as_dict()


@router.get("/api/connections/{connection_id}", dependencies=[CanRead], response_model=models.ConnectionWithRights)
def show(connection_id: str, user: GetUserDep, session: SessionDep) -> dict[str, Any]:
    """The connection in full (key details), whether it may be changed here and why not, and what this
    user may do with it (``rights``: the page shows only the controls the user may use)."""
    record = ConnectionStore(session).get(connection_id)
    return {**views.connection_detail(record), "rights": security.connection_rights(user, connection_id)}


@router.patch(
    "/api/connections/{connection_id}",
    dependencies=[SameOriginJson, CanEdit],
    response_model=models.ConnectionAfterUpdate,
)
def update(connection_id: str, body: ValuesBody, session: SessionDep, store: EditorStore) -> dict[str, Any]:
    """Change fields by value (the password is never returned, and comes again with a new host or port; the
    entity is fixed). ``password_removed``: the switch to SSH key authentication removed the stored password."""
    with management.editing(store, connection_id, Change.UPDATE) as edit:
        update = management.update_fields(edit.record, body.values)
    session.commit()
    return {**views.connection_detail(edit.record), "password_removed": update.password_removed}


@router.post(
    "/api/connections/{connection_id}/test",
    dependencies=[SameOriginJson, CanEdit, ServerCall],
    response_model=models.ConnectionTested,
)
def test(connection_id: str, session: SessionDep) -> dict[str, Any]:
    """Connect, verify the host key, authenticate and check every location: one line each."""
    record = ConnectionStore(session).get(connection_id)
    checks = management.connection_checks(record, timeout=interactive_timeout())
    return {"ok": all(check.ok for check in checks), "checks": [check.as_dict() for check in checks]}


@router.delete(
    "/api/connections/{connection_id}",
    dependencies=[SameOriginJson, CanDelete],
    response_model=models.ConnectionDeleted,
)
def delete(connection_id: str, body: DeleteBody, session: SessionDep, store: EditorStore) -> dict[str, Any]:
    """Delete the connection with its keys and ledger Variables; ``confirm`` must repeat its id."""
    if body.confirm != connection_id:
        raise ApiError(400, f"type the technical name {connection_id!r} to confirm; nothing was deleted", "confirm")
    removed = management.delete_connection(store, connection_id)
    session.commit()
    return {"removed": removed.as_dict()}


@router.post(
    "/api/connections/{connection_id}/connection-json",
    dependencies=[SameOriginJson, CanEdit],
    response_model=models.ConnectionJson,
)
def connection_json(connection_id: str, body: ValuesBody, session: SessionDep) -> dict[str, Any]:
    """For a connection defined outside the metadata DB: the connection with these changes, as JSON to store
    where it is defined (secrets left out), and the CLI command making the same change; nothing is saved."""
    return external.connection_json(ConnectionStore(session).get(connection_id), body.values)
