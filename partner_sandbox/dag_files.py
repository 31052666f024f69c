"""DAG files that use the provider's operators, written into the configured Airflow DAGs folder."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path


def dags_folder() -> Path:
    """The folder ``AIRFLOW__CORE__DAGS_FOLDER`` names, created if needed."""
    folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_dag(dag_id: str, body: str, folder: Path | None = None) -> Path:
    """Write a DAG file whose ``with DAG(...)`` block contains ``body`` (Python, indented by us).

    :param folder: where (default: the configured DAGs folder).
    """
    source = f"""
from __future__ import annotations

import pendulum
from airflow.sdk import DAG
from airflow_provider_actito_sftp.operators import ActitoSftpExportOperator, ActitoSftpImportOperator
from airflow_provider_actito_sftp.sensors import ActitoSftpFileSensor

with DAG({dag_id!r}, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False) as dag:
{textwrap.indent(textwrap.dedent(body).strip(), "    ")}
"""
    path = (folder or dags_folder()) / f"{dag_id}.py"
    path.write_text(source)
    return path
