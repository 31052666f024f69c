"""Import partner files: wait for them, decrypt into the landing area, load them."""

from __future__ import annotations

import csv
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, task

from airflow_provider_actito_sftp.operators import ActitoSftpImportOperator
from airflow_provider_actito_sftp.sensors import ActitoSftpFileSensor

# Settings from the environment at parse time (no network, no DB): the connection and local folders.
CONN_ID = os.environ.get("ACTITO_SFTP_CONN_ID", "actito_demo")
_HOME = Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser()
LANDING_DIR = Path(os.environ.get("ACTITO_LANDING_DIR", _HOME / "actito-demo" / "landing"))
EXPORT_DIR = Path(os.environ.get("ACTITO_EXPORT_DIR", _HOME / "actito-demo" / "exports"))
CUSTOMERS_LANDED = Asset(name="actito_customers_landed", uri=LANDING_DIR.resolve().as_uri())

with DAG(
    dag_id="actito_import_customers",
    schedule="*/30 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    tags=["actito-sftp", "example"],
    doc_md="""
### Import customer files from the partner's SFTP server

1. **wait_for_files** (deferrable): waits in the triggerer until complete `*.csv.pgp` files are in the
   `inbound` location (files still uploading, `*.part` and friends, or modified in the last minute, are
   ignored). If none arrive within
   25 minutes the run is skipped, not failed.
2. **import_files**: downloads them over one SSH session (at most 500 per run, oldest first: a backlog
   drains over the next runs), PGP-decrypts them with our inbound key,
   publishes each atomically into the landing folder and moves the remote file to `archive`. Refused
   files (plaintext, tampered, wrong key) go to `quarantine` and fail the task without retry (a retry
   would meet the same files), listed one by one; connection errors are retried.
   Emits an Asset event for the landing folder, which triggers `actito_on_customers_imported`.
3. **load_customers**: counts the rows of each imported CSV (every record of the import, read with
   `report_records`: its XCom keeps the first 100, its report file all) and logs a summary.

Connection: `ACTITO_SFTP_CONN_ID` (default `actito_demo`), with locations `inbound`, `archive`,
`quarantine`.
""",
) as dag:
    wait_for_files = ActitoSftpFileSensor(
        task_id="wait_for_files",
        conn_id=CONN_ID,
        location="inbound",
        pattern="*.csv.pgp",
        poke_interval=60,
        timeout=25 * 60,
        soft_fail=True,
    )
    import_files = ActitoSftpImportOperator(
        task_id="import_files",
        conn_id=CONN_ID,
        location="inbound",
        pattern="*.csv.pgp",
        destination=str(LANDING_DIR),
        after_import="move",
        archive_location="archive",
        quarantine_location="quarantine",
        max_files=500,
        outlets=[CUSTOMERS_LANDED],
    )

    @task(inlets=[CUSTOMERS_LANDED])
    def load_customers(imported: dict[str, Any]) -> dict[str, int]:
        """Count the rows of every imported CSV (a stand-in for a real load).

        The import's XCom holds counts and its first 100 records; ``report_records`` gives every one of
        them (from the report file the import wrote beside the files when there are more).
        """
        from airflow_provider_actito_sftp.transfer.import_report import report_records  # at run time

        rows_per_file: dict[str, int] = {}
        for record in report_records(imported):
            if record["status"] != "success":
                continue
            with Path(record["local_path"]).open(newline="") as handle:
                rows_per_file[Path(record["local_path"]).name] = max(sum(1 for _ in csv.reader(handle)) - 1, 0)
        print(f"Loaded {sum(rows_per_file.values())} customer rows from {len(rows_per_file)} file(s): {rows_per_file}")
        return rows_per_file

    wait_for_files >> import_files
    load_customers(import_files.output)
