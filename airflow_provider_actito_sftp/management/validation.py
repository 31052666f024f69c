"""Validating a stored connection exactly as the hook will parse it."""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_actito_sftp.connection.settings import ConnectionSettings, parse_connection
from airflow_provider_actito_sftp.connection.store import ConnectionRecord


@dataclass(frozen=True)
class RecordConnection:
    """A record seen as what :func:`~airflow_provider_actito_sftp.connection.settings.parse_connection` reads."""

    conn_id: str
    host: str | None
    port: int | None
    login: str | None
    password: str | None
    extra: str | None

    @classmethod
    def of(cls, record: ConnectionRecord) -> RecordConnection:
        """The record's columns and its extra as JSON text.

        :param record: the connection as stored.
        """
        return cls(record.conn_id, record.host, record.port, record.login, record.password, record.extra_json())


def validate(record: ConnectionRecord) -> ConnectionSettings:
    """Parse the record exactly as the hook will.

    :param record: the connection as stored (or as changed in memory).
    :raises ConnectionConfigError: a field is missing or invalid.
    """
    return parse_connection(RecordConnection.of(record))
