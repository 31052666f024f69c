"""Migrate the configured metadata DB, run one DAG with ``dag.test()``, print the overview of connections.

Usage: python -m tests.support.metrics_child DAG_FILE DAG_ID CONN_ID [CONN_ID ...]
(Runs in its own process so that the parent's SQLite-configured Airflow is untouched.)
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    dag_file, dag_id, *conn_ids = sys.argv[1:]
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.db import initdb
    from airflow.utils.session import create_session

    from airflow_provider_actito_sftp.metrics import overview

    initdb()
    DagBag(dag_folder=dag_file).get_dag(dag_id).test()
    with create_session() as session:
        dialect = session.get_bind().dialect.name
        result = {conn_id: overview(session, conn_id=conn_id).as_dict() for conn_id in conn_ids}
    print(json.dumps({"dialect": dialect, "overview": result}))


if __name__ == "__main__":
    main()
