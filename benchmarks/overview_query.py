"""Time the overview query over 100,000 task tries (30 days, 10 connections) on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.overview_query            # both backends (PostgreSQL if reachable)

Each backend runs in its own process with its own metadata DB: 25,000 DAG runs x 2 transfer tasks, each
task instance's latest try with its transfer summary XCom and one earlier failed try in
task_instance_history = 100,000 tries. Prints the median time of the query for one connection and for
all connections. Target: < 1 s for one connection on both backends.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

RUNS = 25_000
CONNECTIONS = [f"partner_{index}" for index in range(10)]


def _child() -> None:
    from airflow.models.base import Base
    from airflow.utils.db import initdb
    from airflow.utils.session import create_session
    from sqlalchemy import insert, text

    from airflow_provider_actito_sftp.metrics import SUMMARY_XCOM_KEY, overview

    initdb()
    dags = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    dags.mkdir(parents=True, exist_ok=True)
    (dags / "bench.py").write_text(
        "import pendulum\nfrom airflow.sdk import DAG\nfrom airflow.providers.standard.operators.empty import "
        "EmptyOperator\nwith DAG('bench', schedule=None, start_date=pendulum.datetime(2026,1,1)) as dag:\n"
        "    EmptyOperator(task_id='import'); EmptyOperator(task_id='export')\n"
    )
    from airflow.dag_processing.dagbag import DagBag

    DagBag(dag_folder=str(dags / "bench.py")).get_dag("bench").test()
    tables = Base.metadata.tables
    now = datetime.now(UTC)
    rng = random.Random(7)
    with create_session() as session:
        version_id = uuid.UUID(str(session.execute(text("SELECT dag_version_id FROM task_instance LIMIT 1")).scalar()))
        started = time.monotonic()
        for batch_start in range(0, RUNS, 2500):
            runs, instances, history, xcoms = [], [], [], []
            for index in range(batch_start, batch_start + 2500):
                when = now - timedelta(seconds=rng.uniform(0, 30 * 86400))
                runs.append(
                    {
                        "dag_id": "bench",
                        "run_id": f"bench_{index}",
                        "run_type": "manual",
                        "run_after": when,
                        "state": "success",
                        "start_date": when,
                        "end_date": when,
                    }
                )
            session.execute(insert(tables["dag_run"]), runs)
            run_ids = dict(
                session.execute(
                    text("SELECT run_id, id FROM dag_run WHERE run_id >= :a AND dag_id = 'bench'"), {"a": "bench_"}
                ).all()
            )
            for index in range(batch_start, batch_start + 2500):
                run_id = f"bench_{index}"
                for task_id, direction in (("import", "download"), ("export", "upload")):
                    when = now - timedelta(seconds=rng.uniform(0, 30 * 86400))
                    common = {
                        "dag_id": "bench",
                        "task_id": task_id,
                        "run_id": run_id,
                        "map_index": -1,
                        "pool": "default_pool",
                        "pool_slots": 1,
                        "dag_version_id": version_id,
                    }
                    instances.append(
                        {
                            **common,
                            "id": uuid.uuid4(),
                            "try_number": 2,
                            "state": "success",
                            "start_date": when,
                            "end_date": when,
                        }
                    )
                    history.append(
                        {
                            **common,
                            "task_instance_id": uuid.uuid4(),
                            "try_number": 1,
                            "state": "failed",
                            "start_date": when,
                            "end_date": when,
                        }
                    )
                    conn_id = CONNECTIONS[index % len(CONNECTIONS)]
                    xcoms.append(
                        {
                            "dag_run_id": run_ids[run_id],
                            "task_id": task_id,
                            "map_index": -1,
                            "key": SUMMARY_XCOM_KEY,
                            "dag_id": "bench",
                            "run_id": run_id,
                            "timestamp": when,
                            "value": {
                                "conn_id": conn_id,
                                "direction": direction,
                                "entity": "acme",
                                "succeeded": 3,
                                "failed": 0,
                                "wire_bytes": 4096,
                                "plaintext_bytes": 4096,
                            },
                        }
                    )
            session.execute(insert(tables["task_instance"]), instances)
            session.execute(insert(tables["task_instance_history"]), history)
            session.execute(insert(tables["xcom"]), xcoms)
            session.commit()
        loaded = time.monotonic() - started
        tries = session.execute(
            text(
                "SELECT (SELECT count(*) FROM task_instance WHERE dag_id='bench' AND run_id LIKE 'bench_%')"
                " + (SELECT count(*) FROM task_instance_history WHERE dag_id='bench')"
            )
        ).scalar()
        timings: dict[str, list[float]] = {"one_connection": [], "all_connections": []}
        for _ in range(5):
            for label, kwargs in (("one_connection", {"conn_id": "partner_3"}), ("all_connections", {})):
                started = time.monotonic()
                result = overview(session, **kwargs)
                timings[label].append(time.monotonic() - started)
        print(
            json.dumps(
                {
                    "dialect": session.get_bind().dialect.name,
                    "task_tries": tries,
                    "load_seconds": round(loaded, 1),
                    "one_connection_requests": overview(session, conn_id="partner_3").total_requests,
                    "median_seconds": {label: round(statistics.median(values), 3) for label, values in timings.items()},
                }
            )
        )
        del result


def main() -> None:
    if sys.argv[1:] == ["--child"]:
        _child()
        return
    backends = {"sqlite": None, "postgresql": None}
    for backend in backends:
        home = Path(tempfile.mkdtemp(prefix=f"actito-overview-{backend}-"))
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        }
        if backend == "sqlite":
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home / 'airflow.db'}"
            result = subprocess.run(
                [sys.executable, "-m", "benchmarks.overview_query", "--child"],
                env=env,
                capture_output=True,
                text=True,
                cwd=Path(__file__).parents[1],
            )
        else:
            import psycopg2

            name = f"actito_bench_{secrets.token_hex(4)}"
            try:
                admin = psycopg2.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=5)
            except psycopg2.OperationalError as e:
                print(f"postgresql: skipped, not reachable ({e})")
                continue
            admin.autocommit = True
            admin.cursor().execute(f'CREATE DATABASE "{name}"')
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
            try:
                result = subprocess.run(
                    [sys.executable, "-m", "benchmarks.overview_query", "--child"],
                    env=env,
                    capture_output=True,
                    text=True,
                    cwd=Path(__file__).parents[1],
                )
            finally:
                admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if result.returncode != 0:
            print(f"{backend}: FAILED\n{result.stderr[-3000:]}")
            continue
        print(result.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
