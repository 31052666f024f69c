"""The configuration API of the UI plugin: create, edit, test and delete connections, manage their keys.

Each route parses, authorizes, calls :mod:`airflow_provider_actito_sftp.management` (where every decision
lives) and maps its errors. Reading needs Airflow's read right on the connection, changes its edit right,
creation its create right (also checked for the new id) and deletion its delete right; every state change
also needs a JSON body and no foreign ``Origin`` (:func:`~.app.same_origin_json`). No response and no log
line carries a secret.

Errors are ``{"detail": "...", "field": "<field or null>"}``: 400 refused or invalid, 404 unknown
connection, 409 the id is taken or the connection lives outside the metadata DB. A body of the wrong
shape (a missing key, a port that is not a number) is a 400 too, naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import ConnectionDetails
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_connection
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from airflow_provider_actito_sftp import management
from airflow_provider_actito_sftp.connection.audit import Actor, Change
from airflow_provider_actito_sftp.connection.schema import CHOICE_LABELS, FIELDS
from airflow_provider_actito_sftp.connection.schema import Field as SchemaField
from airflow_provider_actito_sftp.connection.store import ConnectionRecord, ConnectionStore
from airflow_provider_actito_sftp.exceptions import (
    ActitoSftpError,
    ConnectionConfigError,
    ConnectionExistsError,
    ConnectionNotFoundError,
    ConnectionNotWritableError,
)
from airflow_provider_actito_sftp.plugin import wording
from airflow_provider_actito_sftp.plugin.app import SameOriginJson
from airflow_provider_actito_sftp.plugin.bodies import (
    ApiError,
    CreateBody,
    DeleteBody,
    HostKeyFetch,
    LocationBody,
    PartnerKeyBody,
    PgpGenerateBody,
    PgpRetireBody,
    PgpRotateBody,
    RepinBody,
    SshGenerateBody,
    SshRotateBody,
    ValuesBody,
)
from airflow_provider_actito_sftp.plugin.limits import ServerCall, interactive_timeout

CanRead = Depends(requires_access_connection(method="GET"))
CanEdit = Depends(requires_access_connection(method="PUT"))
CanCreate = Depends(requires_access_connection(method="POST"))
CanDelete = Depends(requires_access_connection(method="DELETE"))
READ_ONLY_REASON = (
    "defined outside the Airflow metadata DB (an environment variable or a secrets backend): "
    "change it where it is defined"
)

PAGE = "Actito SFTP page"

router = APIRouter()


def editor_store(user: GetUserDep, session: SessionDep) -> ConnectionStore:
    """The request's connection store: its changes are audited as this user's, made on the page."""
    return ConnectionStore(session, actor=Actor(user.get_name(), PAGE))


EditorStore = Annotated[ConnectionStore, Depends(editor_store)]


def install(app: FastAPI) -> None:
    """Add the routes and the error mapping to the plugin's app."""
    app.include_router(router)
    from airflow_provider_actito_sftp.plugin import external_api  # it imports this module: not at the top

    app.include_router(external_api.router)  # connections outside the DB: the updated connection JSON
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ActitoSftpError, _provider_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)


async def _api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return JSONResponse({"detail": error.detail, "field": error.field}, status_code=error.status)


async def _provider_error(request: Request, error: Exception) -> JSONResponse:
    """A provider error in the page's words (labels, buttons), with the field it concerns."""
    assert isinstance(error, ActitoSftpError)
    if isinstance(error, ConnectionNotFoundError):
        status = 404
    elif isinstance(error, ConnectionExistsError | ConnectionNotWritableError):
        status = 409
    else:
        status = 400
    field = getattr(error, "field", None)  # a field's error (ConnectionConfigError, TargetNotAllowedError)
    return JSONResponse({"detail": wording.page_message(error), "field": field}, status_code=status)


