"""Reading and writing ``actito_sftp`` connections in the Airflow metadata DB (setup tooling only).

Tasks never write connections (Airflow 3 forbids DB access from tasks); the CLI and the UI plugin do,
through this module (the plugin in its request's DB session). A connection that lives in a secrets
backend or an environment variable cannot be written back: :class:`ConnectionNotWritableError` carries
what to store there instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_actito_sftp.connection.schema import SECRET_EXTRA_KEYS
from airflow_provider_actito_sftp.exceptions import (
    ConnectionExistsError,
    ConnectionNotFoundError,
    ConnectionNotWritableError,
)
from airflow_provider_actito_sftp.get_provider_info import CONNECTION_TYPE


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

    def extra_json(self) -> str:
        return json.dumps(self.extra)

    def public_extra(self) -> dict[str, Any]:
        """Extra fields without secret ones."""
        return {key: value for key, value in self.extra.items() if key not in SECRET_EXTRA_KEYS}

    def secret_fields(self) -> dict[str, Any]:
        """Secret columns and extra fields that are set."""
        secrets = {key: value for key, value in self.extra.items() if key in SECRET_EXTRA_KEYS and value}
        if self.password:
            secrets["password"] = self.password
        return secrets


class ConnectionStore:
    """CRUD for ``actito_sftp`` connections in the metadata DB.

    :param session: a SQLAlchemy session to work in (the UI plugin passes the request's); None: each
        call opens and commits its own.
    """

    def __init__(self, session: Any = None) -> None:
        self._session = session

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

    def create(self, record: ConnectionRecord) -> None:
        """Insert a new connection into the metadata DB.

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

    def save(self, record: ConnectionRecord) -> None:
        """Write a changed connection back to the metadata DB.

        :raises ConnectionNotWritableError: it lives outside the DB; the error carries the record.
        """
        from airflow.models import Connection

        if not record.in_metadata_db:
            raise ConnectionNotWritableError(record)
        with self._db() as session:
            stored = session.query(Connection).filter(Connection.conn_id == record.conn_id).one()
            stored.host = record.host
            stored.port = record.port
            stored.login = record.login
            if record.password:
                stored.password = record.password
            else:  # Airflow's password setter ignores a falsy value: clear the column itself
                stored._password = None
            stored.description = record.extra.get("display_name")
            stored.set_extra(record.extra_json())

    def delete(self, conn_id: str) -> None:
        """Delete a connection and with it every key it holds.

        :raises ConnectionNotFoundError: not in the DB.
        :raises ConnectionNotWritableError: it lives outside the DB.
        """
        from airflow.models import Connection

        record = self.get(conn_id)
        if not record.in_metadata_db:
            raise ConnectionNotWritableError(record)
        with self._db() as session:
            session.query(Connection).filter(Connection.conn_id == conn_id).delete()

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
