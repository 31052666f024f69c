"""Scale-out proof: a real CeleryExecutor Airflow on PostgreSQL (metadata DB) and Redis (broker), one for the module.

The module's stack (fixture ``celery_airflow``): api-server, scheduler, dag-processor, triggerer and two separate
``airflow celery worker`` processes (Celery hostnames ``worker_a`` and ``worker_b``, 2 slots each). Each test
has its own connection (created in the metadata DB, Fernet-encrypted, with every key; the workers read it
through the Execution API, never from local files), its own folders on the server and locally, and its own
DAGs. Skips, saying why, only where PostgreSQL or Redis is absent.

Two workers, three overlapping runs, five rounds, each file imported exactly once: one DAG holds three import
tasks, one per ``after_import`` mode, each on its own location: ``delete``, ``move`` (to ``archive``) and ``keep``
(the ledger in Variables), each taking at most ``max_files=2`` files per run. Each of five rounds drops six new
files (1 byte to 1.3 MB, names with spaces; the ``keep`` folder holds the earlier rounds' files too) in every
location, then queues three runs while the DAG is paused and unpauses it: nine import tasks on four slots of two
workers; two runs of one task listing at once pick the same oldest files, and only the claims (remote renames)
keep them apart. A file a lost claim left for later is taken by a drain run (one run at a time) before the next
round. Every task imports into one folder per mode with ``on_conflict="fail"``: a second import of a file would
be refused there (failing its run) or show as a second local file. Then: each file's local copy equals the
original, nothing else is published; the server holds no marker (``.actito-*``) or hidden file; ``delete`` left
its folder empty, ``move`` put every file in the archive, ``keep`` left every original in place and in the
ledger; each task instance's Celery task id was received by exactly one worker, both workers imported files, and
two runs of one task overlapped on the two workers; the overview (``actito-sftp metrics --json``) of its
connection counts as many downloads and bytes as the files imported, none failed.

The example DAGs (``dags/actito_*.py``, manual runs only) import a partner's PGP file and export a segment
through their own connection; the worker processes, not the scheduler, run their tasks.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.sshd import SshServer, chown_tree
from tests.support.airflow_stack import AirflowStack
from tests.support.celery_stack import celery_stack, create_connection, redis_reachable, start_worker, wait_for_api
from tests.support.dags import published_names
from tests.support.postgres import temporary_database

REPO = Path(__file__).parents[2]
WORKERS = ("worker_a", "worker_b")
EXAMPLES_CONN_ID = "actito_celery"
EXAMPLE_DAGS = ("actito_import_customers", "actito_export_segment")
CONN_ID = "actito_scale_out"
DAG_ID = "scale_out_import"
MODES = ("delete", "move", "keep")
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
class CeleryAirflow:
    """The module's running stack and each test's local folders."""

    stack: AirflowStack
    worker_logs: tuple[Path, ...]  # one per worker process
    examples: Path  # the example DAGs' landing/ and exports/
    scale_out_landing: Path  # the scale-out DAG's destinations (one folder per mode)


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


@pytest.fixture(scope="module")
def celery_airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CeleryAirflow]:
    """One CeleryExecutor stack for the module's tests, every DAG parsed and the API answering."""
    if not redis_reachable():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    root = tmp_path_factory.mktemp("celery")
    dags = root / "dags"
    dags.mkdir()
    for path in (REPO / "dags").glob("actito_*.py"):
        # Manual runs only, so a scheduled run does not race the test's runs for the partner's file.
        (dags / path.name).write_text(re.sub(r'schedule="[^"]*"', "schedule=None", path.read_text()))
    scale_out = root / "scale_out_landing"
    source = DAG.format(
        dag_id=DAG_ID,
        runs=RUNS_PER_ROUND,
        tasks=RUNS_PER_ROUND * len(MODES),
        modes=MODES,
        conn_id=CONN_ID,
        landing=str(scale_out),
        max_files=MAX_FILES,
    )
    (dags / "scale_out_import.py").write_text(source)
    examples = root / "examples"
    env = {
        "ACTITO_SFTP_CONN_ID": EXAMPLES_CONN_ID,
        "ACTITO_LANDING_DIR": str(examples / "landing"),
        "ACTITO_EXPORT_DIR": str(examples / "exports"),
    }
    with temporary_database(f"actito_celery_{secrets.token_hex(4)}") as url:
        stack = celery_stack(root / "airflow", dags, url, env)
        stack.start(["api-server"], ["scheduler"], ["dag-processor"], ["triggerer"])
        logs = tuple(start_worker(stack, name) for name in WORKERS)
        try:
            for dag_id in (DAG_ID, *EXAMPLE_DAGS):
                stack.wait_for_dag(dag_id, timeout=180)
            wait_for_api(stack)
            yield CeleryAirflow(stack, logs, examples, scale_out)
        finally:
            stack.stop()