async def _invalid_request(request: Request, error: Exception) -> JSONResponse:
    """A body or parameter of the wrong shape: 400 naming the first offending field."""
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0] if error.errors() else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    field = location[-1] if location else None
    detail = wording.invalid_request(location, str(first.get("msg", "invalid request")))
    return JSONResponse({"detail": detail, "field": field}, status_code=400)


# --- schema and host key --------------------------------------------------------------------------


@router.get("/api/schema", dependencies=[CanRead])
def schema() -> dict[str, Any]:
    """Every connection field, for forms."""
    return {"fields": [_field_view(field) for field in FIELDS]}


def can_create_or_edit(user: GetUserDep) -> None:
    """The user may create or edit connections (in general)."""
    auth = get_auth_manager()
    if not any(auth.is_authorized_connection(method=method, user=user) for method in ("POST", "PUT")):
        raise HTTPException(403, "Forbidden")


@router.post("/api/host-key/fetch", dependencies=[SameOriginJson, Depends(can_create_or_edit), ServerCall])
def fetch_host_key(body: HostKeyFetch) -> dict[str, Any]:
    """The host keys a server holds, to confirm one with the partner before pinning it: ``algorithm`` and
    ``fingerprint`` of the one shown first (ed25519), and ``keys``, all of them."""
    offer = management.fetch_host_key_offer(body.host.strip(), body.port, timeout=interactive_timeout())
    first = {"algorithm": offer.algorithm, "fingerprint": offer.fingerprint}
    return {"host": offer.host, "port": offer.port, **first, "keys": offer.described()}


# --- connections ----------------------------------------------------------------------------------


@router.post("/api/connections", status_code=201, dependencies=[SameOriginJson, CanCreate, ServerCall])
def create(body: CreateBody, user: GetUserDep, session: SessionDep, store: EditorStore) -> dict[str, Any]:
    """Create a connection: host key fetched again here and pinned if confirmed, SSH key generated."""
    details = ConnectionDetails(conn_id=body.conn_id)
    if not get_auth_manager().is_authorized_connection(method="POST", user=user, details=details):
        raise HTTPException(403, "Forbidden")
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


@router.get("/api/connections/{connection_id}", dependencies=[CanRead])
def show(connection_id: str, user: GetUserDep, session: SessionDep) -> dict[str, Any]:
    """The connection in full (key details), whether it may be changed here and why not, and what this
    user may do with it (``rights``: the page shows only the controls the user may use)."""
    return {**_view(ConnectionStore(session).get(connection_id)), "rights": _rights(user, connection_id)}


@router.patch("/api/connections/{connection_id}", dependencies=[SameOriginJson, CanEdit])
def update(connection_id: str, body: ValuesBody, session: SessionDep, store: EditorStore) -> dict[str, Any]:
    """Change fields by value (the password is never returned, and comes again with a new host or port; the
    entity is fixed). ``password_removed``: the switch to SSH key authentication removed the stored password."""
    with management.editing(store, connection_id, Change.UPDATE) as edit:
        update = management.update_fields(edit.record, body.values)
    session.commit()
    return {**_view(edit.record), "password_removed": update.password_removed}


@router.post("/api/connections/{connection_id}/host-key", dependencies=[SameOriginJson, CanEdit, ServerCall])
def repin(connection_id: str, body: RepinBody, session: SessionDep, store: EditorStore) -> dict[str, Any]:
    """Fetch the server's host key again and pin it if confirmed (with the password again, if it has one)."""
    with management.editing(store, connection_id, Change.HOST_KEY_PIN) as edit:
        if body.password:
            management.update_fields(edit.record, {"password": body.password})
        pin = management.repin_host_key(
            edit.record,
            expected_fingerprint=body.expected_fingerprint,
            trust_on_first_use=body.trust_on_first_use,
            timeout=interactive_timeout(),
        )
        edit.details["trusted_on_first_use"] = pin.trusted_on_first_use
    session.commit()
    return {"fingerprint": pin.fingerprint, "trusted_on_first_use": pin.trusted_on_first_use}


