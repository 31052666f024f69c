"""What the page's routes show about connections (never a secret), and the connection a read route is about.

The shapes are documented by :mod:`.models`: a list row is :class:`~.models.Connection` or
:class:`~.models.InvalidConnection`, a connection's page :class:`~.models.ConnectionDetail` or
:class:`~.models.InvalidConnectionDetail`.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException

from airflow_provider_actito_sftp import management
from airflow_provider_actito_sftp.connection.field import Field as SchemaField
from airflow_provider_actito_sftp.connection.schema import CHOICE_LABELS, CONNECTION_TYPE
from airflow_provider_actito_sftp.connection.store import ConnectionRecord, ConnectionStore
from airflow_provider_actito_sftp.exceptions import ActitoSftpError, ConnectionConfigError
from airflow_provider_actito_sftp.plugin.wording import page_message

READ_ONLY_REASON = (
    "defined outside the Airflow metadata DB (an environment variable or a secrets backend): "
    "change it where it is defined"
)


def connection_row(record: ConnectionRecord) -> dict[str, Any]:
    """A connection in the list: its description without gpg calls; one that does not validate, with the reason.

    :param record: the connection.
    """
    try:
        return management.describe(record, key_details=False)
    except ActitoSftpError as e:
        return {"conn_id": record.conn_id, "error": page_message(e)}


def connection_detail(record: ConnectionRecord) -> dict[str, Any]:
    """The description, whether it may be changed here and why not; for a connection that does not validate,
    its public values and what is wrong.

    :param record: the connection.
    """
    writable = record.in_metadata_db
    state = {"writable": writable, "read_only_reason": None if writable else READ_ONLY_REASON}
    try:
        return {**management.describe(record), **state}
    except ConnectionConfigError as e:
        columns = {"host": record.host, "port": record.port, "username": record.login}
        public = {"conn_id": record.conn_id, **record.public_extra(), **columns}
        return {**public, "error": page_message(e), "error_field": e.field, **state}


def field_view(field: SchemaField) -> dict[str, Any]:
    """One connection field, for forms.

    :param field: the field.
    """
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


def listed_record(session: Any, connection_id: str) -> ConnectionRecord:
    """The metadata DB's connection of this id, for the read routes (overview, activity, key downloads).

    :param session: the request's session.
    :param connection_id: the connection.
    :raises HTTPException: 404, no such connection of this type in the metadata DB.
    """
    records = ConnectionStore(session).list({connection_id})
    if not records:
        raise HTTPException(404, f"no {CONNECTION_TYPE} connection {connection_id!r}")
    return records[0]
