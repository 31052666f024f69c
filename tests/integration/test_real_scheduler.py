"""The import protocol under a real scheduler with LocalExecutor: tasks in their own processes, where the
metadata DB is off limits, Variables go through the Execution API, and two runs overlap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from partner_sandbox.sshd import SshServer, chown_tree
from tests.support.airflow_stack import sqlite_stack
from tests.support.dags import published_names

DAG = """
from __future__ import annotations
import pendulum
from airflow.sdk import DAG
from airflow_provider_actito_sftp.operators import ActitoSftpImportOperator

for mode in ("delete", "keep"):
    with DAG(f"concurrent_import_{{mode}}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
             max_active_runs=2, catchup=False) as dag:
        ActitoSftpImportOperator(
            task_id="import", conn_id="real_sched", location=mode, min_age=0,
            destination="{landing}/" + mode + "/{{{{ run_id }}}}", after_import=mode,
        )
    globals()[dag.dag_id] = dag
"""


@pytest.mark.timeout(600)
def test_two_concurrent_runs_import_each_file_once(sshd: SshServer, client_key: str, tmp_path: Path):
    folders = {mode: sshd.make_folder(f"real-scheduler/{mode}") for mode in ("delete", "keep")}
    names = [f"part-{index:03d}.csv" for index in range(200)]
    for folder in folders.values():
        for name in names:
            (folder / name).write_bytes(f"{name}\n".encode() * 6000)
        chown_tree(folder, sshd.user)
    landing = tmp_path / "landing"
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "concurrent_import.py").write_text(DAG.format(landing=landing))
    connection = {
        "conn_type": "actito_sftp",
        "host": sshd.host,
        "port": sshd.port,
        "login": sshd.user.name,
        "extra": {
            "entity": "acme",
            "ssh_private_key": client_key,
            "host_key": sshd.host_key_line,
            "locations": {mode: str(folder) for mode, folder in folders.items()},
            "transfer_concurrency": 2,
        },
    }
    stack = sqlite_stack(tmp_path / "airflow", dags, {"AIRFLOW_CONN_REAL_SCHED": json.dumps(connection)})
    stack.start(["api-server"], ["scheduler"], ["dag-processor"])
    try:
        for mode in ("delete", "keep"):
            dag_id = f"concurrent_import_{mode}"
            stack.wait_for_dag(dag_id)
            # Queue both runs while paused, then unpause: the scheduler starts them together.
            stack.cli("dags", "pause", dag_id)
            stack.cli("dags", "trigger", dag_id, "--run-id", "first")
            stack.cli("dags", "trigger", dag_id, "--run-id", "second")
            stack.cli("dags", "unpause", dag_id)
        for mode in ("delete", "keep"):
            states = stack.wait_for_runs(f"concurrent_import_{mode}", ["first", "second"])
            assert states == {"first": "success", "second": "success"}, stack.logs()
    finally:
        stack.stop()
    for mode, folder in folders.items():
        imported = {
            run: published_names(landing / mode / run) for run in ("first", "second") if (landing / mode / run).exists()
        }
        every_import = [name for run_names in imported.values() for name in run_names]
        print(f"{mode}: files per run { ({run: len(run_names) for run, run_names in imported.items()}) }")
        assert sorted(every_import) == names, (mode, {run: len(run_names) for run, run_names in imported.items()})
        remaining = sorted(path.name for path in folder.iterdir())
        assert remaining == ([] if mode == "delete" else names)
    # The two runs really overlapped (so the claims, not luck, kept them apart).
    for mode in ("delete", "keep"):
        (start_1, end_1), (start_2, end_2) = stack.query(
            "SELECT start_date, end_date FROM task_instance WHERE dag_id = ? ORDER BY run_id",
            f"concurrent_import_{mode}",
        )
        print(f"{mode}: first {start_1}..{end_1}, second {start_2}..{end_2}")
        assert str(start_1) < str(end_2), "the two runs did not overlap"
        assert str(start_2) < str(end_1), "the two runs did not overlap"
    # The keep-mode ledger was written by the tasks through the Execution API.
    ledger = stack.query("SELECT count(*) FROM variable WHERE key LIKE 'actito_sftp_ledger@real_sched@keep@%'")
    assert ledger == [(len(names),)]
    # Tasks ran in real task processes under the supervisor (not in-process like dag.test()).
    assert stack.query("SELECT count(*) FROM task_instance WHERE state = 'success' AND pid IS NOT NULL") == [(4,)]