@router.put("/api/connections/{connection_id}/locations/{name}", dependencies=[SameOriginJson, CanEdit, ServerCall])
def set_location(
    connection_id: str, name: str, body: LocationBody, session: SessionDep, store: EditorStore
) -> dict[str, Any]:
    """Add or update a location; with ``check``, its folder must exist on the server."""
    with management.editing(store, connection_id, Change.LOCATION_ADD) as edit:
        if management.location_set(edit.record, name, body.path, must_exist=None):
            edit.change = Change.LOCATION_UPDATE
        if body.check:
            management.check_location(edit.record, name, timeout=interactive_timeout())
    session.commit()
    return _view(edit.record)


@router.delete("/api/connections/{connection_id}/locations/{name}", dependencies=[SameOriginJson, CanEdit])
def remove_location(connection_id: str, name: str, session: SessionDep, store: EditorStore) -> dict[str, Any]:
    with management.editing(store, connection_id, Change.LOCATION_REMOVE) as edit:
        management.location_remove(edit.record, name)
    session.commit()
    return _view(edit.record)


@router.post("/api/connections/{connection_id}/ssh-key/generate", dependencies=[SameOriginJson, CanEdit])
def generate_ssh_key(
    connection_id: str, body: SshGenerateBody, session: SessionDep, store: EditorStore
) -> dict[str, str]:
    """Generate our SSH key pair (``force``: replace the existing one at once)."""
    with management.editing(store, connection_id, Change.SSH_KEY_GENERATE) as edit:
        pair = management.ssh_key_generate(edit.record, body.key_type, force=body.force)
    session.commit()
    return pair.public_view()


@router.post("/api/connections/{connection_id}/ssh-key/rotate", dependencies=[SameOriginJson, CanEdit, ServerCall])
def rotate_ssh_key(connection_id: str, body: SshRotateBody, session: SessionDep, store: EditorStore) -> dict[str, str]:
    """One rotation step: a new pending key, or the pending key activated once the server accepts it."""
    with management.editing(store, connection_id, Change.SSH_KEY_ROTATE) as edit:
        rotation = management.ssh_key_rotate(
            edit.record, force=body.force, restart=body.restart, timeout=interactive_timeout()
        )
        edit.details["state"] = rotation.state.value
    session.commit()
    return rotation.as_dict()


@router.post("/api/connections/{connection_id}/pgp-key/generate", dependencies=[SameOriginJson, CanEdit])
def generate_pgp_key(
    connection_id: str, body: PgpGenerateBody, session: SessionDep, store: EditorStore
) -> dict[str, Any]:
    with management.editing(store, connection_id, Change.PGP_KEY_GENERATE) as edit:
        info = management.pgp_key_generate(edit.record, body.key_type, expires=body.expires, force=body.force)
    session.commit()
    return info.as_dict()


@router.post("/api/connections/{connection_id}/pgp-key/rotate", dependencies=[SameOriginJson, CanEdit])
def rotate_pgp_key(connection_id: str, body: PgpRotateBody, session: SessionDep, store: EditorStore) -> dict[str, Any]:
    """Add a new inbound PGP key (handed out from now on); older keys keep decrypting."""
    with management.editing(store, connection_id, Change.PGP_KEY_ROTATE) as edit:
        info = management.pgp_key_rotate(edit.record, body.key_type, expires=body.expires)
    session.commit()
    return info.as_dict()


@router.post("/api/connections/{connection_id}/pgp-key/retire", dependencies=[SameOriginJson, CanEdit])
def retire_pgp_keys(connection_id: str, body: PgpRetireBody, session: SessionDep, store: EditorStore) -> dict[str, Any]:
    """Remove inbound keys: those given, or all but the newest."""
    with management.editing(store, connection_id, Change.PGP_KEY_RETIRE) as edit:
        retired = management.pgp_key_retire(edit.record, body.fingerprints)
    session.commit()
    return {"retired": [info.as_dict() for info in retired]}


