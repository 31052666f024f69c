"""A connection's locations (named folders on the partner's server): added or changed, and removed."""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter

from airflow_provider_actito_sftp import management
from airflow_provider_actito_sftp.connection.audit import Change
from airflow_provider_actito_sftp.plugin import models, views
from airflow_provider_actito_sftp.plugin.bodies import LocationBody
from airflow_provider_actito_sftp.plugin.errors import ERROR_RESPONSES
from airflow_provider_actito_sftp.plugin.limits import ServerCall, interactive_timeout
from airflow_provider_actito_sftp.plugin.security import CanEdit, EditorStore, SameOriginJson

router = APIRouter(tags=["locations"], responses=ERROR_RESPONSES)
LOCATION = "/api/connections/{connection_id}/locations/{name}"


@router.put(LOCATION, dependencies=[SameOriginJson, CanEdit, ServerCall], response_model=models.ConnectionView)
def set_location(
    connection_id: str, name: str, body: LocationBody, session: SessionDep, store: EditorStore
) -> dict[str, Any]:
    """Add or update a location; with ``check``, its folder must exist on the server. Answers the connection."""
    with management.editing(store, connection_id, Change.LOCATION_ADD) as edit:
        if management.location_set(edit.record, name, body.path, must_exist=None):
            edit.change = Change.LOCATION_UPDATE
        if body.check:
            management.check_location(edit.record, name, timeout=interactive_timeout())
    session.commit()
    return views.connection_detail(edit.record)


@router.delete(LOCATION, dependencies=[SameOriginJson, CanEdit], response_model=models.ConnectionView)
def remove_location(connection_id: str, name: str, session: SessionDep, store: EditorStore) -> dict[str, Any]:
    """Remove a location. Answers the connection."""
    with management.editing(store, connection_id, Change.LOCATION_REMOVE) as edit:
        management.location_remove(edit.record, name)
    session.commit()
    return views.connection_detail(edit.record)
