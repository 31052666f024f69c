"""The Airflow Variable keys that hold a connection's transfer state, each owned by exactly one connection.

Tasks keep two kinds of records in Airflow Variables (the only state a task may write): the keep-mode
import ledger and the export delivery log (:mod:`~airflow_provider_actito_sftp.transfer.ledger`). Their keys
are made here, and here alone it is decided which keys belong to a connection, so that deleting ``acme``
removes exactly ``acme``'s records: never those of ``acme:eu``, ``ACME`` or of another id sharing its first
characters.

A key is ``actito_sftp_<kind>@<connection>@<location>@<record>``:

- ``<connection>`` is the conn_id itself when it is short and made only of ``A-Z a-z 0-9 _ . -`` (readable
  in Airflow's Variables page), else ``~`` and a SHA-256 digest of the exact id (any length, case or
  character). ``@`` and ``~`` never occur in a conn_id, so no key of one connection starts like another's.
- ``<location>`` is the location's name (letters, digits, ``_ . -``: never ``@``).
- ``<record>`` is a digest of who keeps the record and the file's name (:func:`record_digest`).

Keys of earlier versions, ``actito_sftp_<kind>:<conn_id[:100]>:<location>:<record>``, are still read
(:func:`legacy_key`) and deleted with their connection (:func:`owns_legacy_key`).
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum


class StateKind(StrEnum):
    """The records a connection's transfers keep in Variables."""

    LEDGER = "ledger"  # keep-mode imports: what was imported
    DELIVERED = "delivered"  # exports: what a task instance delivered, so its retry completes the batch


KEY_PREFIX = "actito_sftp_"
SEPARATOR = "@"
READABLE_ID = re.compile(r"[A-Za-z0-9_.-]{1,120}")
LEGACY_ID_LENGTH = 100  # earlier versions kept the first 100 characters of the id
_LEGACY_TAIL = re.compile(r":(?P<location>[A-Za-z0-9][A-Za-z0-9_.-]{0,63}):(?P<record>[0-9a-f]{40})")


def connection_part(conn_id: str) -> str:
    """The part of a key that names the connection: the id when readable, else ``~`` and its digest.

    :param conn_id: the connection's exact id.
    """
    if READABLE_ID.fullmatch(conn_id):
        return conn_id
    return "~" + hashlib.sha256(conn_id.encode("utf-8", "surrogateescape")).hexdigest()[:40]


def record_digest(scope: str, name: str) -> str:
    """The record part of a key: who keeps the record (a ledger's consumer, a delivery's owner) and the file.

    :param scope: the ledger's consumer (``dag_id.task_id``) or the exporting task instance's owner id.
    :param name: the remote file's name.
    """
    identity = f"{scope}\0{name}".encode("utf-8", "surrogateescape")
    return hashlib.sha256(identity).hexdigest()[:40]


def state_key(kind: StateKind, conn_id: str, location: str, record: str) -> str:
    """The Variable key of one record (at most 250 characters, Airflow's limit).

    :param kind: ledger or delivery log.
    :param conn_id: the connection's exact id.
    :param location: the location's name.
    :param record: :func:`record_digest` of the record.
    """
    return SEPARATOR.join((key_prefix(kind, conn_id).removesuffix(SEPARATOR), location, record))


def key_prefix(kind: StateKind, conn_id: str) -> str:
    """What every key of this kind and connection starts with, and no key of another connection does.

    :param kind: ledger or delivery log.
    :param conn_id: the connection's exact id.
    """
    return f"{KEY_PREFIX}{kind.value}{SEPARATOR}{connection_part(conn_id)}{SEPARATOR}"


def legacy_key(kind: StateKind, conn_id: str, location: str, record: str) -> str | None:
    """The key an earlier version used for the same record; None where it was shared with other connections
    (ids of 100 characters or more: only their first 100 were kept).

    :param kind: ledger or delivery log.
    :param conn_id: the connection's exact id.
    :param location: the location's name.
    :param record: :func:`record_digest` of the record.
    """
    if len(conn_id) >= LEGACY_ID_LENGTH:
        return None
    return f"{legacy_prefix(kind, conn_id)}{location}:{record}"


def legacy_prefix(kind: StateKind, conn_id: str) -> str:
    """What an earlier version's keys of this kind and connection start with (other ids' keys may too).

    :param kind: ledger or delivery log.
    :param conn_id: the connection's exact id.
    """
    return f"{KEY_PREFIX}{kind.value}:{conn_id[:LEGACY_ID_LENGTH]}:"


def owns_key(conn_id: str, key: str) -> bool:
    """Whether ``key`` holds a record of this very connection (case and every character compared).

    :param conn_id: the connection's exact id.
    :param key: a Variable key.
    """
    return any(key.startswith(key_prefix(kind, conn_id)) for kind in StateKind) or owns_legacy_key(conn_id, key)


def owns_legacy_key(conn_id: str, key: str) -> bool:
    """Whether ``key`` is an earlier version's key written for this connection's id (or, for an id of 100
    characters or more, for an id that shares its first 100 characters).

    :param conn_id: the connection's exact id.
    :param key: a Variable key.
    """
    for kind in StateKind:
        prefix = legacy_prefix(kind, conn_id)
        if key.startswith(prefix) and _LEGACY_TAIL.fullmatch(key[len(prefix) - 1 :]):
            return True
    return False
