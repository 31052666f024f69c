"""The export engine against a real OpenSSH server through a proxy that cuts the connection."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import ConnectionFactory
from tests.support.dags import run_dag, task_states, xcom
from tests.support.tcp_proxy import TcpProxy


def test_a_retry_completes_a_half_delivered_batch_with_overwrite_fail(
    airflow_db: Path,
    make_connection: ConnectionFactory,
    folders: dict[str, Path],
    proxy: TcpProxy,
    tmp_path: Path,
):
    """Issue 9.8: try 1 delivers a.csv and is cut during b.csv; try 2 sends b.csv and counts a.csv as done."""
    outbound = folders["outbound"]
    sources = tmp_path / "out"
    sources.mkdir()
    small, large = os.urandom(64 * 1024), os.urandom(6 << 20)
    (sources / "a.csv").write_bytes(small)
    (sources / "b.csv").write_bytes(large)
    conn_id = make_connection(
        host=proxy.host,
        port=proxy.port,
        locations={name: str(path) for name, path in folders.items()},
        transfer_concurrency=1,  # a.csv is complete before b.csv starts
    )
    proxy.cut_next(upstream=len(small) + (2 << 20))  # try 1 dies in the middle of b.csv
    run = run_dag(
        "export_retry",
        f"""
        ActitoSftpExportOperator(task_id="export", conn_id={conn_id!r}, location="outbound",
                                 source={str(sources / "*.csv")!r}, overwrite="fail",
                                 retries=1, retry_delay=pendulum.duration(seconds=0))
        """,
    )
    assert proxy.cuts_done == 1
    assert task_states(run) == {"export": "success"}
    [ti] = run.get_task_instances()
    assert ti.try_number == 2
    assert sorted(path.name for path in outbound.iterdir()) == ["a.csv", "b.csv"]  # no .part left
    assert (outbound / "a.csv").read_bytes() == small
    assert (outbound / "b.csv").read_bytes() == large
    records = {Path(record["remote_path"]).name: record for record in xcom(run, "export")}
    assert records["a.csv"]["status"] == records["b.csv"]["status"] == "success"
    assert records["a.csv"]["wire_bytes"] == len(small)


def test_a_file_of_someone_else_still_refuses_the_batch(
    airflow_db: Path, make_connection: ConnectionFactory, folders: dict[str, Path], tmp_path: Path
):
    """Only this task's own deliveries count as done: another file under the name is never replaced."""
    (folders["outbound"] / "a.csv").write_bytes(b"the partner's own file\n")
    source = tmp_path / "a.csv"
    source.write_bytes(b"ours\n")
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    run = run_dag(
        "export_foreign",
        f"""
        ActitoSftpExportOperator(task_id="export", conn_id={conn_id!r}, location="outbound",
                                 source={str(source)!r}, retries=2, retry_delay=pendulum.duration(seconds=0))
        """,
    )
    assert task_states(run) == {"export": "failed"}
    [ti] = run.get_task_instances()
    assert ti.try_number == 1  # a refusal is not retried
    assert (folders["outbound"] / "a.csv").read_bytes() == b"the partner's own file\n"
