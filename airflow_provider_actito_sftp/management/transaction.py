"""The one edit transaction of every front end: load, change, validate, then save (or export).

The CLI, the page and the connection-JSON preview change a connection the same way::

    with editing(store, "acme_sftp", Change.UPDATE) as edit:
        update_fields(edit.record, {"display_name": "ACME"})

An exception inside the block saves nothing. A connection kept in the metadata DB is saved with its audit log
entry; one defined outside it (an environment variable or a secrets backend) cannot be written back: it is
refused (:class:`ConnectionNotWritableError`) or, when the front end gives a file, written there complete
(0600) for the operator to store (:attr:`Edit.exported` holds its public part).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_actito_sftp.connection.audit import Change
from airflow_provider_actito_sftp.connection.store import (
    ConnectionRecord,
    ConnectionStore,
    export_for_external_store,
    keep_password_with_its_server,
)
from airflow_provider_actito_sftp.exceptions import ConnectionNotWritableError, RefusedError
from airflow_provider_actito_sftp.management.validation import validate


@dataclass
class Edit:
    """One change in progress.

    :param record: the connection to change in the block (holds secrets: never return it whole).
    :param change: the kind of change, for the audit log; the block may make it more precise.
    :param details: public facts for the audit log entry; the block may add to them.
    :param exported: after the block, the public part of the connection written to the export file (None: saved).
    """

    record: ConnectionRecord
    change: Change
    details: dict[str, Any] = field(default_factory=dict)
    exported: dict[str, Any] | None = None


@contextmanager
def editing(
    store: ConnectionStore,
    conn_id: str,
    change: Change,
    *,
    details: dict[str, Any] | None = None,
    export_to: Path | None = None,
) -> Iterator[Edit]:
    """Load a connection, let the block change it, validate it and save it with its audit log entry.

    :param store: the metadata DB's connections, with the actor the audit log names.
    :param conn_id: the connection id.
    :param change: the kind of change, for the audit log.
    :param details: public facts for the audit log (the block may add to :attr:`Edit.details`).
    :param export_to: where to write a connection defined outside the metadata DB (complete, 0600); None
        refuses such a connection before the block runs.
    :raises ConnectionNotFoundError: no such connection.
    :raises ConnectionNotWritableError: it is defined outside the metadata DB and ``export_to`` is None.
    :raises RefusedError: ``export_to`` exists already (nothing is overwritten).
    :raises ConnectionConfigError: the changed connection does not validate (nothing is saved).
    """
    record = store.get(conn_id)
    if not record.in_metadata_db:
        if export_to is None:
            raise ConnectionNotWritableError(record)
        if export_to.exists():
            raise RefusedError(
                f"{export_to} exists already (from an earlier run?); move it away or pass --secrets-file"
            )
    before = copy.deepcopy(record)
    edit = Edit(record, change, details if details is not None else {})
    yield edit
    validate(record)
    if record.in_metadata_db:
        store.save(record, change=edit.change, details=edit.details or None)
        return
    if export_to is None:  # refused before the block; for the type checker
        raise ConnectionNotWritableError(record)
    keep_password_with_its_server(before, record)  # as saving would (ConnectionStore.save)
    edit.exported = export_for_external_store(record, export_to)
