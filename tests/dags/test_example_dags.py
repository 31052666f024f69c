"""The example DAGs: they parse fast with no import errors, and each runs green against the test sshd."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.sshd import SshServer, chown_tree

DAGS = Path(__file__).parents[2] / "dags"
EXAMPLE_DAG_IDS = {"actito_import_customers", "actito_export_segment", "actito_on_customers_imported"}


@pytest.fixture(scope="module")
def example_env(airflow_db: Path, sshd: SshServer, client_key: str, tmp_path_factory: pytest.TempPathFactory):
    """The demo connection (inbound PGP required, outbound PGP on) and the example DAGs' folders."""
    import json

    from airflow_provider_actito_sftp.pgp.keys import export_newest_public_key, generate_inbound_key

    base = tmp_path_factory.mktemp("examples")
    folders = {name: sshd.make_folder(f"examples/{name}") for name in ("inbound", "archive", "quarantine", "outbound")}
    secret_keys, _ = generate_inbound_key("examples")
    partner = PartnerGpg()
    partner_fingerprint = partner.generate()
    connection = {
        "conn_type": "actito_sftp",
        "host": sshd.host,
        "port": sshd.port,
        "login": sshd.user.name,
        "extra": {
            "entity": "demo",
            "ssh_private_key": client_key,
            "host_key": sshd.host_key_line,
            "locations": {name: str(path) for name, path in folders.items()},
            "inbound_pgp_required": True,
            "inbound_pgp_private_keys": secret_keys,
            "outbound_pgp": True,
            "partner_pgp_public_key": partner.export_public(partner_fingerprint),
        },
    }
    saved = {
        key: os.environ.get(key)
        for key in ("AIRFLOW_CONN_EXAMPLES", "ACTITO_SFTP_CONN_ID", "ACTITO_LANDING_DIR", "ACTITO_EXPORT_DIR")
    }
    os.environ.update(
        AIRFLOW_CONN_EXAMPLES=json.dumps(connection),
        ACTITO_SFTP_CONN_ID="examples",
        ACTITO_LANDING_DIR=str(base / "landing"),
        ACTITO_EXPORT_DIR=str(base / "exports"),
    )
    yield {"folders": folders, "partner": partner, "public": export_newest_public_key(secret_keys)[0], "base": base}
    partner.close()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def dagbag(example_env):
    """The example DAGs, copied into the configured DAGs folder (dag.test() runs DAGs from there)."""
    import shutil

    from airflow.dag_processing.dagbag import DagBag

    from partner_sandbox.dag_files import dags_folder

    target = dags_folder() / "examples"
    target.mkdir(exist_ok=True)
    for path in DAGS.glob("*.py"):
        shutil.copy(path, target / path.name)
    return DagBag(dag_folder=str(target))


def test_no_import_errors_and_every_example_is_documented(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == EXAMPLE_DAG_IDS
    for dag_id in EXAMPLE_DAG_IDS:
        dag = dagbag.get_dag(dag_id)
        assert dag.doc_md
        assert len(dag.doc_md) > 100
        assert dag.max_active_runs == 1
        assert all(task.retries >= 1 for task in dag.tasks)


def test_each_file_parses_quickly(example_env):
    """DAG files do no network or heavy work at parse time (the SSH/gpg libraries load only in tasks)."""
    from airflow.dag_processing.dagbag import DagBag

    timings = {}
    for path in sorted(DAGS.glob("actito_*.py")):
        started = time.perf_counter()
        bag = DagBag(dag_folder=str(path))
        timings[path.name] = time.perf_counter() - started
        assert not bag.import_errors
    print("DagBag parse time per file: " + ", ".join(f"{name} {seconds:.3f} s" for name, seconds in timings.items()))
    assert all(seconds < 0.3 for seconds in timings.values()), timings


def test_import_then_downstream_then_export_run_green(dagbag, example_env, sshd: SshServer):
    folders, partner, base = example_env["folders"], example_env["partner"], example_env["base"]
    sample = base / "customers.csv"
    sample.write_text("id;email\n" + "".join(f"{i};c{i}@example.com\n" for i in range(250)))
    partner.encrypt_to(example_env["public"], sample, folders["inbound"] / "customers-20261127.csv.pgp")
    old = time.time() - 600  # older than the DAG's min_age
    os.utime(folders["inbound"] / "customers-20261127.csv.pgp", (old, old))
    chown_tree(folders["inbound"], sshd.user)

    imported = dagbag.get_dag("actito_import_customers").test()
    states = {ti.task_id: str(ti.state) for ti in imported.get_task_instances()}
    assert states == {"wait_for_files": "success", "import_files": "success", "load_customers": "success"}
    assert (base / "landing" / "customers-20261127.csv").read_text() == sample.read_text()
    assert [path.name for path in folders["archive"].iterdir()] == ["customers-20261127.csv.pgp"]
    from tests.support.dags import xcom

    assert xcom(imported, "load_customers") == {"customers-20261127.csv": 250}
    summary = xcom(imported, "import_files")  # bounded: counts, the first records, the report of all
    assert (summary["imported"], summary["records_total"], summary["remaining"]) == (1, 1, 0)
    assert Path(summary["report"]).parent == base / "landing" / ".actito-sftp-reports"

    downstream = dagbag.get_dag("actito_on_customers_imported").test()
    assert {ti.task_id: str(ti.state) for ti in downstream.get_task_instances()} == {"announce": "success"}

    # A manual run without a logical date (Airflow 3) names the file after the day the run was due.
    exported = dagbag.get_dag("actito_export_segment").test(logical_date=None)
    assert {ti.task_id: str(ti.state) for ti in exported.get_task_instances()} == {
        "build_segment": "success",
        "upload_segment": "success",
    }
    [uploaded] = list(folders["outbound"].iterdir())
    assert re.fullmatch(r"segment-\d{4}-\d{2}-\d{2}\.csv\.pgp", uploaded.name), uploaded.name
    partner.decrypt(uploaded, base / "partner-view.csv")
    assert (base / "partner-view.csv").read_text().startswith("contact_id,email,segment")
