"""A server's host key: fetched to be confirmed with the partner before a connection is created, and pinned
again on a connection (both reach the partner's server: ``ServerCall``, bounded in number and time).
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter

from airflow_provider_actito_sftp import management
from airflow_provider_actito_sftp.connection.audit import Change
from airflow_provider_actito_sftp.connection.schema import BY_NAME
from airflow_provider_actito_sftp.plugin import models
from airflow_provider_actito_sftp.plugin.bodies import HostKeyFetch, RepinBody
from airflow_provider_actito_sftp.plugin.errors import ERROR_RESPONSES
from airflow_provider_actito_sftp.plugin.limits import ServerCall, interactive_timeout
from airflow_provider_actito_sftp.plugin.security import CanCreateOrEdit, CanEdit, EditorStore, SameOriginJson
from airflow_provider_actito_sftp.ssh.algorithms import LEGACY_FIELD, Algorithms

router = APIRouter(tags=["host keys"], responses=ERROR_RESPONSES)


@router.post(
    "/api/host-key/fetch",
    dependencies=[SameOriginJson, CanCreateOrEdit, ServerCall],
    response_model=models.HostKeysOffered,
)
def fetch_host_key(body: HostKeyFetch) -> dict[str, Any]:
    """The host key the server presents (one connection, as ``ssh`` makes), to confirm with the partner before
    pinning it: its ``algorithm`` and ``fingerprint``, and ``keys``, that one. A fingerprint the partner gives of
    another of the server's keys is still found on creation. ``legacy_algorithms``: the weaker algorithms the new
    connection accepts (without the one an old server needs, the refusal names the field)."""
    legacy = BY_NAME[LEGACY_FIELD].read("", body.legacy_algorithms)  # the field's own refusal of an unknown word
    algorithms = Algorithms(legacy=tuple(legacy))
    offer = management.fetch_host_key_offer(
        body.host.strip(), body.port, timeout=interactive_timeout(), algorithms=algorithms
    )
    first = {"algorithm": offer.algorithm, "fingerprint": offer.fingerprint}
    return {"host": offer.host, "port": offer.port, **first, "keys": offer.described()}


@router.post(
    "/api/connections/{connection_id}/host-key",
    dependencies=[SameOriginJson, CanEdit, ServerCall],
    response_model=models.HostKeyPinned,
)
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
