"""A real Airflow (api-server, scheduler, dag-processor, optional triggerer / Celery worker) for tests.

Unlike ``dag.test()``, tasks here run in separate task processes under a supervisor, where the
metadata DB is off limits: connections, Variables and XCom go through the Execution API.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class AirflowStack:
    home: Path
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def airflow(self) -> str:
        return str(Path(sys.executable).with_name("airflow"))

    def cli(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(
            [self.airflow, *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed: {result.stderr[-2000:]}")
        return result.stdout

    def actito_sftp(self, *args: str) -> str:
        """Run the provider's CLI against this stack's metadata DB; return its stdout (it must succeed)."""
        result = subprocess.run(
            [str(Path(sys.executable).with_name("actito-sftp")), *args],
            env=self.env,
            capture_output=True,
            text=True,
            cwd=Path(__file__).parents[2],
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"actito-sftp {' '.join(args)} failed: {result.stderr[-2000:]}")
        return result.stdout

    def start(self, *components: Sequence[str]) -> None:
        for component in components:
            log = (self.home / f"{component[0]}.log").open("wb")
            self.processes.append(
                subprocess.Popen(
                    [self.airflow, *component],
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def logs(self) -> str:
        return "\n".join(
            f"==== {path.name}\n{path.read_text(errors='replace')[-4000:]}" for path in sorted(self.home.glob("*.log"))
        )

    def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        """Read the metadata DB directly (the test's own view, not a task's). ``?`` placeholders."""
        url = self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        if url.startswith("sqlite"):
            with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30) as db:
                return list(db.execute(sql, params))
        import psycopg2

        with psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://")) as db, db.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), params)
            return [tuple(row) for row in cursor.fetchall()]

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):  # the tables may not be there yet
                if self.query("SELECT 1 FROM dag WHERE dag_id = ? AND NOT is_stale", dag_id):
                    return
            time.sleep(1)
        raise TimeoutError(f"DAG {dag_id} was not parsed in {timeout} s\n{self.logs()}")

    def wait_for_runs(self, dag_id: str, run_ids: Sequence[str], timeout: float = 300) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            rows = self.query("SELECT run_id, state FROM dag_run WHERE dag_id = ?", dag_id)
            states = {str(run_id): str(state) for run_id, state in rows if run_id in run_ids}
            if len(states) == len(run_ids) and all(state in ("success", "failed") for state in states.values()):
                return states
            time.sleep(1)
        raise TimeoutError(f"runs not finished: {states}\n{self.logs()}")


def sqlite_stack(home: Path, dags_folder: Path, extra_env: dict[str, str]) -> AirflowStack:
    """Configure (and migrate) a LocalExecutor Airflow on SQLite in ``home``; start it with ``start()``.

    ``extra_env`` overrides anything (another executor, database or broker)."""
    port = _free_port()
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW_", "_AIRFLOW"))},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__FERNET_KEY": "x6o_n1ZcHMTcdYmRrGyF9i7SgEHy1s9zCMTWDMF8a1Q=",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": "actito-test-jwt-secret-0123456789abcdef",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        **extra_env,
    }
    stack = AirflowStack(home=home, env=env)
    migrate(stack)
    return stack


_migrated_template: dict[str, Path] = {}  # this process's migrated SQLite DB, copied for every later stack


def migrate(stack: AirflowStack) -> None:
    """``airflow db migrate`` the stack's database; on SQLite, once per test process: later stacks start from
    a copy of the first migrated file (the schema holds nothing of a stack's settings), which saves the
    migration's half a minute of CPU for every Airflow a test starts."""
    url = stack.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    target = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
    template = _migrated_template.get("sqlite")
    if target is not None and template is not None and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)
        return
    stack.cli("db", "migrate", timeout=300)
    if target is not None and template is None:
        kept = Path(tempfile.mkdtemp(prefix="actito-migrated-")) / "airflow.db"
        shutil.copyfile(target, kept)
        _migrated_template["sqlite"] = kept
