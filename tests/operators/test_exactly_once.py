"""Exactly-once imports: claims left by a crashed run, the ledger, and two concurrent runs."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from partner_sandbox.sshd import SshServer, chown_tree
from tests.conftest import ConnectionFactory
from tests.support.dags import import_records, published_names, run_dag, task_states


@pytest.fixture
def location(sshd: SshServer, request: pytest.FixtureRequest) -> Path:
    return sshd.make_folder(f"{request.node.name[:40]}/inbound")


def _import_body(conn_id: str, landing: Path, after_import: str = "delete", on_conflict: str = "fail") -> str:
    return f"""
        ActitoSftpImportOperator(min_age=0, task_id="import", conn_id={conn_id!r}, location="inbound",
                                 destination={str(landing)!r}, after_import={after_import!r},
                                 on_conflict={on_conflict!r})
        """


def test_crash_after_publish_is_finished_not_reimported(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, location: Path, tmp_path: Path
):
    """A run staged and published the file, then died before deleting it: once its claim timed out, the
    next run only deletes it (an earlier try of the same task would do so at once: tests/transfer)."""
    conn_id = make_connection(conn_id="crash_commit", locations={"inbound": str(location)})
    content = b"orders\n"
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "orders.csv").write_bytes(content)  # published by the crashed run
    sha = hashlib.sha256(content).hexdigest()
    (location / f".orders.csv.actito-staged-{int(time.time()) - 7200}-{sha[:32]}").write_bytes(content)
    chown_tree(location, sshd.user)
    published_at = (landing / "orders.csv").stat().st_mtime_ns
    run = run_dag("crash_after_publish", _import_body(conn_id, landing))
    assert task_states(run) == {"import": "success"}
    assert list(location.iterdir()) == []  # the remote step was completed
    assert (landing / "orders.csv").stat().st_mtime_ns == published_at  # and nothing was imported again
    assert import_records(run) == []


def test_crash_after_staging_before_publish_is_reimported_once_abandoned(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, location: Path, tmp_path: Path
):
    conn_id = make_connection(conn_id="crash_staged", locations={"inbound": str(location)})
    content = b"orders v1\n"
    sha = hashlib.sha256(content).hexdigest()
    (location / f".orders.csv.actito-staged-{int(time.time()) - 7200}-{sha[:32]}").write_bytes(content)
    chown_tree(location, sshd.user)
    landing = tmp_path / "landing"
    run = run_dag("crash_after_staging", _import_body(conn_id, landing))
    assert task_states(run) == {"import": "success"}
    assert (landing / "orders.csv").read_bytes() == content
    assert list(location.iterdir()) == []


def test_abandoned_claim_is_released_and_imported(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, location: Path, tmp_path: Path
):
    """A run claimed the file and died before publishing: after claim_timeout the file is imported."""
    conn_id = make_connection(conn_id="crash_claim", locations={"inbound": str(location)})
    (location / f".orders.csv.actito-claim-{int(time.time()) - 7200}-0123456789ab").write_text("orders\n")
    chown_tree(location, sshd.user)
    landing = tmp_path / "landing"
    run = run_dag("abandoned_claim", _import_body(conn_id, landing))
    assert task_states(run) == {"import": "success"}
    assert (landing / "orders.csv").read_text() == "orders\n"
    assert list(location.iterdir()) == []


def test_recent_claim_of_another_run_is_left_alone(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, location: Path, tmp_path: Path
):
    conn_id = make_connection(conn_id="busy_claim", locations={"inbound": str(location)})
    claimed = location / f".orders.csv.actito-claim-{int(time.time())}-0123456789ab"
    claimed.write_text("orders\n")
    chown_tree(location, sshd.user)
    landing = tmp_path / "landing"
    run = run_dag("recent_claim", _import_body(conn_id, landing))
    assert task_states(run) == {"import": "success"}
    assert [path.name for path in location.iterdir()] == [claimed.name]
    assert published_names(landing) == []


def test_keep_mode_reimports_a_changed_file_only(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, location: Path, tmp_path: Path
):
    conn_id = make_connection(conn_id="keep_changed", locations={"inbound": str(location)})
    source = location / "daily.csv"
    source.write_text("v1\n")
    chown_tree(location, sshd.user)
    landing = tmp_path / "landing"
    body = _import_body(conn_id, landing, "keep", on_conflict="replace")  # the changed file replaces the old
    assert len(import_records(run_dag("keep_changed", body))) == 1
    assert import_records(run_dag("keep_changed", body)) == []
    source.write_text("v2 with more\n")
    os.utime(source, (time.time() - 100, time.time() - 100))
    assert len(import_records(run_dag("keep_changed", body))) == 1
    assert (landing / "daily.csv").read_text() == "v2 with more\n"