# First in the module: the example import's Asset-scheduled run (actito_on_customers_imported) may still hold a
# worker slot when the example test ends.
@pytest.mark.postgres
@pytest.mark.timeout(900)
def test_two_workers_three_runs_import_each_file_once(celery_airflow: CeleryAirflow, sshd: SshServer):
    stack, landing = celery_airflow.stack, celery_airflow.scale_out_landing
    base = f"scale-out-{secrets.token_hex(3)}"
    folders = {f"inbound_{mode}": sshd.make_folder(f"{base}/inbound_{mode}") for mode in MODES}
    folders["archive"] = sshd.make_folder(f"{base}/archive")
    create_connection(stack, sshd, CONN_ID, folders)
    dropped, run_ids = _rounds(stack, folders, sshd, landing)
    task_runs = _task_runs(stack)
    ledger = stack.query(
        "SELECT count(*) FROM variable WHERE key LIKE ?", f"actito_sftp_ledger@{CONN_ID}@inbound_keep@%"
    )
    metrics = json.loads(stack.actito_sftp("metrics", CONN_ID, "--json"))
    _assert_imported_once(landing, dropped)
    _assert_server_clean(folders, dropped)
    assert ledger == [(len(dropped["keep"]),)]
    assert len(task_runs) == len(run_ids) * len(MODES)
    assert {task_run.state for task_run in task_runs} == {"success"}
    logs = [log.read_text(errors="replace") for log in celery_airflow.worker_logs]
    workers = _assert_both_workers_imported(task_runs, logs)
    _assert_runs_raced(task_runs, workers)
    every_file = [content for files in dropped.values() for content in files.values()]
    print(f"overview: {metrics['downloads']} downloads, {metrics['bytes_down']} bytes, {metrics['failed']} failed")
    assert (metrics["downloads"], metrics["succeeded"], metrics["failed"]) == (len(every_file), len(every_file), 0)
    assert metrics["bytes_down"] == sum(len(content) for content in every_file)
    assert (metrics["uploads"], metrics["bytes_up"]) == (0, 0)


@pytest.mark.postgres
@pytest.mark.timeout(900)
def test_example_dags_on_celery_postgres_redis(celery_airflow: CeleryAirflow, sshd: SshServer, tmp_path: Path):
    stack, landing = celery_airflow.stack, celery_airflow.examples / "landing"
    base = f"celery-examples-{secrets.token_hex(3)}"
    folders = {name: sshd.make_folder(f"{base}/{name}") for name in ("inbound", "archive", "quarantine", "outbound")}
    with PartnerGpg() as partner:
        _configure(stack, sshd, folders, partner, tmp_path, landing)
        for dag_id in EXAMPLE_DAGS:
            stack.cli("dags", "trigger", dag_id, "--run-id", "celery_run")
        import_state = stack.wait_for_runs("actito_import_customers", ["celery_run"], timeout=400)
        export_state = stack.wait_for_runs("actito_export_segment", ["celery_run"], timeout=400)
        assert import_state == {"celery_run": "success"}, stack.logs()
        assert export_state == {"celery_run": "success"}, stack.logs()
        executors = stack.query(
            "SELECT DISTINCT executor FROM task_instance WHERE run_id = 'celery_run' AND state = 'success'"
        )
        metrics = json.loads(stack.actito_sftp("metrics", EXAMPLES_CONN_ID, "--json"))
        [uploaded] = list(folders["outbound"].iterdir())
        partner.decrypt(uploaded, tmp_path / "partner-view.csv")
    assert (landing / "customers.csv").read_text().startswith("id;email")
    assert (tmp_path / "partner-view.csv").read_text().startswith("contact_id,email,segment")
    print(f"executors recorded on the task instances: {executors}")
    worker_logs = "\n".join(log.read_text(errors="replace") for log in celery_airflow.worker_logs)
    # The separate Celery worker processes (both logs together), not the scheduler, executed the tasks of both DAGs.
    assert "actito_import_customers" in worker_logs
    assert "actito_export_segment" in worker_logs
    assert (metrics["downloads"], metrics["uploads"], metrics["failed"]) == (1, 1, 0)
    assert metrics["total_requests"] == 2


def _configure(
    stack: AirflowStack, sshd: SshServer, folders: dict[str, Path], partner: PartnerGpg, tmp: Path, landing: Path
) -> None:
    """The example DAGs' connection through the CLI, stored in PostgreSQL (Fernet-encrypted): keys included; the
    partner's encrypted file in its inbound folder."""
    create_connection(stack, sshd, EXAMPLES_CONN_ID, folders)
    stack.actito_sftp("pgp-key", "generate", EXAMPLES_CONN_ID)
    ours = stack.actito_sftp("pgp-key", "public", EXAMPLES_CONN_ID)
    fingerprint = partner.generate()
    (tmp / "partner.asc").write_text(partner.export_public(fingerprint))
    stack.actito_sftp("partner-key", "set", EXAMPLES_CONN_ID, str(tmp / "partner.asc"))
    stack.actito_sftp("policy", EXAMPLES_CONN_ID, "--inbound-pgp-required", "--outbound-pgp")
    sample = tmp / "customers.csv"
    sample.write_text("id;email\n" + "".join(f"{i};c{i}@example.com\n" for i in range(100)))
    partner.encrypt_to(ours, sample, folders["inbound"] / "customers.csv.pgp")
    old = time.time() - 600
    os.utime(folders["inbound"] / "customers.csv.pgp", (old, old))
    chown_tree(folders["inbound"], sshd.user)
    shutil.rmtree(landing, ignore_errors=True)


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