@router.put("/api/connections/{connection_id}/partner-key", dependencies=[SameOriginJson, CanEdit])
def set_partner_key(
    connection_id: str, body: PartnerKeyBody, session: SessionDep, store: EditorStore
) -> dict[str, Any]:
    """Store the partner's public key (one key that can encrypt); ``warning`` if it expires soon."""
    with management.editing(store, connection_id, Change.PARTNER_KEY_SET) as edit:
        info, warning = management.partner_key_set(edit.record, body.text())
    session.commit()
    return {**info.as_dict(), "warning": warning}


@router.delete("/api/connections/{connection_id}/partner-key", dependencies=[SameOriginJson, CanEdit])
def remove_partner_key(connection_id: str, session: SessionDep, store: EditorStore) -> dict[str, Any]:
    """Remove the partner's public key (a JSON body, ``{}``); refused while outbound PGP encryption is on.
    ``fingerprint``: the removed key's (null if it no longer validated)."""
    with management.editing(store, connection_id, Change.PARTNER_KEY_REMOVE) as edit:
        fingerprint = management.partner_key_remove(edit.record)
    session.commit()
    return {"fingerprint": fingerprint}


@router.post("/api/connections/{connection_id}/test", dependencies=[SameOriginJson, CanEdit, ServerCall])
def test(connection_id: str, session: SessionDep) -> dict[str, Any]:
    """Connect, verify the host key, authenticate and check every location: one line each."""
    record = ConnectionStore(session).get(connection_id)
    checks = management.connection_checks(record, timeout=interactive_timeout())
    return {"ok": all(check.ok for check in checks), "checks": [check.as_dict() for check in checks]}


@router.delete("/api/connections/{connection_id}", dependencies=[SameOriginJson, CanDelete])
def delete(connection_id: str, body: DeleteBody, session: SessionDep, store: EditorStore) -> dict[str, Any]:
    """Delete the connection with its keys and ledger Variables; ``confirm`` must repeat its id."""
    if body.confirm != connection_id:
        raise ApiError(400, f"type the technical name {connection_id!r} to confirm; nothing was deleted", "confirm")
    removed = management.delete_connection(store, connection_id)
    session.commit()
    return {"removed": removed.as_dict()}


# --- helpers --------------------------------------------------------------------------------------


def _field_view(field: SchemaField) -> dict[str, Any]:
    default = list(field.default) if isinstance(field.default, tuple) else field.default
    return {
        "name": field.name,
        "label": field.label,
        "help": field.help,
        "screen": field.screen.value,
        "kind": field.kind.value,
        "default": default,
        "minimum": field.minimum,
        "maximum": field.maximum,
        "choices": list(field.choices),
        "choice_labels": {choice: CHOICE_LABELS.get(choice, choice) for choice in field.choices},
        "required": field.required,
        "secret": field.secret,
        "generated": field.generated,
        "placeholder": field.placeholder,
    }


def _view(record: ConnectionRecord) -> dict[str, Any]:
    """The description; for a connection that does not validate, its public values and what is wrong."""
    writable = record.in_metadata_db
    state = {"writable": writable, "read_only_reason": None if writable else READ_ONLY_REASON}
    try:
        return {**management.describe(record), **state}
    except ConnectionConfigError as e:
        columns = {"host": record.host, "port": record.port, "username": record.login}
        public = {"conn_id": record.conn_id, **record.public_extra(), **columns}
        return {**public, "error": wording.page_message(e), "error_field": e.field, **state}


def _rights(user: Any, connection_id: str) -> dict[str, bool]:
    """What the auth manager lets this user do with this connection: ``{"edit": ..., "delete": ...}``."""
    auth, details = get_auth_manager(), ConnectionDetails(conn_id=connection_id)
    return {
        "edit": auth.is_authorized_connection(method="PUT", user=user, details=details),
        "delete": auth.is_authorized_connection(method="DELETE", user=user, details=details),
    }
