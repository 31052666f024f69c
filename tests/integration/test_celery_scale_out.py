"""Scale-out proof: two Celery workers, three overlapping runs, five rounds, each file imported exactly once.

A CeleryExecutor stack on PostgreSQL + Redis (api-server, scheduler, dag-processor) and two separate
``airflow celery worker`` processes (Celery hostnames ``scale_out_a`` and ``scale_out_b``, 2 slots each). One
DAG holds three import tasks, one per ``after_import`` mode, each on its own location: ``delete``, ``move``
(to ``archive``) and ``keep`` (the ledger in Variables), each taking at most ``max_files=2`` files per run.
Each of five rounds drops six new files (1 byte to 1.3 MB, names with spaces; the ``keep`` folder holds the
earlier rounds' files too) in every location, then queues three runs while the DAG is paused and unpauses it:
nine import tasks on four slots of two workers; two runs of one task listing at once pick the same oldest
files, and only the claims (remote renames) keep them apart. A file a lost claim left for later is taken by a
drain run (one run at a time) before the next round. Every task imports into one folder per mode with
``on_conflict="fail"``: a second import of a file would be refused there (failing its run) or show as a second
local file.

Then: each file's local copy equals the original, nothing else is published; the server holds no marker
(``.actito-*``) or hidden file; ``delete`` left its folder empty, ``move`` put every file in the archive, ``keep``
left every original in place and in the ledger; each task instance's Celery task id was received by exactly one
worker, both workers imported files, and two runs of one task overlapped on the two workers; the overview
(``actito-sftp metrics --json``) counts as many downloads and bytes as the files imported, none failed. Skips,
saying why, only where PostgreSQL or Redis is absent.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from partner_sandbox.sshd import SshServer, chown_tree
from tests.support.airflow_stack import AirflowStack
from tests.support.celery_stack import celery_stack, create_connection, redis_reachable, start_worker
from tests.support.dags import published_names
from tests.support.postgres import temporary_database

CONN_ID = "actito_scale_out"
DAG_ID = "scale_out_import"
MODES = ("delete", "move", "keep")
WORKERS = ("scale_out_a", "scale_out_b")
ROUNDS = 5
RUNS_PER_ROUND = 3
MAX_FILES = 2  # per run and task: three runs can take a round's six files only if no two claim the same ones
MAX_DRAINS = 3  # runs after a round's three: each takes MAX_FILES of what lost claims left
SIZES = (1, 180, 4_000, 65_000, 300_000, 1_300_000)  # bytes: tiny to over the 256 KiB small-file slot
DAG = """
from __future__ import annotations
import pendulum
from airflow.sdk import DAG
from airflow_provider_actito_sftp.operators import ActitoSftpImportOperator

with DAG({dag_id!r}, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False,
         max_active_runs={runs}, max_active_tasks={tasks}) as dag:
    for mode in {modes!r}:
        ActitoSftpImportOperator(
            task_id=f"import_{{mode}}", conn_id={conn_id!r}, location=f"inbound_{{mode}}",
            destination={landing!r} + "/" + mode, after_import=mode,
            archive_location="archive" if mode == "move" else None,
            min_age=0, on_conflict="fail", max_files={max_files}, retries=0,
        )
