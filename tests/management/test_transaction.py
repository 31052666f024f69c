"""The one edit transaction (management.editing) against the real (SQLite) metadata DB: saved with its audit
entry, nothing saved on an error or an invalid result, a connection defined in the environment refused or
exported; and the record's schema-checked accessors."""

from __future__ import annotations

import importlib
import json
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_actito_sftp import management
from airflow_provider_actito_sftp.connection.audit import Change
from airflow_provider_actito_sftp.connection.store import ConnectionRecord, ConnectionStore
from airflow_provider_actito_sftp.exceptions import (
    ConnectionConfigError,
    ConnectionNotWritableError,
    RefusedError,
)

EXTRA = {"entity": "acme", "display_name": "ACME", "auth_type": "password", "locations": {"inbound": "/in"}}


def password_record(conn_id: str) -> ConnectionRecord:
    return ConnectionRecord(conn_id, host="127.0.0.1", port=2222, login="actito", password="pw", extra=dict(EXTRA))


@pytest.fixture(autouse=True)
def server_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")  # the CLI and the page run as servers


@pytest.fixture
def saved(airflow_db: Path) -> Iterator[str]:
    """A connection saved in the metadata DB (no host key pin needed: the edits here never validate it)."""
    from airflow.models import Connection
    from airflow.utils.session import create_session

    conn_id = f"editing_{uuid.uuid4().hex[:8]}"
    ConnectionStore().create(password_record(conn_id))
    yield conn_id
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == conn_id).delete()


@pytest.fixture
def validates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation that only requires a display name (these connections have no pinned host key)."""

    def validate(record: ConnectionRecord) -> None:
        if not record.stored("display_name"):
            raise ConnectionConfigError(record.conn_id, "display_name", "is required")

    module = importlib.import_module("airflow_provider_actito_sftp.management.transaction")
    monkeypatch.setattr(module, "validate", validate)


@pytest.mark.usefixtures("validates")
def test_a_change_is_saved_with_the_kind_and_details_the_block_gave(saved: str) -> None:
    store = ConnectionStore()
    with management.editing(store, saved, Change.LOCATION_ADD, details={"by": "test"}) as edit:
        if management.location_set(edit.record, "inbound", "/in-v2", must_exist=None):
            edit.change = Change.LOCATION_UPDATE
        edit.details["checked"] = False
    assert store.get(saved).stored("locations") == {"inbound": "/in-v2"}
    assert edit.exported is None
    event, extra = audit_events(saved)[-1]
    assert (event, extra["by"], extra["checked"]) == ("actito_sftp_location_update", "test", False)


@pytest.mark.usefixtures("validates")
def test_nothing_is_saved_when_the_block_fails_or_the_result_does_not_validate(saved: str) -> None:
    store = ConnectionStore()
    with pytest.raises(RefusedError, match="no location 'no-such-location'"):
        change_then_refuse(store, saved)
    with (
        pytest.raises(ConnectionConfigError, match="display_name"),
        management.editing(store, saved, Change.UPDATE) as edit,
    ):
        edit.record.store("display_name", None)
    assert store.get(saved).stored("display_name") == "ACME"


def change_then_refuse(store: ConnectionStore, conn_id: str) -> None:
    with management.editing(store, conn_id, Change.UPDATE) as edit:
        edit.record.store("display_name", "Changed")
        management.location_remove(edit.record, "no-such-location")


@pytest.fixture
def in_environment(airflow_db: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    full = {"conn_type": "actito_sftp", "host": "127.0.0.1", "port": 2222, "login": "actito", "password": "pw"}
    monkeypatch.setenv("AIRFLOW_CONN_EDITING_ENV", json.dumps({**full, "extra": EXTRA}))
    return "editing_env"


def test_a_connection_defined_elsewhere_is_refused_before_the_block_without_an_export_file(
    in_environment: str,
) -> None:
    ran = False
    with (
        pytest.raises(ConnectionNotWritableError),
        management.editing(ConnectionStore(), in_environment, Change.UPDATE),
    ):
        ran = True
    assert not ran


@pytest.mark.usefixtures("validates")
def test_a_connection_defined_elsewhere_is_exported_complete_and_private(in_environment: str, tmp_path: Path) -> None:
    target = tmp_path / "editing_env.connection.json"
    with management.editing(ConnectionStore(), in_environment, Change.UPDATE, export_to=target) as edit:
        edit.record.store("display_name", "ACME (prod)")
    assert edit.exported is not None
    assert "password" not in edit.exported
    assert json.loads(target.read_text())["extra"]["display_name"] == "ACME (prod)"
    assert json.loads(target.read_text())["password"] == "pw"  # complete: the operator stores it as is
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with (
        pytest.raises(RefusedError, match="exists already"),
        management.editing(ConnectionStore(), in_environment, Change.UPDATE, export_to=target),
    ):
        pass


def test_the_records_accessors_take_schema_fields_only() -> None:
    record = password_record("accessors")
    assert (record.stored("password"), record.stored("entity"), record.stored("outbound_pgp")) == ("pw", "acme", None)
    record.store("port", 2200)
    record.store("display_name", None)
    assert record.port == 2200
    assert "display_name" not in record.extra
    with pytest.raises(KeyError):
        record.stored("display-name")
    with pytest.raises(KeyError):
        record.store("entitty", "x")


def audit_events(conn_id: str) -> list[tuple[str, dict[str, object]]]:
    """(event, extra) of the audit log entries naming this connection, oldest first."""
    from airflow.models.log import Log
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(Log).filter(Log.extra.contains(conn_id)).order_by(Log.id).all()
        return [(row.event, json.loads(row.extra)) for row in rows]
