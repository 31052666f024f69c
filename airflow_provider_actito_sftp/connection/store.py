"""Reading and writing ``actito_sftp`` connections in the Airflow metadata DB (setup tooling only).

Tasks never write connections (Airflow 3 forbids DB access from tasks); the CLI and the UI plugin do,
through this module (the plugin in its request's DB session). A connection that lives in a secrets
backend or an environment variable cannot be written back: :class:`ConnectionNotWritableError` carries
what to store there instead.

Every write (create, save, delete) adds an entry to Airflow's audit log in the same transaction
(:mod:`.audit`), naming the :class:`~.audit.Actor` the store was made for.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_actito_sftp.connection.audit import Actor, Change, audit_entry, field_changes
from airflow_provider_actito_sftp.connection.schema import BY_NAME, CONNECTION_TYPE, SECRET_EXTRA_KEYS, AuthType
from airflow_provider_actito_sftp.connection.variable_keys import (
    LEGACY_ID_LENGTH,
    StateKind,
    key_prefix,
    legacy_prefix,
    owns_key,
    owns_legacy_key,
)
from airflow_provider_actito_sftp.exceptions import (
    ConnectionConfigError,
    ConnectionExistsError,
    ConnectionNotFoundError,
    ConnectionNotWritableError,
)


@dataclass
class ConnectionRecord:
    """A connection's columns and extra fields, as stored. Holds secrets: never print it whole."""

    conn_id: str
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    in_metadata_db: bool = True
    id: int | None = field(default=None, compare=False)  # the metadata DB row's id (None elsewhere or before creation)
    password_entered: bool = field(default=False, compare=False, repr=False)  # typed in with this change

    def extra_json(self) -> str:
        return json.dumps(self.extra)

    def stored(self, name: str) -> Any:
        """The stored value of the schema field ``name`` (its Airflow column or ``extra`` key); None if unset.

        :param name: a field of :data:`~airflow_provider_actito_sftp.connection.schema.FIELDS`.
        :raises KeyError: ``name`` is no field of the schema (a misspelt name fails here, never silently).
        """
        field = BY_NAME[name]
        return getattr(self, field.column) if field.column else self.extra.get(name)

    def store(self, name: str, value: Any) -> None:
        """Set the schema field ``name`` as stored (its column or ``extra`` key); None removes an extra key.

        :param name: a field of the schema.
        :param value: the value as stored (already read and checked by the caller).
        :raises KeyError: ``name`` is no field of the schema.
        """
        field = BY_NAME[name]
        if field.column:
            setattr(self, field.column, value)
        elif value is None:
            self.extra.pop(name, None)
        else:
            self.extra[name] = value

    def public_extra(self) -> dict[str, Any]:
        """Extra fields without secret ones: neither the schema's secrets nor any key Airflow's secrets masker
        would hide (``private_key``, ``token``...), nor a value holding such a key anywhere inside it."""
        return {key: value for key, value in self.extra.items() if key not in self.hidden_extra_keys()}

    def hidden_extra_keys(self) -> list[str]:
        """The extra keys :meth:`public_extra` leaves out (those with a value)."""
        return [key for key, value in self.extra.items() if value not in (None, "") and holds_secret(key, value)]

    def secret_fields(self) -> dict[str, Any]:
        """Secret columns and extra fields that are set."""
        secrets = {key: value for key, value in self.extra.items() if key in SECRET_EXTRA_KEYS and value}
        if self.password:
            secrets["password"] = self.password
        return secrets


