"""The provider's operators, with ``execute()`` timed from before the SSH session opens (for ``benchmarks.transfers``).

The benchmark's DAG files use these subclasses. ``execute()`` itself is the provider's: the wrapper only
takes the time and the task process's memory around it (VmRSS before; VmHWM after, reset just before via
``/proc/self/clear_refs``) and appends one JSON line to the file ``$ACTITO_BENCH_TIMINGS`` names.
"""

from __future__ import annotations

import cProfile
import json
import os
import time
from typing import Any

from airflow_provider_actito_sftp.operators import ActitoSftpExportOperator, ActitoSftpImportOperator


def status_mb(field: str) -> float:
    """A ``/proc/self/status`` field (VmRSS, VmHWM) in MB (10**6 bytes)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(field)


def reset_peak_rss() -> None:
    """Reset VmHWM to the current RSS (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def _profiled(operator: Any, execute: Any, context: Any) -> Any:
    """``execute(context)``, under cProfile when ``$ACTITO_BENCH_PROFILE`` names a folder (``--profile``)."""
    folder = os.environ.get("ACTITO_BENCH_PROFILE")
    if not folder:
        return execute(context)
    profile = cProfile.Profile()
    try:
        return profile.runcall(execute, context)
    finally:
        profile.dump_stats(os.path.join(folder, f"{operator.dag_id}.{operator.task_id}.{time.time_ns()}.prof"))


def _timed(operator: Any, execute: Any, context: Any) -> Any:
    reset_peak_rss()
    rss_before = status_mb("VmRSS")
    started, times_before = time.monotonic(), os.times()
    ok, result = False, None
    try:
        result = _profiled(operator, execute, context)
        ok = True
        return result
    finally:
        seconds = time.monotonic() - started
        times_after = os.times()
        durations = [record.get("duration_seconds", 0.0) for record in result or [] if isinstance(record, dict)]
        entry = {
            "dag_id": operator.dag_id,
            "task_id": operator.task_id,
            "seconds": seconds,
            # the task process's CPU, all its threads (gpg and other children not included)
            "user_cpu_seconds": round(times_after.user - times_before.user, 3),
            "system_cpu_seconds": round(times_after.system - times_before.system, 3),
            "ok": ok,
            "pid": os.getpid(),
            "rss_before_mb": round(rss_before, 1),
            "peak_rss_mb": round(status_mb("VmHWM"), 1),
            "files": len(durations),
            # the provider's own per-file clock (TransferRecord.duration_seconds): the rest of execute() is
            # the session, listing, key import and the finish
            "file_seconds_max": max(durations, default=0.0),
        }
        with open(os.environ["ACTITO_BENCH_TIMINGS"], "a") as handle:
            handle.write(json.dumps(entry) + "\n")


class TimedImport(ActitoSftpImportOperator):
    """``ActitoSftpImportOperator`` whose ``execute()`` is timed."""

    def execute(self, context: Any) -> Any:
        return _timed(self, super().execute, context)


class TimedExport(ActitoSftpExportOperator):
    """``ActitoSftpExportOperator`` whose ``execute()`` is timed."""

    def execute(self, context: Any) -> Any:
        return _timed(self, super().execute, context)
