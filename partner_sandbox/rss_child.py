"""Run one DAG with ``dag.test()`` in this process and print its memory use as JSON (for RSS checks).

Usage: python -m partner_sandbox.rss_child DAG_FILE DAG_ID [WARMUP_DAG_ID]
Prints {"baseline_rss_mb": ..., "peak_rss_mb": ..., "seconds": ..., "states": {...}} on the last line.
With a warm-up DAG, that DAG runs first (same machinery, tiny data); the peak is then reset
(/proc/self/clear_refs) so that the figures isolate what the measured run adds.
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
    warmup_id = sys.argv[3] if len(sys.argv) > 3 else None
    from airflow.dag_processing.dagbag import DagBag

    import airflow_provider_actito_sftp.operators  # noqa: F401  - everything imported before the baseline

    bag = DagBag(dag_folder=dag_file)
    if warmup_id:
        bag.get_dag(warmup_id).test()
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # reset VmHWM to the current RSS
    dag = bag.get_dag(dag_id)
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
