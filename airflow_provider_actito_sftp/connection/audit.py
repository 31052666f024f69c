"""Every change to a connection, in Airflow's own audit log (Browse → Audit Log), never with a secret.

:class:`~airflow_provider_actito_sftp.connection.store.ConnectionStore` writes one entry per change, in the
same database transaction as the change itself, whichever front end made it (the Actito SFTP page or the
``actito-sftp`` CLI). An entry says who (``owner``: the Airflow user, or the operating-system user of the
CLI, as Airflow's own CLI records it), when (``dttm``), what kind of change (``event``, e.g.
``actito_sftp_host_key_pin``) and, in ``extra``, which connection and what changed: the old and new value
of every non-secret field, the fingerprints of pinned host keys and SSH keys, and for secrets only that
they were set, replaced or removed. Extra keys the schema does not know appear by name only.
"""

from __future__ import annotations

import getpass
import json
import socket
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from airflow_provider_actito_sftp.connection.field import Field, Kind
from airflow_provider_actito_sftp.connection.schema import FIELDS

EVENT_PREFIX = "actito_sftp_"


class AuditedRecord(Protocol):
    """What the audit reads of a connection record (``store.ConnectionRecord``, whose store imports this module):
    its extra fields, whether the password was typed in with this change, and its columns by name (``getattr``)."""

    @property
    def extra(self) -> dict[str, Any]: ...

    @property
    def password_entered(self) -> bool: ...


class Change(StrEnum):
    """The kinds of change, as the audit log's ``event`` names them (prefixed ``actito_sftp_``)."""

    CREATE = "connection_create"
    UPDATE = "connection_update"
    DELETE = "connection_delete"
    HOST_KEY_PIN = "host_key_pin"
    LOCATION_ADD = "location_add"
    LOCATION_UPDATE = "location_update"
    LOCATION_REMOVE = "location_remove"
    POLICY_UPDATE = "policy_update"
    SSH_KEY_GENERATE = "ssh_key_generate"
    SSH_KEY_ROTATE = "ssh_key_rotate"
    PGP_KEY_GENERATE = "pgp_key_generate"
    PGP_KEY_ROTATE = "pgp_key_rotate"
    PGP_KEY_RETIRE = "pgp_key_retire"
    PARTNER_KEY_SET = "partner_key_set"
    PARTNER_KEY_REMOVE = "partner_key_remove"

    @property
    def event(self) -> str:
        """The audit log's ``event``: ``actito_sftp_<change>``."""
        return EVENT_PREFIX + self.value


@dataclass(frozen=True)
class Actor:
    """Who makes a change, as the audit log names them.

    :param name: the Airflow user (the page) or the operating-system user (the CLI).
    :param via: the front end: ``Actito SFTP page``, ``actito-sftp CLI`` or ``Python``.
    """

    name: str
    via: str

    @classmethod
    def local_user(cls, via: str = "Python") -> Actor:
        """The operating-system user running this process (what Airflow's own CLI records).

        :param via: the front end.
        """
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no name for this uid (a container)
            name = "unknown"
        return cls(name, via)


def field_changes(before: AuditedRecord | None, after: AuditedRecord | None) -> dict[str, Any]:
    """What changed, field by field, without any secret: ``{field: {"from": old, "to": new}}`` for public
    fields (keys by their fingerprints), ``{field: "set" | "replaced" | "removed"}`` for secrets (with the new
    public fingerprint of an SSH key; our inbound PGP keys as ``{"added": [...], "removed": [...]}``
    fingerprints), and ``{"other extra keys": {"added"|"changed"|"removed": [names]}}``.

    :param before: the connection as stored before (None: it is new).
    :param after: the connection as it is now (None: it is deleted).
    """
    changes: dict[str, Any] = {}
    for field in FIELDS:
        old, new = _value(before, field), _value(after, field)
        if old == new:
            if field.name == "password" and new and after is not None and after.password_entered:
                changes[field.name] = "entered again"  # the same password, typed in with this change
            continue
        if field.secret:
            changes[field.name] = _secret_change(field, old, new)
        else:
            changes[field.name] = {"from": _shown(field, old), "to": _shown(field, new)}
    others = _other_extra_keys(before, after)
    if others:
        changes["other extra keys"] = others
    return changes


