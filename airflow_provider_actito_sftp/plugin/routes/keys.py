"""A connection's keys: our SSH key (generation, rotation, public key download), our inbound PGP keys
(generation, rotation, retirement, public key download) and the partner's PGP public key (set, removed).

Downloads need the read right; changes the edit right and a JSON body from this site. Only public keys are
ever answered.
"""

from __future__ import annotations

from typing import Annotated, Any

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import PlainTextResponse

from airflow_provider_actito_sftp import management
from airflow_provider_actito_sftp.connection.audit import Change
from airflow_provider_actito_sftp.exceptions import ActitoSftpError
from airflow_provider_actito_sftp.plugin import models
from airflow_provider_actito_sftp.plugin.bodies import (
    PartnerKeyBody,
    PgpGenerateBody,
    PgpRetireBody,
    PgpRotateBody,
    SshGenerateBody,
    SshRotateBody,
)
from airflow_provider_actito_sftp.plugin.errors import ERROR_RESPONSES, FILE_ERROR_RESPONSES
from airflow_provider_actito_sftp.plugin.limits import ServerCall, interactive_timeout
from airflow_provider_actito_sftp.plugin.security import CanEdit, CanRead, EditorStore, SameOriginJson
from airflow_provider_actito_sftp.plugin.views import listed_record
from airflow_provider_actito_sftp.ssh.key_type import PublicKeyFormat

router = APIRouter(tags=["keys"], responses=ERROR_RESPONSES)
CONNECTION = "/api/connections/{connection_id}"
CHANGE = [SameOriginJson, CanEdit]


# --- downloads ----------------------------------------------------------------------------------------


@router.get(
    f"{CONNECTION}/ssh-public-key",
    dependencies=[CanRead],
    response_class=PlainTextResponse,
    responses=FILE_ERROR_RESPONSES,
)
def ssh_public_key(
    connection_id: str,
    session: SessionDep,
    key_format: Annotated[PublicKeyFormat, Query(alias="format")] = PublicKeyFormat.OPENSSH,
) -> PlainTextResponse:
    """Our public key as a file: ``?format=openssh`` (default, ``<id>.pub``) or ``rfc4716`` (ProFTPD)."""
    from airflow_provider_actito_sftp.ssh.keys import public_key_text

    active, _ = management.ssh_public_keys(listed_record(session, connection_id))
    if active is None:
        raise HTTPException(404, f"connection {connection_id!r} has no SSH key")
    return _download(public_key_text(active.public_line, key_format), f"{connection_id}{key_format.file_suffix}")


@router.get(
    f"{CONNECTION}/pgp-public-key",
    dependencies=[CanRead],
    response_class=PlainTextResponse,
    responses=FILE_ERROR_RESPONSES,
)
def pgp_public_key(connection_id: str, session: SessionDep) -> PlainTextResponse:
    """Our newest inbound PGP public key, armored, as a file (``<id>-inbound.asc``)."""
    try:
        armored, _ = management.pgp_public_key(listed_record(session, connection_id))
    except ActitoSftpError as e:
        raise HTTPException(404, e.for_page()) from e
    return _download(armored, f"{connection_id}-inbound.asc")


def _download(content: str, filename: str) -> PlainTextResponse:
    return PlainTextResponse(content, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# --- our SSH key ----------------------------------------------------------------------------------------


@router.post(f"{CONNECTION}/ssh-key/generate", dependencies=CHANGE, response_model=models.SshPublicKey)
def generate_ssh_key(
    connection_id: str, body: SshGenerateBody, session: SessionDep, store: EditorStore
) -> dict[str, str]:
    """Generate our SSH key pair (``force``: replace the existing one at once)."""
    with management.editing(store, connection_id, Change.SSH_KEY_GENERATE) as edit:
        pair = management.ssh_key_generate(edit.record, body.key_type, force=body.force)
    session.commit()
    return pair.public_view()


@router.post(f"{CONNECTION}/ssh-key/rotate", dependencies=[*CHANGE, ServerCall], response_model=models.SshKeyRotated)
def rotate_ssh_key(connection_id: str, body: SshRotateBody, session: SessionDep, store: EditorStore) -> dict[str, str]:
    """One rotation step: a new pending key, or the pending key activated once the server accepts it."""
    with management.editing(store, connection_id, Change.SSH_KEY_ROTATE) as edit:
        rotation = management.ssh_key_rotate(
            edit.record, force=body.force, restart=body.restart, timeout=interactive_timeout()
        )
        edit.details["state"] = rotation.state.value
    session.commit()
    return rotation.as_dict()


# --- our inbound PGP keys -------------------------------------------------------------------------------


@router.post(f"{CONNECTION}/pgp-key/generate", dependencies=CHANGE, response_model=models.PgpKey)
def generate_pgp_key(
    connection_id: str, body: PgpGenerateBody, session: SessionDep, store: EditorStore
) -> dict[str, Any]:
    """Generate our inbound PGP key (``force``: replace the existing keys)."""
    with management.editing(store, connection_id, Change.PGP_KEY_GENERATE) as edit:
        info = management.pgp_key_generate(edit.record, body.key_type, expires=body.expires, force=body.force)
    session.commit()
    return info.as_dict()


@router.post(f"{CONNECTION}/pgp-key/rotate", dependencies=CHANGE, response_model=models.PgpKey)
def rotate_pgp_key(connection_id: str, body: PgpRotateBody, session: SessionDep, store: EditorStore) -> dict[str, Any]:
    """Add a new inbound PGP key (handed out from now on); older keys keep decrypting."""
    with management.editing(store, connection_id, Change.PGP_KEY_ROTATE) as edit:
        info = management.pgp_key_rotate(edit.record, body.key_type, expires=body.expires)
    session.commit()
    return info.as_dict()


@router.post(f"{CONNECTION}/pgp-key/retire", dependencies=CHANGE, response_model=models.PgpKeysRetired)
def retire_pgp_keys(connection_id: str, body: PgpRetireBody, session: SessionDep, store: EditorStore) -> dict[str, Any]:
    """Remove inbound keys: those given, or all but the newest."""
    with management.editing(store, connection_id, Change.PGP_KEY_RETIRE) as edit:
        retired = management.pgp_key_retire(edit.record, body.fingerprints)
    session.commit()
    return {"retired": [info.as_dict() for info in retired]}


# --- the partner's PGP key --------------------------------------------------------------------------------


@router.put(f"{CONNECTION}/partner-key", dependencies=CHANGE, response_model=models.PartnerKey)
def set_partner_key(
    connection_id: str, body: PartnerKeyBody, session: SessionDep, store: EditorStore
) -> dict[str, Any]:
    """Store the partner's public key (one key that can encrypt); ``warning`` if it expires soon."""
    with management.editing(store, connection_id, Change.PARTNER_KEY_SET) as edit:
        info, warning = management.partner_key_set(edit.record, body.text())
    session.commit()
    return {**info.as_dict(), "warning": warning}


@router.delete(f"{CONNECTION}/partner-key", dependencies=CHANGE, response_model=models.PartnerKeyRemoved)
def remove_partner_key(connection_id: str, session: SessionDep, store: EditorStore) -> dict[str, Any]:
    """Remove the partner's public key (a JSON body, ``{}``); refused while outbound PGP encryption is on.
    ``fingerprint``: the removed key's (null if it no longer validated)."""
    with management.editing(store, connection_id, Change.PARTNER_KEY_REMOVE) as edit:
        fingerprint = management.partner_key_remove(edit.record)
    session.commit()
    return {"fingerprint": fingerprint}
