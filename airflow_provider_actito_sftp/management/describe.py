"""The one secret-free view of a connection, shown by the CLI, the UI plugin and the API."""

from __future__ import annotations

from typing import Any

from airflow_provider_actito_sftp.connection.schema import FIELDS
from airflow_provider_actito_sftp.connection.settings import ConnectionSettings, raw_values, read_fields
from airflow_provider_actito_sftp.connection.store import ConnectionRecord
from airflow_provider_actito_sftp.exceptions import ActitoSftpError
from airflow_provider_actito_sftp.management.keys import pgp_inbound_keys, ssh_public_keys
from airflow_provider_actito_sftp.management.validation import RecordConnection, validate
from airflow_provider_actito_sftp.pgp.keys import PgpKeyInfo, expiry_warning, validate_partner_key
from airflow_provider_actito_sftp.ssh.host_keys import fingerprint
from airflow_provider_actito_sftp.ssh.keys import SshKeyPair


def describe(record: ConnectionRecord, *, key_details: bool = True) -> dict[str, Any]:
    """A connection without its secrets: the one view the CLI, the UI plugin and the API show.

    Every non-secret schema field appears under its own name with its parsed value, as the hook reads it
    (a pinned host key as its fingerprints, the partner key as its description); secret fields appear only
    by name in ``secrets_set``. Then ``conn_id``, ``id`` (the metadata DB row, None elsewhere),
    ``stored_in``, the public SSH keys (``ssh_key``, ``ssh_pending_key``), the inbound PGP keys and
    ``warnings``.

    :param record: the connection.
    :param key_details: describe PGP keys (gpg calls); False for lists of many connections: the partner
        key is then only ``{"configured": True}`` and there is no inbound key list.
    :raises ConnectionConfigError: the connection does not validate.
    """
    settings = validate(record)
    values = read_fields(record.conn_id, raw_values(record.conn_id, RecordConnection.of(record)))
    view: dict[str, Any] = {"conn_id": record.conn_id, "id": record.id}
    for item in FIELDS:
        if not item.secret:
            view[item.name] = _public_value(item.name, values[item.name], settings, key_details)
    view["secrets_set"] = [item.name for item in FIELDS if item.secret and values[item.name]]
    view["stored_in"] = "metadata DB" if record.in_metadata_db else "environment/secrets backend (read only)"
    active, pending = ssh_public_keys(record) if settings.auth_type.uses_key else (None, None)
    view["ssh_key"] = _ssh_key_view(active)
    view["ssh_pending_key"] = _ssh_key_view(pending)
    inbound_keys = pgp_inbound_keys(record) if key_details else []
    view["inbound_pgp_keys"] = [info.as_dict() for info in inbound_keys]
    view["warnings"] = _warnings(inbound_keys, view["partner_pgp_public_key"])
    return view


def _public_value(name: str, value: Any, settings: ConnectionSettings, key_details: bool) -> Any:
    if name == "display_name":
        return settings.display_name
    if name == "locations":
        return dict(settings.locations)
    if name == "host_key":
        return [fingerprint(key) for key in settings.host_keys] if value else None
    if name == "partner_pgp_public_key" and value:
        return _partner_key_view(value) if key_details else {"configured": True}
    return list(value) if isinstance(value, tuple) else value


def _ssh_key_view(pair: SshKeyPair | None) -> dict[str, str] | None:
    return pair.public_view() if pair else None


def _partner_key_view(armored: str) -> dict[str, Any]:
    try:
        info = validate_partner_key(armored)
    except ActitoSftpError as e:
        return {"error": str(e)}
    return {**info.as_dict(), "warning": expiry_warning(info)}


def _warnings(inbound_keys: list[PgpKeyInfo], partner: dict[str, Any] | None) -> list[str]:
    warnings = [text for text in [expiry_warning(inbound_keys[0]) if inbound_keys else None] if text]
    if partner and (problem := partner.get("error") or partner.get("warning")):
        warnings.append(f"partner {problem}")
    return warnings
