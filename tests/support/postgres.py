"""A throwaway database on the machine's PostgreSQL (127.0.0.1:5432, trust auth), or a visible skip."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def temporary_database(name: str) -> Iterator[str]:
    """Create database ``name``, yield its SQLAlchemy URL, drop it afterwards."""
    import psycopg2

    try:
        admin = psycopg2.connect(ADMIN_URL, connect_timeout=5)
    except psycopg2.OperationalError as e:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432: {e}")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