class ConnectionStore:
    """CRUD for ``actito_sftp`` connections in the metadata DB, each change in Airflow's audit log.

    :param session: a SQLAlchemy session to work in (the UI plugin passes the request's); None: each
        call opens and commits its own.
    :param actor: who makes the changes, for the audit log (default: this process's operating-system user).
    """

    def __init__(self, session: Any = None, *, actor: Actor | None = None) -> None:
        self._session = session
        self.actor = actor or Actor.local_user()

    @contextmanager
    def transaction(self) -> Iterator[ConnectionStore]:
        """A store whose calls share one session: committed at the end (or rolled back on an error); the
        caller's own session when this store has one (the caller commits it)."""
        if self._session is not None:
            yield self
            return
        from airflow.utils.session import create_session

        with create_session() as session:
            yield ConnectionStore(session, actor=self.actor)

    @contextmanager
    def _db(self) -> Iterator[Any]:
        if self._session is not None:
            yield self._session
            self._session.flush()
            return
        from airflow.utils.session import create_session

        with create_session() as session:
            yield session

    def list(self, conn_ids: Collection[str]) -> list[ConnectionRecord]:
        """The ``actito_sftp`` connections among ``conn_ids`` that are in the metadata DB, by id."""
        from airflow.models import Connection

        with self._db() as session:
            rows = (
                session.query(Connection)
                .filter(Connection.conn_type == CONNECTION_TYPE, Connection.conn_id.in_(sorted(conn_ids)))
                .order_by(Connection.conn_id)
            )
            return [self.to_record(row) for row in rows]

    def get(self, conn_id: str) -> ConnectionRecord:
        """Load a connection: from the metadata DB, else from env vars / secrets backends (read only).

        :raises ConnectionNotFoundError: nowhere to be found, or not an ``actito_sftp`` connection.
        """
        from airflow.models import Connection

        with self._db() as session:
            stored = session.query(Connection).filter(Connection.conn_id == conn_id).one_or_none()
            if stored is not None:
                return self.to_record(stored)
        try:
            external = Connection.get_connection_from_secrets(conn_id)
        except Exception as e:  # Airflow raises its own NotFound; any backend error means "not here"
            raise ConnectionNotFoundError(f"Connection {conn_id!r} does not exist") from e
        return self.to_record(external, in_metadata_db=False)

    def exists(self, conn_id: str) -> bool:
        """Whether any connection (of any type) has this id, in the DB or elsewhere."""
        from airflow.models import Connection

        with self._db() as session:
            if session.query(Connection.id).filter(Connection.conn_id == conn_id).first() is not None:
                return True
        try:
            Connection.get_connection_from_secrets(conn_id)
        except Exception:
            return False
        return True

    def create(
        self, record: ConnectionRecord, *, change: Change = Change.CREATE, details: dict[str, Any] | None = None
    ) -> None:
        """Insert a new connection into the metadata DB (and its audit log entry).

        :param record: the new connection.
        :param change: the kind of change, for the audit log.
        :param details: public facts for the audit log (e.g. the pinned host key's fingerprint).
        :raises ConnectionExistsError: the id is taken (in the DB or elsewhere).
        """
        from airflow.models import Connection

        if self.exists(record.conn_id):
            raise ConnectionExistsError(f"Connection {record.conn_id!r} already exists")
        with self._db() as session:
            session.add(
                Connection(
                    conn_id=record.conn_id,
                    conn_type=CONNECTION_TYPE,
                    description=record.extra.get("display_name"),
                    host=record.host,
                    port=record.port,
                    login=record.login,
                    password=record.password,
                    extra=record.extra_json(),
                )
            )
            session.add(audit_entry(self.actor, change, record.conn_id, field_changes(None, record), details or {}))

    def save(
        self, record: ConnectionRecord, *, change: Change = Change.UPDATE, details: dict[str, Any] | None = None
    ) -> None:
        """Write a changed connection back to the metadata DB, with an audit log entry of what changed (none
        when nothing did).

        :param record: the connection as changed in memory.
        :param change: the kind of change, for the audit log.
        :param details: public facts for the audit log (e.g. the fingerprint of a generated key).
        :raises ConnectionNotWritableError: it lives outside the DB; the error carries the record.
        """
        from airflow.models import Connection

        if not record.in_metadata_db:
            raise ConnectionNotWritableError(record)
        with self._db() as session:
            stored = session.query(Connection).filter(Connection.conn_id == record.conn_id).one()
            before = self.to_record(stored)
            keep_password_with_its_server(before, record)
            changes = field_changes(before, record)
            if changes or details:
                session.add(audit_entry(self.actor, change, record.conn_id, changes, details or {}))
            stored.host = record.host
            stored.port = record.port
            stored.login = record.login
            if record.password:
                stored.password = record.password
            else:  # Airflow's password setter ignores a falsy value: clear the column itself
                stored._password = None
            stored.description = record.extra.get("display_name")
            stored.set_extra(record.extra_json())

    def delete(self, conn_id: str, *, details: dict[str, Any] | None = None) -> None:
        """Delete a connection and with it every key it holds (and its audit log entry).

        :param conn_id: the connection.
        :param details: public facts for the audit log (what else the deletion removed).
        :raises ConnectionNotFoundError: not in the DB.
        :raises ConnectionNotWritableError: it lives outside the DB.
        """
        from airflow.models import Connection

        record = self.get(conn_id)
        if not record.in_metadata_db:
            raise ConnectionNotWritableError(record)
        with self._db() as session:
            session.query(Connection).filter(Connection.conn_id == conn_id).delete()
            changes = field_changes(record, None)
            session.add(audit_entry(self.actor, Change.DELETE, conn_id, changes, details or {}))

    def delete_transfer_state(self, conn_id: str) -> int:
        """Delete the Variables holding this very connection's transfer state (its keep-mode ledgers and
        export delivery logs, :mod:`.variable_keys`), and no other connection's; return how many.

        :param conn_id: the connection's exact id.
        """
        from airflow.models import Connection, Variable
        from sqlalchemy import or_

        prefixes = [make(kind, conn_id) for kind in StateKind for make in (key_prefix, legacy_prefix)]
        with self._db() as session:
            # LIKE narrows it down (case-insensitively on SQLite and MySQL); the exact test decides
            like = or_(*(Variable.key.startswith(prefix, autoescape=True) for prefix in prefixes))
            owned = [key for (key,) in session.query(Variable.key).filter(like) if owns_key(conn_id, key)]
            if len(conn_id) >= LEGACY_ID_LENGTH:  # earlier versions' keys kept 100 characters of the id
                others = session.query(Connection.conn_id).filter(Connection.conn_id != conn_id)
                if any(other[:LEGACY_ID_LENGTH] == conn_id[:LEGACY_ID_LENGTH] for (other,) in others):
                    owned = [key for key in owned if not owns_legacy_key(conn_id, key)]  # shared: left alone
            for start in range(0, len(owned), 500):
                batch = owned[start : start + 500]
                session.query(Variable).filter(Variable.key.in_(batch)).delete(synchronize_session=False)
            return len(owned)

    @staticmethod
    def to_record(conn: Any, *, in_metadata_db: bool = True) -> ConnectionRecord:
        """A record from an Airflow connection object (ORM row or SDK connection)."""
        if conn.conn_type != CONNECTION_TYPE:
            raise ConnectionNotFoundError(
                f"Connection {conn.conn_id!r} has type {conn.conn_type!r}, not {CONNECTION_TYPE!r}"
            )
        return ConnectionRecord(
            conn_id=conn.conn_id,
            host=conn.host,
            port=conn.port,
            login=conn.login,
            password=conn.password,
            extra=dict(conn.extra_dejson),
            in_metadata_db=in_metadata_db,
            id=getattr(conn, "id", None) if in_metadata_db else None,
        )


