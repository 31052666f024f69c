"""Run real DAG files through ``dag.test()`` in the test session's Airflow home."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any


def dags_folder() -> Path:
    folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_dag(dag_id: str, body: str) -> Path:
    """Write a DAG file whose ``with DAG(...)`` block contains ``body`` (Python, indented by us)."""
    source = f"""
from __future__ import annotations

import pendulum
from airflow.sdk import DAG
from airflow_provider_actito_sftp.operators import ActitoSftpExportOperator, ActitoSftpImportOperator
from airflow_provider_actito_sftp.sensors import ActitoSftpFileSensor

with DAG({dag_id!r}, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False) as dag:
{textwrap.indent(textwrap.dedent(body).strip(), "    ")}
"""
    path = dags_folder() / f"{dag_id}.py"
    path.write_text(source)
    return path


def run_dag(dag_id: str, body: str, **test_kwargs: Any) -> Any:
    """Write, parse (no import errors allowed) and run a DAG with ``dag.test()``; return the DagRun."""
    from airflow.dag_processing.dagbag import DagBag

    path = write_dag(dag_id, body)
    bag = DagBag(dag_folder=str(path))
    assert not bag.import_errors, bag.import_errors
    dag = bag.get_dag(dag_id)
    return dag.test(**test_kwargs)


def task_states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def xcom(dag_run: Any, task_id: str, key: str = "return_value") -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id, key=key)
            .one_or_none()
        )
        return None if row is None else XComModel.deserialize_value(row)
