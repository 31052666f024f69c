"""React to a finished import: runs whenever the import DAG publishes files into the landing folder."""

from __future__ import annotations

import os
from pathlib import Path

import pendulum
from airflow.sdk import DAG, Asset, task

# Settings from the environment at parse time (no network, no DB): the connection and local folders.
CONN_ID = os.environ.get("ACTITO_SFTP_CONN_ID", "actito_demo")
_HOME = Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser()
LANDING_DIR = Path(os.environ.get("ACTITO_LANDING_DIR", _HOME / "actito-demo" / "landing"))
EXPORT_DIR = Path(os.environ.get("ACTITO_EXPORT_DIR", _HOME / "actito-demo" / "exports"))
CUSTOMERS_LANDED = Asset(name="actito_customers_landed", uri=LANDING_DIR.resolve().as_uri())

with DAG(
    dag_id="actito_on_customers_imported",
    schedule=[CUSTOMERS_LANDED],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1},
    tags=["actito-sftp", "example"],
    doc_md="""
### Downstream of the import

Scheduled by the Asset `actito_customers_landed`: each time `actito_import_customers` publishes files,
this DAG runs and reads what the import recorded in the Asset event (file count, bytes, names).

**announce** is also a TaskFlow task calling the hook directly: `ActitoSftpHook(CONN_ID).list_location("archive")`
shows what the partner's `archive` location holds now. `import_files`, `export_files`, `find_files` and
`wait_for_files` are called the same way (see the README).
""",
) as dag:

    @task
    def announce(triggering_asset_events=None) -> int:  # type: ignore[no-untyped-def]
        from airflow_provider_actito_sftp.hooks import ActitoSftpHook  # at run time: DAG parsing stays light

        files = 0
        for events in (triggering_asset_events or {}).values():
            for event in events:
                files += int(event.extra.get("files", 0))
                print(f"New customer files landed: {event.extra}")
        archived = [entry.name for entry in ActitoSftpHook(CONN_ID).list_location("archive")]
        print(f"The partner's archive holds {len(archived)} file(s): {', '.join(archived)}")
        return files

    announce()
