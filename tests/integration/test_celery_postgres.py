"""Scale-out proof: the example DAGs under a real CeleryExecutor, PostgreSQL metadata DB and Redis broker.

Scheduler, dag-processor, triggerer, api-server and a separate `airflow celery worker` process. The
connection (with every key) lives in the metadata DB, encrypted; the worker reads it through the
Execution API, never from local files. Skips, saying why, only where PostgreSQL or Redis is absent.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from pathlib import Path

import pytest

from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.sshd import SshServer, chown_tree
from tests.support.airflow_stack import AirflowStack
from tests.support.celery_stack import celery_stack, create_connection, redis_reachable
from tests.support.postgres import temporary_database

REPO = Path(__file__).parents[2]


@pytest.mark.postgres
@pytest.mark.timeout(900)
def test_example_dags_on_celery_postgres_redis(sshd: SshServer, tmp_path: Path):
    if not redis_reachable():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    folders = {name: sshd.make_folder(f"celery/{name}") for name in ("inbound", "archive", "quarantine", "outbound")}
    dags = tmp_path / "dags"
    dags.mkdir()
    for path in (REPO / "dags").glob("actito_*.py"):
        # Manual runs only, so a scheduled run does not race the test's runs for the partner's file.
        source = re.sub(r'schedule="[^"]*"', "schedule=None", path.read_text())
        (dags / path.name).write_text(source)
    with temporary_database(f"actito_celery_{secrets.token_hex(4)}") as url:
        stack = celery_stack(
            tmp_path / "airflow",
            dags,
            url,
            {
                "ACTITO_SFTP_CONN_ID": "actito_celery",
                "ACTITO_LANDING_DIR": str(tmp_path / "landing"),
                "ACTITO_EXPORT_DIR": str(tmp_path / "exports"),
            },
        )
        with PartnerGpg() as partner:
            _configure(stack, sshd, folders, partner, tmp_path)
            stack.start(["api-server"], ["scheduler"], ["dag-processor"], ["triggerer"], ["celery", "worker"])
            try:
                for dag_id in ("actito_import_customers", "actito_export_segment"):
                    stack.wait_for_dag(dag_id, timeout=180)
                    stack.cli("dags", "trigger", dag_id, "--run-id", "celery_run")
                import_state = stack.wait_for_runs("actito_import_customers", ["celery_run"], timeout=400)
                export_state = stack.wait_for_runs("actito_export_segment", ["celery_run"], timeout=400)
                assert import_state == {"celery_run": "success"}, stack.logs()
                assert export_state == {"celery_run": "success"}, stack.logs()
                executors = stack.query(
                    "SELECT DISTINCT executor FROM task_instance WHERE run_id = 'celery_run' AND state = 'success'"
                )
                metrics = json.loads(stack.actito_sftp("metrics", "actito_celery", "--json"))
            finally:
                stack.stop()
            [uploaded] = list(folders["outbound"].iterdir())
            partner.decrypt(uploaded, tmp_path / "partner-view.csv")
    assert (tmp_path / "landing" / "customers.csv").read_text().startswith("id;email")
    assert (tmp_path / "partner-view.csv").read_text().startswith("contact_id,email,segment")
    print(f"executors recorded on the task instances: {executors}")
    worker_log = (tmp_path / "airflow" / "celery.log").read_text(errors="replace")
    # The separate Celery worker process executed the tasks of both DAGs.
    assert "actito_import_customers" in worker_log
    assert "actito_export_segment" in worker_log
    assert (metrics["downloads"], metrics["uploads"], metrics["failed"]) == (1, 1, 0)
    assert metrics["total_requests"] == 2


def _configure(stack: AirflowStack, sshd: SshServer, folders: dict[str, Path], partner: PartnerGpg, tmp: Path) -> None:
    """The connection through the CLI, stored in PostgreSQL (Fernet-encrypted): keys included."""
    create_connection(stack, sshd, "actito_celery", folders)
    stack.actito_sftp("pgp-key", "generate", "actito_celery")
    ours = stack.actito_sftp("pgp-key", "public", "actito_celery")
    fingerprint = partner.generate()
    (tmp / "partner.asc").write_text(partner.export_public(fingerprint))
    stack.actito_sftp("partner-key", "set", "actito_celery", str(tmp / "partner.asc"))
    stack.actito_sftp("policy", "actito_celery", "--inbound-pgp-required", "--outbound-pgp")
    sample = tmp / "customers.csv"
    sample.write_text("id;email\n" + "".join(f"{i};c{i}@example.com\n" for i in range(100)))
    partner.encrypt_to(ours, sample, folders["inbound"] / "customers.csv.pgp")
    old = time.time() - 600
    import os

    os.utime(folders["inbound"] / "customers.csv.pgp", (old, old))
    chown_tree(folders["inbound"], sshd.user)
    shutil.rmtree(tmp / "landing", ignore_errors=True)
