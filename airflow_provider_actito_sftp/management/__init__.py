"""Configuration operations shared by the CLI and the UI plugin: fields, keys, host key pin, locations, views.

Every decision lives here, so both front ends behave alike. Each function changes a
:class:`~airflow_provider_actito_sftp.connection.store.ConnectionRecord` in memory; the caller validates
the result with :func:`validate` (the hook's own parser) and saves it with the store, all inside
:func:`editing`, the edit transaction every front end uses. Results carry
public material only (public keys, fingerprints, expiry dates), never a secret.

- :mod:`.config`: :func:`update_fields` (every field set by value, for every front end; fields fixed after
  creation keep their value), :func:`new_connection`, locations.
- :mod:`.keys`: our SSH key and its rotation (:func:`ssh_key_rotate`), inbound PGP keys, the partner key.
- :mod:`.host_keys`: fetch the server's host key, compare it, pin it or refuse.
- :mod:`.describe`: :func:`describe`, the one secret-free view of a connection.
- :mod:`.transaction`: :func:`editing`, the one edit transaction (load, change, validate, save or export).
- :mod:`.lifecycle`: :func:`create_connection`, :func:`repin_host_key`,
  :func:`connection_checks` (one :class:`Check` line per step, the hook's ``ServerChecks`` bounded in time),
  :func:`delete_connection` (with its ledger Variables).

Names are imported on first use (PEP 562): ``from airflow_provider_actito_sftp import management`` costs
nothing, so the CLI answers ``--help`` and usage errors without loading asyncssh or Airflow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_actito_sftp.connection.schema import editable_fields
    from airflow_provider_actito_sftp.hooks.server_checks import Check
    from airflow_provider_actito_sftp.management.config import (
        FieldUpdate,
        location_remove,
        location_set,
        new_connection,
        update_fields,
    )
    from airflow_provider_actito_sftp.management.describe import describe
    from airflow_provider_actito_sftp.management.host_keys import (
        HostKeyOffer,
        HostKeyPin,
        fetch_host_key_offer,
        pin_host_key,
    )
    from airflow_provider_actito_sftp.management.keys import (
        RotationState,
        SshKeyRotation,
        partner_key_info,
        partner_key_remove,
        partner_key_set,
        pgp_inbound_keys,
        pgp_key_generate,
        pgp_key_retire,
        pgp_key_rotate,
        pgp_public_key,
        ssh_key_generate,
        ssh_key_rotate,
        ssh_public_keys,
    )
    from airflow_provider_actito_sftp.management.lifecycle import (
        Created,
        Removed,
        check_conn_id,
        check_location,
        connection_checks,
        create_connection,
        delete_connection,
        repin_host_key,
    )
    from airflow_provider_actito_sftp.management.transaction import Edit, editing
    from airflow_provider_actito_sftp.management.validation import validate

_HOMES = {
    "Check": "hooks.server_checks",
    "Created": "management.lifecycle",
    "Edit": "management.transaction",
    "FieldUpdate": "management.config",
    "HostKeyOffer": "management.host_keys",
    "HostKeyPin": "management.host_keys",
    "Removed": "management.lifecycle",
    "RotationState": "management.keys",
    "SshKeyRotation": "management.keys",
    "check_conn_id": "management.lifecycle",
    "check_location": "management.lifecycle",
    "connection_checks": "management.lifecycle",
    "create_connection": "management.lifecycle",
    "delete_connection": "management.lifecycle",
    "describe": "management.describe",
    "editing": "management.transaction",
    "editable_fields": "connection.schema",
    "fetch_host_key_offer": "management.host_keys",
    "location_remove": "management.config",
    "location_set": "management.config",
    "new_connection": "management.config",
    "partner_key_info": "management.keys",
    "partner_key_remove": "management.keys",
    "partner_key_set": "management.keys",
    "pgp_inbound_keys": "management.keys",
    "pgp_key_generate": "management.keys",
    "pgp_key_retire": "management.keys",
    "pgp_key_rotate": "management.keys",
    "pgp_public_key": "management.keys",
    "pin_host_key": "management.host_keys",
    "repin_host_key": "management.lifecycle",
    "ssh_key_generate": "management.keys",
    "ssh_key_rotate": "management.keys",
    "ssh_public_keys": "management.keys",
    "update_fields": "management.config",
    "validate": "management.validation",
}


def __getattr__(name: str) -> Any:
    """Import ``name`` from its module on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"airflow_provider_actito_sftp.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


__all__ = [
    "Check",
    "Created",
    "Edit",
    "FieldUpdate",
    "HostKeyOffer",
    "HostKeyPin",
    "Removed",
    "RotationState",
    "SshKeyRotation",
    "check_conn_id",
    "check_location",
    "connection_checks",
    "create_connection",
    "delete_connection",
    "describe",
    "editable_fields",
    "editing",
    "fetch_host_key_offer",
    "location_remove",
    "location_set",
    "new_connection",
    "partner_key_info",
    "partner_key_remove",
    "partner_key_set",
    "pgp_inbound_keys",
    "pgp_key_generate",
    "pgp_key_retire",
    "pgp_key_rotate",
    "pgp_public_key",
    "pin_host_key",
    "repin_host_key",
    "ssh_key_generate",
    "ssh_key_rotate",
    "ssh_public_keys",
    "update_fields",
    "validate",
]