def audit_entry(actor: Actor, change: Change, conn_id: str, changes: dict[str, Any], details: dict[str, Any]) -> Any:
    """A row of Airflow's audit log (``airflow.models.Log``) for one change (not added to a session).

    :param actor: who made it.
    :param change: what kind of change.
    :param conn_id: the connection changed.
    :param changes: :func:`field_changes`.
    :param details: public facts of the operation (fingerprints of keys generated or retired, ...).
    """
    from airflow.models.log import Log

    extra = {"conn_id": conn_id, "via": actor.via, "host_name": socket.gethostname(), "changes": changes, **details}
    text = json.dumps(extra, default=str)
    return Log(event=change.event, owner=actor.name, owner_display_name=actor.name, extra=text)


def _value(record: AuditedRecord | None, field: Field) -> Any:
    if record is None:
        return None
    value = getattr(record, field.column) if field.column else record.extra.get(field.name)
    return None if value == "" else value


def _shown(field: Field, value: Any) -> Any:
    """A public field's value as the audit log shows it; keys by their fingerprints."""
    if value is None:
        return None
    if field.name == "host_key":
        return _host_key_fingerprints(str(value))
    if field.name == "partner_pgp_public_key":
        return _partner_key_fingerprint(str(value))
    return value


def _host_key_fingerprints(text: str) -> list[str] | str:
    from airflow_provider_actito_sftp.ssh.host_keys import fingerprint, parse_host_keys

    try:
        return [fingerprint(key) for key in parse_host_keys(text)]
    except ValueError:
        return "(not a readable host key)"


def _partner_key_fingerprint(armored: str) -> str:
    from airflow_provider_actito_sftp.exceptions import ActitoSftpError
    from airflow_provider_actito_sftp.pgp.keys import validate_partner_key

    try:
        return validate_partner_key(armored).fingerprint
    except ActitoSftpError:
        return "(a key that no longer validates)"


def _secret_change(field: Field, old: Any, new: Any) -> Any:
    what = "set" if old is None else "removed" if new is None else "replaced"
    if new is not None and field.name.startswith("ssh_private_key") and field.kind is Kind.MULTILINE:
        from airflow_provider_actito_sftp.ssh.keys import describe_ssh_key

        try:
            return f"{what}: public key {describe_ssh_key(str(new)).fingerprint}"
        except ValueError:
            return what
    if field.name == "inbound_pgp_private_keys":
        old_keys, new_keys = _pgp_fingerprints(old), _pgp_fingerprints(new)
        if old_keys is not None and new_keys is not None:
            return {"added": sorted(new_keys - old_keys), "removed": sorted(old_keys - new_keys)}
    return what


def _pgp_fingerprints(armored_secret_keys: Any) -> set[str] | None:
    """The fingerprints of an inbound key block (public facts); None when gpg cannot read it."""
    if not armored_secret_keys:
        return set()
    from airflow_provider_actito_sftp.exceptions import ActitoSftpError
    from airflow_provider_actito_sftp.pgp.keys import describe_secret_keys

    try:
        return {info.fingerprint for info in describe_secret_keys(str(armored_secret_keys))}
    except ActitoSftpError:
        return None


def _other_extra_keys(before: AuditedRecord | None, after: AuditedRecord | None) -> dict[str, list[str]]:
    """Extra keys the schema does not declare, by name only: their values may be anything, secrets too."""
    known = {field.name for field in FIELDS}
    old = {key: value for key, value in (before.extra if before else {}).items() if key not in known}
    new = {key: value for key, value in (after.extra if after else {}).items() if key not in known}
    groups = {
        "added": sorted(set(new) - set(old)),
        "changed": sorted(key for key in set(old) & set(new) if old[key] != new[key]),
        "removed": sorted(set(old) - set(new)),
    }
    return {group: names for group, names in groups.items() if names}
