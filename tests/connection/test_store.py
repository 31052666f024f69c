"""ConnectionStore against the real (SQLite) metadata DB; connections from env vars are read-only; the
export for a secrets backend is private and its printable part holds no secret."""

from __future__ import annotations

import json
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from airflow_provider_actito_sftp.connection.schema import SECRET_EXTRA_KEYS
from airflow_provider_actito_sftp.connection.store import ConnectionRecord, ConnectionStore, export_for_external_store
from airflow_provider_actito_sftp.exceptions import (
    ConnectionExistsError,
    ConnectionNotFoundError,
    ConnectionNotWritableError,
)

PRIVATE_KEY = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
PENDING_KEY = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
PASSWORD = "pw-correct-horse-battery"
SECRETS: dict[str, str] = {
    "ssh_private_key": PRIVATE_KEY,
    "ssh_private_key_passphrase": "passphrase-never-shown",
    "ssh_private_key_pending": PENDING_KEY,
    "inbound_pgp_private_keys": "-----BEGIN PGP PRIVATE KEY BLOCK-----\nsecret-pgp-material\n",
}
PUBLIC: dict[str, Any] = {
    "entity": "acme",
    "display_name": "ACME partner",
    "auth_type": "ssh_key",
    "locations": {"inbound": "/in", "outbound": "/out"},
}


def secret_values() -> list[str]:
    """Each secret, and a line of each key that identifies it."""
    return [PASSWORD, *SECRETS.values(), PRIVATE_KEY.splitlines()[1], PENDING_KEY.splitlines()[1]]


def record(conn_id: str, **changes: Any) -> ConnectionRecord:
    values: dict[str, Any] = {
        "conn_id": conn_id,
        "host": "127.0.0.1",
        "port": 2222,
        "login": "actito",
        "password": PASSWORD,
        "extra": {**PUBLIC, **SECRETS},
    }
    return ConnectionRecord(**{**values, **changes})


@pytest.fixture(autouse=True)
def server_process(monkeypatch: pytest.MonkeyPatch) -> None:
    # Outside a task Airflow reads the metadata DB only in server processes, where the CLI and the UI run.
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")


@pytest.fixture
def conn_id(airflow_db: Path) -> Iterator[str]:
    """A fresh connection id; whatever a test stored under it is deleted afterwards."""
    from airflow.models import Connection
    from airflow.utils.session import create_session

    name = f"store_{uuid.uuid4().hex[:10]}"
    yield name
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == name).delete()


def stored_row(conn_id: str) -> dict[str, Any]:
    """The raw row, as in the DB (secrets encrypted by Airflow)."""
    from airflow.utils.session import create_session
    from sqlalchemy import text

    with create_session() as session:
        row = session.execute(
            text(
                "SELECT conn_type, description, host, port, login, password, extra, is_encrypted,"
                " is_extra_encrypted FROM connection WHERE conn_id = :conn_id"
            ),
            {"conn_id": conn_id},
        ).one()
    return dict(row._mapping)


def add_other_type(conn_id: str) -> None:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        session.add(Connection(conn_id=conn_id, conn_type="http", host="example.com"))


def set_env_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, value: dict[str, Any]) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(value))


# --- records ------------------------------------------------------------------------------------------


def test_public_extra_holds_every_field_but_the_secret_ones() -> None:
    assert set(SECRETS) == set(SECRET_EXTRA_KEYS)  # this test sets every secret field the schema knows
    public = record("acme").public_extra()
    assert public == PUBLIC
    assert not set(public) & set(SECRET_EXTRA_KEYS)
    printed = json.dumps(public)
    assert not [value for value in secret_values() if value in printed]


def test_secret_fields_are_the_secrets_that_are_set() -> None:
    assert record("acme").secret_fields() == {**SECRETS, "password": PASSWORD}
    partial = record(
        "acme", password=None, extra={**PUBLIC, "ssh_private_key": PRIVATE_KEY, "ssh_private_key_pending": ""}
    )
    assert partial.secret_fields() == {"ssh_private_key": PRIVATE_KEY}


