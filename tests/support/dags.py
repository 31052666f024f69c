"""Run real DAG files through ``dag.test()`` in the test session's Airflow home."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from partner_sandbox.dag_files import write_dag


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


def import_records(dag_run: Any, task_id: str = "import") -> list[dict[str, Any]]:
    """Every record of an import task's try: its XCom holds the first ones, its report file all of them."""
    from airflow_provider_actito_sftp.transfer.import_report import report_records

    value = xcom(dag_run, task_id)
    return [] if value is None else list(report_records(value))


def published_names(folder: Path) -> list[str]:
    """The sorted names in an import's destination, but for its reports' folder (partial files included)."""
    from airflow_provider_actito_sftp.transfer.names import REPORT_FOLDER

    return sorted(path.name for path in folder.iterdir() if path.name != REPORT_FOLDER)
