"""Run one DAG with ``dag.test()`` in this process and print its memory use as JSON (for RSS checks).

Usage: python -m tests.support.rss_child DAG_FILE DAG_ID
Prints {"baseline_rss_mb": ..., "peak_rss_mb": ..., "seconds": ..., "states": {...}} on the last line.
"""

from __future__ import annotations

import json
import sys
import time


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(field)


def main() -> None:
    dag_file, dag_id = sys.argv[1], sys.argv[2]
    from airflow.dag_processing.dagbag import DagBag

    import airflow_provider_actito_sftp.operators  # noqa: F401  - everything imported before the baseline

    dag = DagBag(dag_folder=dag_file).get_dag(dag_id)
    baseline = _status_mb("VmRSS")
    started = time.monotonic()
    run = dag.test()
    seconds = time.monotonic() - started
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    print(
        json.dumps(
            {
                "baseline_rss_mb": round(baseline, 1),
                "peak_rss_mb": round(_status_mb("VmHWM"), 1),
                "seconds": round(seconds, 2),
                "states": states,
            }
        )
    )


if __name__ == "__main__":
    main()