def test_a_records_repr_shows_no_secret() -> None:
    shown = repr(record("acme"))
    assert "acme" in shown
    assert not [value for value in secret_values() if value in shown]


# --- the metadata DB ----------------------------------------------------------------------------------


def test_create_then_get_round_trips_and_encrypts_secrets_at_rest(conn_id: str) -> None:
    store = ConnectionStore()
    assert not store.exists(conn_id)
    store.create(record(conn_id))
    assert store.exists(conn_id)

    loaded = store.get(conn_id)
    assert loaded == record(conn_id)  # every column and extra field, in_metadata_db=True
    assert loaded.in_metadata_db
    assert isinstance(loaded.id, int)  # the row's id (compared apart: not part of the content)

    row = stored_row(conn_id)
    assert (row["conn_type"], row["description"], row["host"], row["port"], row["login"]) == (
        "actito_sftp",
        "ACME partner",
        "127.0.0.1",
        2222,
        "actito",
    )
    assert row["is_encrypted"]
    assert row["is_extra_encrypted"]
    at_rest = f"{row['password']}{row['extra']}"
    assert not [value for value in secret_values() if value in at_rest]


def test_create_refuses_an_id_taken_in_the_db_or_in_the_environment(
    conn_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ConnectionStore()
    store.create(record(conn_id, host="first.example"))
    with pytest.raises(ConnectionExistsError, match=f"Connection '{conn_id}' already exists"):
        store.create(record(conn_id, host="second.example"))
    assert store.get(conn_id).host == "first.example"

    set_env_connection(monkeypatch, "from_env_taken", {"conn_type": "http", "host": "x.example"})
    with pytest.raises(ConnectionExistsError):
        store.create(record("from_env_taken"))
    assert not stored_row_exists("from_env_taken")


def stored_row_exists(conn_id: str) -> bool:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.query(Connection.id).filter(Connection.conn_id == conn_id).first() is not None


def test_save_writes_the_changes_back(conn_id: str) -> None:
    store = ConnectionStore()
    store.create(record(conn_id))
    loaded = store.get(conn_id)
    loaded.host = "sftp.partner.example"
    loaded.port = 22
    loaded.password = "pw-rotated-by-the-partner"
    loaded.extra["display_name"] = "ACME (new server)"
    loaded.extra["locations"] = {"inbound": "/new/in"}
    del loaded.extra["ssh_private_key_pending"]
    store.save(loaded)

    again = store.get(conn_id)
    assert (again.host, again.port, again.password) == ("sftp.partner.example", 22, "pw-rotated-by-the-partner")
    assert again.extra["locations"] == {"inbound": "/new/in"}
    assert "ssh_private_key_pending" not in again.extra
    assert again.extra["ssh_private_key"] == PRIVATE_KEY
    assert again == loaded
    assert stored_row(conn_id)["description"] == "ACME (new server)"


def test_save_clears_a_password_set_to_none(conn_id: str) -> None:
    store = ConnectionStore()
    store.create(record(conn_id))
    loaded = store.get(conn_id)
    loaded.password = None
    store.save(loaded)
    assert store.get(conn_id).password is None


def test_delete_removes_the_connection(conn_id: str) -> None:
    store = ConnectionStore()
    store.create(record(conn_id))
    store.delete(conn_id)
    assert not store.exists(conn_id)
    assert not stored_row_exists(conn_id)
    with pytest.raises(ConnectionNotFoundError, match=f"Connection '{conn_id}' does not exist"):
        store.get(conn_id)
    with pytest.raises(ConnectionNotFoundError):
        store.delete(conn_id)


def test_an_unknown_id_is_not_found(airflow_db: Path) -> None:
    store = ConnectionStore()
    assert not store.exists("no_such_connection_anywhere")
    with pytest.raises(ConnectionNotFoundError, match="'no_such_connection_anywhere' does not exist") as missing:
        store.get("no_such_connection_anywhere")
    assert isinstance(missing.value, LookupError)


def test_a_connection_of_another_type_exists_but_is_not_found(conn_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ConnectionStore()
    add_other_type(conn_id)
    assert store.exists(conn_id)  # the id is taken...
    with pytest.raises(ConnectionNotFoundError, match=f"'{conn_id}' has type 'http', not 'actito_sftp'"):
        store.get(conn_id)  # ...but not by an actito_sftp connection
    with pytest.raises(ConnectionNotFoundError):
        store.delete(conn_id)
    assert stored_row_exists(conn_id)  # not deleted

    set_env_connection(monkeypatch, "env_http", {"conn_type": "http", "host": "x.example"})
    assert store.exists("env_http")
    with pytest.raises(ConnectionNotFoundError, match="has type 'http'"):
        store.get("env_http")


# --- connections defined in the environment -----------------------------------------------------------


@pytest.fixture
def env_conn_id(airflow_db: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    full = {"conn_type": "actito_sftp", "host": "127.0.0.1", "port": 2222, "login": "actito", "password": PASSWORD}
    set_env_connection(monkeypatch, "store_from_env", {**full, "extra": {**PUBLIC, **SECRETS}})
    return "store_from_env"


def test_an_env_var_connection_is_read_but_marked_outside_the_db(env_conn_id: str) -> None:
    store = ConnectionStore()
    assert store.exists(env_conn_id)
    loaded = store.get(env_conn_id)
    assert loaded == record(env_conn_id, in_metadata_db=False)
    assert not stored_row_exists(env_conn_id)


def test_an_env_var_connection_cannot_be_saved_or_deleted(env_conn_id: str) -> None:
    store = ConnectionStore()
    loaded = store.get(env_conn_id)
    loaded.host = "changed.example"
    with pytest.raises(ConnectionNotWritableError, match=f"Connection '{env_conn_id}' is defined outside") as refused:
        store.save(loaded)
    assert refused.value.record is loaded  # carries what to store in the environment instead
    with pytest.raises(ConnectionNotWritableError) as refused_delete:
        store.delete(env_conn_id)
    assert refused_delete.value.record.conn_id == env_conn_id
    assert not stored_row_exists(env_conn_id)  # neither wrote a copy to the DB
    assert store.get(env_conn_id).host == "127.0.0.1"
    for error in (refused.value, refused_delete.value):
        assert not [value for value in secret_values() if value in str(error)]


# --- export for a secrets backend ---------------------------------------------------------------------


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_export_writes_a_private_file_and_returns_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "acme.json"
    public = export_for_external_store(record("acme"), path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # even with umask 0
    assert json.loads(path.read_text()) == {
        "conn_type": "actito_sftp",
        "host": "127.0.0.1",
        "port": 2222,
        "login": "actito",
        "password": PASSWORD,
        "extra": {**PUBLIC, **SECRETS},
    }
    assert public == {"conn_type": "actito_sftp", "host": "127.0.0.1", "port": 2222, "login": "actito", "extra": PUBLIC}
    printed = json.dumps(public)
    assert not [value for value in secret_values() if value in printed]


def test_the_exported_file_is_a_working_env_var_connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "acme.json"
    export_for_external_store(record("exported_acme"), path)
    monkeypatch.setenv("AIRFLOW_CONN_EXPORTED_ACME", path.read_text())
    assert ConnectionStore().get("exported_acme") == record("exported_acme", in_metadata_db=False)


def test_export_never_overwrites_a_file_or_follows_a_link(tmp_path: Path) -> None:
    path = tmp_path / "acme.json"
    path.write_text("earlier export\n")
    with pytest.raises(FileExistsError):
        export_for_external_store(record("acme"), path)
    assert path.read_text() == "earlier export\n"

    target = tmp_path / "elsewhere.json"
    link = tmp_path / "link.json"
    link.symlink_to(target)  # dangling: the export must not create its target
    with pytest.raises(FileExistsError):
        export_for_external_store(record("acme"), link)
    assert not target.exists()


# --- the audit log, the password's server, what the masker hides ------------------------------------------------


def audit_entries(conn_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    from airflow.models import Log
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(Log).filter(Log.event.like("actito_sftp_%")).order_by(Log.id).all()
        entries = [(row.event, row.owner, json.loads(row.extra)) for row in rows]
    return [entry for entry in entries if entry[2]["conn_id"] == conn_id]


def test_each_write_is_audited_in_its_transaction_and_a_save_without_change_is_not(conn_id: str) -> None:
    from airflow_provider_actito_sftp.connection.audit import Actor, Change

    store = ConnectionStore(actor=Actor("alice", "Actito SFTP page"))
    store.create(record(conn_id))
    store.save(store.get(conn_id))  # nothing changed
    loaded = store.get(conn_id)
    loaded.extra["display_name"] = "ACME (renamed)"
    store.save(loaded, change=Change.UPDATE)
    store.delete(conn_id, details={"removed": {"ledger_variables": 0}})
    entries = audit_entries(conn_id)
    assert [(event, owner) for event, owner, _ in entries] == [
        ("actito_sftp_connection_create", "alice"),
        ("actito_sftp_connection_update", "alice"),
        ("actito_sftp_connection_delete", "alice"),
    ]
    assert entries[1][2]["changes"] == {"display_name": {"from": "ACME partner", "to": "ACME (renamed)"}}
    assert entries[2][2]["removed"] == {"ledger_variables": 0}
    printed = json.dumps([extra for _, _, extra in entries])
    assert not [value for value in secret_values() if value in printed]


@pytest.mark.parametrize("auth_type", ["password", "ssh_key_and_password"])
def test_a_stored_password_never_follows_the_connection_to_another_server(conn_id: str, auth_type: str) -> None:
    from airflow_provider_actito_sftp.exceptions import ConnectionConfigError

    store = ConnectionStore()
    store.create(record(conn_id, extra={**PUBLIC, "auth_type": auth_type}))
    for change in ({"host": "evil.example"}, {"port": 2022}):
        moved = store.get(conn_id)
        for name, value in change.items():
            setattr(moved, name, value)
        with pytest.raises(ConnectionConfigError, match="'password': enter the password again"):
            store.save(moved)
    repinned = store.get(conn_id)
    repinned.extra["host_key"] = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    with pytest.raises(ConnectionConfigError, match="'password': enter the password again"):
        store.save(repinned)
    assert store.get(conn_id).host == "127.0.0.1"
    typed_again = store.get(conn_id)
    typed_again.host, typed_again.password, typed_again.password_entered = "sftp.new.example", PASSWORD, True
    store.save(typed_again)  # the same password, typed in with the change: it may go there
    assert (store.get(conn_id).host, store.get(conn_id).password) == ("sftp.new.example", PASSWORD)


def test_a_key_auth_connection_that_moves_drops_a_leftover_password(conn_id: str) -> None:
    store = ConnectionStore()
    store.create(record(conn_id))  # ssh_key auth, with a password stored
    moved = store.get(conn_id)
    moved.host = "sftp.elsewhere.example"
    store.save(moved)
    assert store.get(conn_id).password is None
    assert audit_entries(conn_id)[-1][2]["changes"]["password"] == "removed"


def test_public_extra_leaves_out_every_key_the_masker_hides() -> None:
    leaky = record("acme", extra={**PUBLIC, "private_key": "LEAK-1", "options": {"n": 1, "api_token": "LEAK-2"}})
    leaky.extra["note"] = {"retries": 3}
    assert leaky.public_extra() == {**PUBLIC, "note": {"retries": 3}}
    assert leaky.hidden_extra_keys() == ["private_key", "options"]
    named_like_a_secret = record("acme", extra={**PUBLIC, "locations": {"secrets": "/secrets"}})
    assert named_like_a_secret.public_extra()["locations"] == {"secrets": "/secrets"}  # the schema's own field
