"""The overview numbers, computed from real task runs (dag.test) including failed and retried tries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.metrics import MAX_PROBLEMS, MAX_REASON, TransferSummary, activity, overview
from partner_sandbox.sshd import SshServer, chown_tree
from tests.support.dags import run_dag, task_states


@pytest.fixture(scope="module")
def seeded(airflow_db: Path, sshd: SshServer, client_key: str, tmp_path_factory: pytest.TempPathFactory):
    """Run real imports and exports: successes, a refusal, and an export that fails once then succeeds."""
    import json
    import os

    from airflow_provider_actito_sftp.pgp.keys import generate_inbound_key

    base = tmp_path_factory.mktemp("metrics")
    plain_in = sshd.make_folder("metrics/plain-in")
    plain_out = sshd.make_folder("metrics/plain-out")
    pgp_in = sshd.make_folder("metrics/pgp-in")
    sizes = [100, 2000, 30000]
    for index, size in enumerate(sizes):
        (plain_in / f"f{index}.csv").write_bytes(b"x" * size)
    (pgp_in / "plain.csv").write_bytes(b"not encrypted\n")
    chown_tree(sshd.data_root / "metrics", sshd.user)
    common = {"conn_type": "actito_sftp", "host": sshd.host, "port": sshd.port, "login": sshd.user.name}
    key_extra = {"ssh_private_key": client_key, "host_key": sshd.host_key_line}
    connections = {
        "AIRFLOW_CONN_METRICS_A": {
            **common,
            "extra": {**key_extra, "entity": "metrics-acme", "locations": {"in": str(plain_in), "out": str(plain_out)}},
        },
        "AIRFLOW_CONN_METRICS_B": {
            **common,
            "extra": {
                **key_extra,
                "entity": "metrics-globex",
                "inbound_pgp_required": True,
                "inbound_pgp_private_keys": generate_inbound_key("b")[0],
                "locations": {"in": str(pgp_in)},
            },
        },
    }
    previous = {name: os.environ.get(name) for name in connections}
    os.environ.update({name: json.dumps(value) for name, value in connections.items()})
    export_source = base / "segment.csv"
    run = run_dag(
        "metrics_seed",
        f"""
        from pathlib import Path

        def _source_appears(context):
            Path({str(export_source)!r}).write_bytes(b"y" * 4096)

        ActitoSftpImportOperator(min_age=0, task_id="import_ok", conn_id="metrics_a", location="in",
                                 destination={str(base / "landing-a")!r})
        ActitoSftpImportOperator(min_age=0, task_id="import_refused", conn_id="metrics_b", location="in",
                                 destination={str(base / "landing-b")!r})
        ActitoSftpExportOperator(task_id="export_retry", conn_id="metrics_a", location="out",
                                 source={str(export_source)!r}, retries=1, retry_delay=0,
                                 on_retry_callback=_source_appears)
        """,
    )
    yield run, sizes
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _overview(**kwargs):
    from airflow.utils.session import create_session

    with create_session() as session:
        return overview(session, **kwargs)


def test_runs_ended_as_seeded(seeded):
    run, _ = seeded
    assert task_states(run) == {"import_ok": "success", "import_refused": "failed", "export_retry": "success"}
    from airflow.utils.session import create_session
    from sqlalchemy import text

    with create_session() as session:
        tries = session.execute(
            text("SELECT try_number, state FROM task_instance_history WHERE task_id = 'export_retry' AND run_id = :r"),
            {"r": run.run_id},
        ).all()
    assert [tuple(row) for row in tries] == [(1, "failed")]  # the first try, kept in task_instance_history


def test_connection_a_numbers(seeded):
    _, sizes = seeded
    result = _overview(conn_id="metrics_a")
    assert result.downloads == 3
    assert result.uploads == 2  # one failed try (from task_instance_history) + the successful retry
    assert result.by_type_status == {"download": {"succeeded": 3, "failed": 0}, "upload": {"succeeded": 1, "failed": 1}}
    assert (result.total_requests, result.succeeded, result.failed) == (5, 4, 1)
    assert result.success_rate == 0.8
    assert result.bytes_down == sum(sizes)
    assert result.bytes_up == 4096
    today = datetime.now(UTC).date().isoformat()
    assert len(result.per_day) == 30
    assert result.per_day[-1].day == today
    assert (result.per_day[-1].requests, result.per_day[-1].bytes_down, result.per_day[-1].bytes_up) == (
        5,
        sum(sizes),
        4096,
    )
    assert all(point.requests == 0 and point.bytes_down == 0 for point in result.per_day[:-1])


def test_connection_b_counts_the_refusal_of_the_failed_task(seeded):
    result = _overview(conn_id="metrics_b")
    assert result.by_type_status["download"] == {"succeeded": 0, "failed": 1}
    assert result.total_requests == 1
    assert result.success_rate == 0.0


def test_entity_filter_and_all_connections(seeded):
    assert _overview(entity="metrics-acme").total_requests == _overview(conn_id="metrics_a").total_requests
    assert _overview(entity="metrics-globex").total_requests == 1
    assert _overview(entity="nobody").total_requests == 0
    everything = _overview()
    assert everything.total_requests >= 6


def test_date_range(seeded):
    future = datetime.now(UTC) + timedelta(days=40)
    later = _overview(conn_id="metrics_a", now=future)
    assert later.total_requests == 0
    assert len(later.per_day) == 30
    week = _overview(conn_id="metrics_a", days=7)
    assert len(week.per_day) == 7
    assert week.total_requests == 5


def test_activity_lists_the_tries_and_the_last_file_each_way(seeded):
    from airflow.utils.session import create_session

    run, sizes = seeded
    with create_session() as session:
        result = activity(session, "metrics_a")
        refused = activity(session, "metrics_b")
    by_task = {view.task_id: view for view in result.runs}
    assert set(by_task) == {"import_ok", "export_retry"}
    imported, exported = by_task["import_ok"], by_task["export_retry"]
    assert (imported.run_id, imported.state) == (run.run_id, "success")
    assert (imported.direction, imported.location) == ("download", "in")
    assert (imported.succeeded, imported.failed, imported.wire_bytes) == (3, 0, sum(sizes))
    assert (exported.try_number, exported.state, exported.direction) == (2, "success", "upload")
    assert exported.last_file.endswith("/segment.csv")
    assert exported.last_file_bytes == 4096
    last_down = result.last_files["download"]
    assert last_down is not None
    assert last_down.last_file.rsplit("/", 1)[-1] in {"f0.csv", "f1.csv", "f2.csv"}
    assert result.last_files["upload"] == exported
    assert [view.state for view in refused.runs] == ["failed"]
    assert refused.runs[0].last_file == ""
    assert refused.last_files == {"download": None, "upload": None}  # nothing moved: no last file
    # The refused file, and why, for the Overview tab (the try that moved everything names none)
    [problem] = refused.runs[0].problems
    assert problem["file"].endswith("/plain.csv")
    assert problem["outcome"] == "refused"
    assert "not PGP-encrypted" in problem["reason"], problem
    assert imported.problems == []


def test_cli_metrics_prints_the_same_numbers(seeded, monkeypatch: pytest.MonkeyPatch):
    import json

    from click.testing import CliRunner

    from airflow_provider_actito_sftp.cli import cli

    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")
    runner = CliRunner()
    as_json = runner.invoke(cli, ["metrics", "metrics_a", "--json"], catch_exceptions=False)
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data == _overview(conn_id="metrics_a").as_dict() | {"until": data["until"]}
    table = runner.invoke(cli, ["metrics", "metrics_a", "--days", "7"], catch_exceptions=False)
    assert "total requests  5" in table.stdout
    assert "success rate    80.0 %" in table.stdout
    assert "uploads         2 (1 ok, 1 failed)" in table.stdout
    assert len([line for line in table.stdout.splitlines() if line.startswith("  20")]) == 7
    later = runner.invoke(cli, ["metrics", "metrics_a", "--until", "2030-01-31", "--json"], catch_exceptions=False)
    assert json.loads(later.stdout)["since"] == "2030-01-02"
    assert json.loads(later.stdout)["total_requests"] == 0
    entity = runner.invoke(cli, ["metrics", "--entity", "metrics-globex", "--json"], catch_exceptions=False)
    assert json.loads(entity.stdout)["total_requests"] == 1


@pytest.mark.postgres
@pytest.mark.usefixtures("seeded")
def test_postgresql_gives_the_same_numbers(sshd: SshServer, tmp_path: Path):
    """The same seed DAG on a PostgreSQL metadata DB: identical overview (aggregation is portable SQL)."""
    import json
    import os
    import secrets
    import shutil
    import subprocess
    import sys

    from tests.support.postgres import temporary_database

    for leftover in (sshd.data_root / "metrics" / "plain-out").iterdir():
        leftover.unlink()  # the SQLite run uploaded these; overwrite="fail" would refuse
    dag_file = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]) / "metrics_seed.py"
    source = next(line for line in dag_file.read_text().splitlines() if "write_bytes" in line)
    Path(source.split("Path(")[1].split(")")[0].strip("'\"")).unlink(missing_ok=True)  # fail the first try again
    for line in dag_file.read_text().splitlines():  # the SQLite run's imports: on_conflict="fail" would refuse
        if "destination=" in line:
            shutil.rmtree(line.split("destination=")[1].split(")")[0].strip("'\""), ignore_errors=True)
    with temporary_database(f"actito_metrics_{secrets.token_hex(4)}") as url:
        env = {**os.environ, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url, "AIRFLOW_HOME": str(tmp_path)}
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.support.metrics_child",
                str(dag_file),
                "metrics_seed",
                "metrics_a",
                "metrics_b",
            ],
            env=env,
            capture_output=True,
            text=True,
            cwd=Path(__file__).parents[1],
            timeout=600,
        )
    assert child.returncode == 0, child.stderr[-3000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["dialect"] == "postgresql"
    for conn_id in ("metrics_a", "metrics_b"):
        expected = _overview(conn_id=conn_id).as_dict()
        got = result["overview"][conn_id]
        for key in ("until",):
            expected.pop(key)
            got.pop(key)
        assert got == expected, conn_id


def test_the_summary_xcom_is_bounded_whatever_the_number_of_problems():
    summary = TransferSummary(conn_id="acme", direction="download")
    for index in range(5000):
        summary.add_problem(f"/in/{index:05d}-" + "n" * 200 + ".csv", "refused", "a long reason " * 1000)
    assert len(summary.problems) == MAX_PROBLEMS
    assert all(len(problem["reason"]) == MAX_REASON for problem in summary.problems)
    assert summary.problems[0]["reason"].endswith("…")
    assert len(json.dumps(summary.as_dict())) < MAX_PROBLEMS * (MAX_REASON + 400)
