"""ActitoSftpFileSensor run through dag.test() against the real sshd: deferred, answered by the first
poke, and poking on the worker."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from partner_sandbox.sshd import SshServer, chown_tree
from tests.conftest import ConnectionFactory
from tests.support.dags import run_dag, task_states, xcom


@pytest.fixture
def conn_id(make_connection: ConnectionFactory, folders: dict[str, Path]) -> str:
    return make_connection(locations={name: str(path) for name, path in folders.items()})


def _accepted(server: SshServer) -> int:
    return server.log_path.read_text(errors="replace").count("Accepted publickey")


def _partner_finishes_upload_later(inbound: Path, name: str, sshd: SshServer, delay: float) -> None:
    (inbound / f"{name}.part").write_text("still uploading\n")
    chown_tree(inbound, sshd.user)

    def finish() -> None:
        time.sleep(delay)
        (inbound / f"{name}.part").rename(inbound / name)

    threading.Thread(target=finish, daemon=True).start()


def test_sensor_waits_for_complete_files_then_returns_names(
    airflow_db: Path, conn_id: str, sshd: SshServer, folders: dict[str, Path]
):
    """Nothing complete at the first poke: the sensor defers, and its trigger finds the file."""
    _partner_finishes_upload_later(folders["inbound"], "early.csv", sshd, delay=3)
    run = run_dag(
        "sensor_wait",
        f"""
        ActitoSftpFileSensor(min_age=0, task_id="wait", conn_id={conn_id!r}, location="inbound",
                             pattern="*.csv", poke_interval=1, timeout=60)
        """,
    )
    assert task_states(run) == {"wait": "success"}
    assert xcom(run, "wait") == ["early.csv"]


def test_files_already_there_answer_the_first_poke_without_deferring(
    airflow_db: Path, conn_id: str, sshd: SshServer, folders: dict[str, Path]
):
    for name in ("a.csv", "b.csv", "c.csv.part", "d.txt"):
        (folders["inbound"] / name).write_text("x\n")
    chown_tree(folders["inbound"], sshd.user)
    before = _accepted(sshd)
    run = run_dag(
        "sensor_at_once",
        f"""
        ActitoSftpFileSensor(min_age=0, task_id="wait", conn_id={conn_id!r}, location="inbound",
                             pattern="*.csv", poke_interval=1, timeout=60)
        """,
    )
    assert task_states(run) == {"wait": "success"}
    assert xcom(run, "wait") == ["a.csv", "b.csv"]
    assert _accepted(sshd) == before + 1  # one session: the worker's poke; no trigger was needed


def test_non_deferrable_sensor_pokes_on_the_worker(
    airflow_db: Path, conn_id: str, sshd: SshServer, folders: dict[str, Path]
):
    _partner_finishes_upload_later(folders["inbound"], "late.csv", sshd, delay=2)
    run = run_dag(
        "sensor_poke",
        f"""
        ActitoSftpFileSensor(min_age=0, task_id="wait", conn_id={conn_id!r}, location="inbound",
                             pattern="*.csv", poke_interval=1, timeout=60, deferrable=False)
        """,
    )
    assert task_states(run) == {"wait": "success"}
    assert xcom(run, "wait") == ["late.csv"]


def test_an_unknown_location_fails_the_sensor(airflow_db: Path, conn_id: str):
    run = run_dag(
        "sensor_unknown",
        f"""
        ActitoSftpFileSensor(min_age=0, task_id="wait", conn_id={conn_id!r}, location="inbox", timeout=60)
        """,
    )
    assert task_states(run) == {"wait": "failed"}


def test_a_name_that_is_not_utf8_is_reported_escaped(
    airflow_db: Path, conn_id: str, sshd: SshServer, folders: dict[str, Path]
):
    """Issue 21.12: the import would take a Latin-1 ``caf\\xe9.csv`` (to refuse it), so the sensor reports it, with a
    backslash escape; its XCom used to fail on the name (``surrogates not allowed``)."""
    import os

    descriptor = os.open(bytes(folders["inbound"]) + b"/caf\xe9.csv", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.close(descriptor)
    (folders["inbound"] / "good.csv").write_text("x\n")
    chown_tree(folders["inbound"], sshd.user)
    for deferrable in (True, False):
        run = run_dag(
            f"sensor_latin1_{deferrable}",
            f"""
            ActitoSftpFileSensor(min_age=0, task_id="wait", conn_id={conn_id!r}, location="inbound",
                                 pattern="*.csv", poke_interval=1, timeout=60, deferrable={deferrable})
            """,
        )
        assert task_states(run) == {"wait": "success"}
        assert xcom(run, "wait") == ["caf\\xe9.csv", "good.csv"]
