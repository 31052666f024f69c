"""Export a campaign segment to the partner: build the CSV, encrypt it to their key, upload it locked."""

from __future__ import annotations

import csv
import os
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import DAG, Asset, task
from airflow.sdk.types import DagRunProtocol

from airflow_provider_actito_sftp.operators import ActitoSftpExportOperator

# Settings from the environment at parse time (no network, no DB): the connection and local folders.
CONN_ID = os.environ.get("ACTITO_SFTP_CONN_ID", "actito_demo")
_HOME = Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser()
LANDING_DIR = Path(os.environ.get("ACTITO_LANDING_DIR", _HOME / "actito-demo" / "landing"))
EXPORT_DIR = Path(os.environ.get("ACTITO_EXPORT_DIR", _HOME / "actito-demo" / "exports"))
CUSTOMERS_LANDED = Asset(name="actito_customers_landed", uri=LANDING_DIR.resolve().as_uri())

with DAG(
    dag_id="actito_export_segment",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["actito-sftp", "example"],
    doc_md="""
### Export a segment to the partner's SFTP server

1. **build_segment** writes `segment-<date>.csv` (here: a generated sample; in real life a query).
2. **upload_segment** encrypts it to the partner's PGP key (if outbound PGP is on for the connection),
   uploads it as `NAME.part` and renames it when complete, so the partner never reads half a file.
   With `overwrite="fail"` a re-run never clobbers a file the partner already has.
""",
) as dag:

    @task
    def build_segment(dag_run: DagRunProtocol | None = None) -> str:
        # A manual run has no logical date: name the file after when the run was due instead.
        assert dag_run is not None
        day = (dag_run.logical_date or dag_run.run_after).strftime("%Y-%m-%d")
        EXPORT_DIR.mkdir(parents=True, exist_ok=True)
        path = EXPORT_DIR / f"segment-{day}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["contact_id", "email", "segment"])
            for index in range(1, 501):
                writer.writerow([index, f"contact{index}@example.com", "newsletter-optin"])
        return str(path)

    upload_segment = ActitoSftpExportOperator(
        task_id="upload_segment",
        conn_id=CONN_ID,
        location="outbound",
        source="{{ ti.xcom_pull(task_ids='build_segment') }}",
        overwrite="fail",
    )
    build_segment() >> upload_segment