def holds_secret(key: str, value: Any) -> bool:
    """Whether an extra key, or any key inside its value, names a secret: one of the schema's secret fields, or
    a name Airflow's secrets masker hides (also when the deployment turned hiding off).

    :param key: the extra key.
    :param value: its value (for a key the schema does not declare, nested objects and lists are searched).
    """
    if key in BY_NAME:  # the schema's own fields: secret or not as declared (a location may be named "secrets")
        return BY_NAME[key].secret
    if _sensitive_name(key):
        return True
    if isinstance(value, dict):
        return any(holds_secret(str(inner), item) for inner, item in value.items())
    if isinstance(value, list):
        return any(holds_secret("", item) for item in value)
    return False


def _sensitive_name(name: str) -> bool:
    from airflow._shared.secrets_masker import secrets_masker

    normalized = re.sub(r"\W+", "_", name.strip().lower())
    defaults = any(sensitive in normalized for sensitive in secrets_masker.DEFAULT_SENSITIVE_FIELDS)
    return defaults or bool(secrets_masker.should_hide_value_for_key(name))  # type: ignore[no-untyped-call]


def keep_password_with_its_server(before: ConnectionRecord, after: ConnectionRecord) -> None:
    """A stored password is only ever sent to the server it was entered for.

    When a change points the connection at another server (host, port or pinned host key), the password must
    be entered again with it: a password-auth connection is refused (field ``password``); any other drops the
    stored password, so that switching back to password auth later cannot send it there either.

    :param before: the connection as stored.
    :param after: the connection as changed (``password_entered`` when the change typed the password in).
    :raises ConnectionConfigError: a password-auth connection changes server without its password.
    """
    if not before.password or after.password_entered or after.password != before.password:
        return
    if _server_of(before) == _server_of(after):
        return
    if after.extra.get("auth_type", "ssh_key") in {auth.value for auth in AuthType if auth.uses_password}:
        raise ConnectionConfigError(
            after.conn_id,
            "password",
            "enter the password again: the host, port or pinned host key changes, and a stored password is only "
            "ever sent to the server it was entered for",
        )
    after.password = None


def _server_of(record: ConnectionRecord) -> tuple[str, int, frozenset[str]]:
    """Where a connection's credentials go: host, port and the pinned host keys."""
    from airflow_provider_actito_sftp.ssh.host_keys import fingerprint, parse_host_keys

    pins = str(record.extra.get("host_key") or "")
    try:
        keys = frozenset(fingerprint(key) for key in parse_host_keys(pins))
    except ValueError:
        keys = frozenset({pins.strip()})
    return (record.host or "").strip().lower(), int(record.port or 22), keys


def write_private_file(path: Path, content: str) -> None:
    """Write ``content`` to a new file readable by its owner only (0600); refuse to overwrite."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(content)


def export_for_external_store(record: ConnectionRecord, secrets_path: Path) -> dict[str, Any]:
    """Write the complete connection (with secrets) to ``secrets_path`` (0600) and return its public part.

    The returned dict is safe to print; the file holds the JSON to store in the secrets backend or in
    ``AIRFLOW_CONN_<ID>``.
    """
    full = {
        "conn_type": CONNECTION_TYPE,
        "host": record.host,
        "port": record.port,
        "login": record.login,
        "password": record.password,
        "extra": record.extra,
    }
    write_private_file(secrets_path, json.dumps(full, indent=2) + "\n")
    return {
        "conn_type": CONNECTION_TYPE,
        "host": record.host,
        "port": record.port,
        "login": record.login,
        "extra": record.public_extra(),
    }