"""

Files = dict[str, bytes]  # name -> content


@dataclass(frozen=True)
class TaskRun:
    """One import task instance as the metadata DB and its summary XCom have it."""

    task_id: str
    run_id: str
    celery_id: str
    state: str
    start: datetime
    end: datetime
    imported: int  # files, from the try's summary XCom


@pytest.mark.postgres
@pytest.mark.timeout(900)
def test_two_workers_three_runs_import_each_file_once(sshd: SshServer, tmp_path: Path):
    if not redis_reachable():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    base = f"scale-out-{secrets.token_hex(3)}"
    folders = {f"inbound_{mode}": sshd.make_folder(f"{base}/inbound_{mode}") for mode in MODES}
    folders["archive"] = sshd.make_folder(f"{base}/archive")
    landing = tmp_path / "landing"
    dags = tmp_path / "dags"
    dags.mkdir()
    source = DAG.format(
        dag_id=DAG_ID,
        runs=RUNS_PER_ROUND,
        tasks=RUNS_PER_ROUND * len(MODES),
        modes=MODES,
        conn_id=CONN_ID,
        landing=str(landing),
        max_files=MAX_FILES,
    )
    (dags / "scale_out_import.py").write_text(source)
    with temporary_database(f"actito_scale_out_{secrets.token_hex(4)}") as url:
        stack = celery_stack(tmp_path / "airflow", dags, url, {})
        create_connection(stack, sshd, CONN_ID, folders)
        stack.start(["api-server"], ["scheduler"], ["dag-processor"])
        logs = [start_worker(stack, name) for name in WORKERS]
        try:
            stack.wait_for_dag(DAG_ID, timeout=180)
            _wait_for_api(stack)
            dropped, run_ids = _rounds(stack, folders, sshd, landing)
            task_runs = _task_runs(stack)
            ledger = stack.query(
                "SELECT count(*) FROM variable WHERE key LIKE ?", f"actito_sftp_ledger@{CONN_ID}@inbound_keep@%"
            )
            metrics = json.loads(stack.actito_sftp("metrics", CONN_ID, "--json"))
        finally:
            stack.stop()
    _assert_imported_once(landing, dropped)
    _assert_server_clean(folders, dropped)
    assert ledger == [(len(dropped["keep"]),)]
    assert len(task_runs) == len(run_ids) * len(MODES)
    assert {task_run.state for task_run in task_runs} == {"success"}
    workers = _assert_both_workers_imported(task_runs, [log.read_text(errors="replace") for log in logs])
    _assert_runs_raced(task_runs, workers)
    every_file = [content for files in dropped.values() for content in files.values()]
    print(f"overview: {metrics['downloads']} downloads, {metrics['bytes_down']} bytes, {metrics['failed']} failed")
    assert (metrics["downloads"], metrics["succeeded"], metrics["failed"]) == (len(every_file), len(every_file), 0)
    assert metrics["bytes_down"] == sum(len(content) for content in every_file)
    assert (metrics["uploads"], metrics["bytes_up"]) == (0, 0)


def _rounds(
    stack: AirflowStack, folders: dict[str, Path], sshd: SshServer, landing: Path
) -> tuple[dict[str, Files], list[str]]:
    """Drop, run three at once, drain; ROUNDS times. Return the files dropped per mode and every run id."""
    dropped: dict[str, Files] = {mode: {} for mode in MODES}
    every_run: list[str] = []
    for round_number in range(1, ROUNDS + 1):
        for mode in MODES:
            dropped[mode].update(_drop(folders[f"inbound_{mode}"], sshd, round_number))
        run_ids = [f"round{round_number}_run{run}" for run in range(1, RUNS_PER_ROUND + 1)]
        _run_together(stack, run_ids)
        every_run += run_ids
        for drain in range(1, MAX_DRAINS + 1):
            if not _not_imported(landing, dropped):
                break
            _run_together(stack, [f"round{round_number}_drain{drain}"])
            every_run.append(f"round{round_number}_drain{drain}")
        left = _not_imported(landing, dropped)
        assert not left, f"round {round_number}: not imported after {MAX_DRAINS} drain runs: {left}"
    print(f"{len(every_run)} runs: {every_run}")
    return dropped, every_run


def _drop(folder: Path, sshd: SshServer, round_number: int) -> Files:
    """Write this round's files in ``folder`` (text, each unique; modified 10 minutes ago); return them."""
    files: Files = {}
    for index, size in enumerate(SIZES):
        name = f"r{round_number}-{index} orders.txt" if index % 3 == 0 else f"r{round_number}_{index:02d}.csv"
        header = f"round;file;{name}\n".encode()
        line = (secrets.token_hex(24) + "\n").encode()
        files[name] = (header + line * (size // len(line) + 1))[:size]
    old = time.time() - 600
    for position, (name, content) in enumerate(files.items()):
        (folder / name).write_bytes(content)
        os.utime(folder / name, (old + position, old + position))
    chown_tree(folder, sshd.user)
    return files


def _run_together(stack: AirflowStack, run_ids: list[str]) -> None:
    """Queue the runs while the DAG is paused, unpause it (the scheduler starts them together) and wait for
    them: each must succeed."""
    api = f"{stack.env['AIRFLOW__API__BASE_URL']}/api/v2/dags/{DAG_ID}"
    _call("PATCH", api, {"is_paused": True})
    for run_id in run_ids:
        _call("POST", f"{api}/dagRuns", {"dag_run_id": run_id, "logical_date": None})
    _call("PATCH", api, {"is_paused": False})
    states = stack.wait_for_runs(DAG_ID, run_ids, timeout=300)
    assert set(states.values()) == {"success"}, f"{states}\n{stack.logs()}"


def _not_imported(landing: Path, dropped: dict[str, Files]) -> list[str]:
    return [
        f"{mode}/{name}" for mode, files in dropped.items() for name in files if not (landing / mode / name).exists()
    ]


def _wait_for_api(stack: AirflowStack, timeout: float = 180) -> None:
    health = f"{stack.env['AIRFLOW__API__BASE_URL']}/api/v2/monitor/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(health, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError(f"the API server did not answer in {timeout} s\n{stack.logs()}")


def _call(method: str, url: str, body: dict[str, object]) -> None:
    """One call of the stack's REST API (every user is an admin there: no token)."""
    response = httpx.request(method, url, json=body, timeout=60)
    assert response.status_code == 200, f"{method} {url}: {response.status_code} {response.text}"


def _task_runs(stack: AirflowStack) -> list[TaskRun]:
    """Every task instance of the DAG, with the files its summary XCom says it imported."""
    summaries: dict[tuple[str, str], Any] = {
        (str(task_id), str(run_id)): value if isinstance(value, dict) else json.loads(str(value))
        for task_id, run_id, value in stack.query(
            "SELECT task_id, run_id, value FROM xcom WHERE dag_id = ? AND key = 'actito_sftp_transfers'", DAG_ID
        )
    }
    rows = stack.query(
        "SELECT task_id, run_id, external_executor_id, state, start_date, end_date FROM task_instance"
        " WHERE dag_id = ? ORDER BY run_id, task_id",
        DAG_ID,
    )
    return [
        TaskRun(
            str(task_id),
            str(run_id),
            str(celery_id),
            str(state),
            _moment(start),
            _moment(end),
            int(summaries[str(task_id), str(run_id)]["succeeded"]),
        )
        for task_id, run_id, celery_id, state, start, end in rows
    ]


def _moment(value: object) -> datetime:
    assert isinstance(value, datetime), value
    return value


def _assert_imported_once(landing: Path, dropped: dict[str, Files]) -> None:
    """Each mode's destination holds exactly the files dropped for it (no partial, no second copy), each equal to
    its original."""
    for mode, files in dropped.items():
        assert published_names(landing / mode) == sorted(files), mode
        for name, content in files.items():
            assert (landing / mode / name).read_bytes() == content, (mode, name)


def _assert_server_clean(folders: dict[str, Path], dropped: dict[str, Files]) -> None:
    """No claim or staged marker, nothing hidden; each mode's files where its after_import put them."""
    listing = {location: sorted(path.name for path in folder.iterdir()) for location, folder in folders.items()}
    hidden = [f"{location}/{name}" for location, names in listing.items() for name in names if name.startswith(".")]
    assert not hidden, hidden
    assert not [name for names in listing.values() for name in names if ".actito-" in name]
    assert listing["inbound_delete"] == []
    assert listing["inbound_move"] == []
    assert listing["archive"] == sorted(dropped["move"])
    assert listing["inbound_keep"] == sorted(dropped["keep"])
    for location, mode in (("archive", "move"), ("inbound_keep", "keep")):
        for name, content in dropped[mode].items():
            assert (folders[location] / name).read_bytes() == content, (location, name)


def _assert_both_workers_imported(task_runs: list[TaskRun], worker_logs: list[str]) -> dict[str, str]:
    """Each task instance's Celery task id was received by exactly one worker, and both workers imported files.
    Return the worker of each Celery task id."""
    workers: dict[str, str] = {}
    for task_run in task_runs:
        marker = f"[{task_run.celery_id}] received"
        received = [name for name, log in zip(WORKERS, worker_logs, strict=True) if marker in log]
        assert len(received) == 1, (task_run, received)
        workers[task_run.celery_id] = received[0]
    tasks = {name: sum(1 for run in task_runs if workers[run.celery_id] == name) for name in WORKERS}
    files = {name: sum(run.imported for run in task_runs if workers[run.celery_id] == name) for name in WORKERS}
    print(f"import tasks per worker: {tasks}; files imported per worker: {files}")
    for mode in MODES:
        print(
            f"import_{mode}: "
            + " ".join(f"{run.run_id}={run.imported}" for run in task_runs if run.task_id.endswith(mode))
        )
    assert all(files.values()), files
    return workers


def _assert_runs_raced(task_runs: list[TaskRun], workers: dict[str, str]) -> None:
    """Two runs of one import task ran at the same time on the two workers (so the claims, not luck, kept them
    apart): each round starts nine tasks on four slots, so some always do."""
    races = [
        (one.run_id, other.run_id, one.task_id)
        for index, one in enumerate(task_runs)
        for other in task_runs[index + 1 :]
        if one.task_id == other.task_id
        and workers[one.celery_id] != workers[other.celery_id]
        and one.start < other.end
        and other.start < one.end
    ]
    print(f"runs of one task overlapping on the two workers: {races}")
    assert races, "no two runs of one import task overlapped on different workers"
