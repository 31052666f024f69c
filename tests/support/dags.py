"""Run real DAG files through ``dag.test()`` in the test session's Airflow home."""

from __future__ import annotations

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
