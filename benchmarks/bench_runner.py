"""The benchmark's DAG file, the runner of the provider's DAGs, and the data (for ``benchmarks.transfers``)."""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.bench_report import Contender
from benchmarks.bench_setup import Bench, Proc, write_customer_csv
from benchmarks.bench_setup import write_random as write_random_file

Sample = tuple[float, float | None, float | None]  # seconds, baseline peak RSS MB, provider task RSS growth MB

DAGS = """
from __future__ import annotations

import pendulum
from airflow.sdk import DAG
from airflow_provider_actito_sftp.operators import ActitoSftpExportOperator, ActitoSftpImportOperator
from benchmarks.bench_timed import TimedExport, TimedImport

def _dag(dag_id, operator, **kwargs):
    with DAG(dag_id, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False) as made:
        operator(task_id="transfer", **kwargs)
    globals()[dag_id] = made

for name, location, conn_id, pattern in (
    ("warm", "warm", "bench_pgp", "*"), ("import_pgp", "big", "bench_pgp", "*.pgp"),
    ("small_files", "small", "bench_plain", "*"), ("medium_pgp", "medium", "bench_pgp", "*.pgp"),
):
    _dag(f"bench_{name}", TimedImport, conn_id=conn_id, location=location, destination=f"{LANDING}/{name}",
         pattern=pattern, after_import="delete", min_age=0)
for name, source in (
    ("export_random", f"{DATA}/big.bin"), ("export_csv", f"{DATA}/customers.csv"), ("export_wan", f"{DATA}/wan.bin"),
):
    _dag(f"bench_{name}", TimedExport, conn_id="bench_pgp", location="outbound", source=source)

# The RSS workload (run by partner_sandbox.rss_child in a fresh process): a 1 MiB warm-up, then the large file.
for size in ("small", "big"):
    with DAG(f"bench_rss_{size}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as sized:
        imported = ActitoSftpImportOperator(min_age=0, task_id="import", conn_id="bench_pgp", location="rss_in",
                                            destination=f"{LANDING}/rss", pattern=f"{size}.bin.pgp",
                                            after_import="delete")
        exported = ActitoSftpExportOperator(task_id="export", conn_id="bench_pgp", location="rss_out",
                                            source=f"{LANDING}/rss/{size}.bin")
        imported >> exported
    globals()[sized.dag_id] = sized
"""


class Runner:
    """Runs the provider's DAGs in this process and the baselines as subprocesses."""

    def __init__(self, bench: Bench) -> None:
        from partner_sandbox.dag_files import dags_folder

        self.bench = bench
        self.landing = bench.home / "landing"
        self.out = bench.home / "out"
        self.data = bench.home / "data"
        for folder in (self.landing, self.out, self.data):
            folder.mkdir(exist_ok=True)
        body = DAGS.replace("{LANDING}", str(self.landing)).replace("{DATA}", str(self.data))
        self.dag_file = dags_folder() / "bench_transfers.py"
        self.dag_file.write_text(body)
        self._bag: Any = None
        self.timings = Path(bench.home / "timings.jsonl")
        self.entries: dict[str, list[dict[str, Any]]] = {}  # dag_id -> each run's timing line

    def dag(self, dag_id: str) -> Any:
        if self._bag is None:
            from airflow.dag_processing.dagbag import DagBag

            self._bag = DagBag(dag_folder=str(self.dag_file))
            if self._bag.import_errors:
                raise RuntimeError(self._bag.import_errors)
        return self._bag.get_dag(dag_id)

    def provider(self, dag_id: str) -> tuple[float, float]:
        """Run a DAG; return its task's execute() seconds and RSS growth (VmHWM - VmRSS before, MB)."""
        self.timings.write_text("")
        run = self.dag(dag_id).test()
        states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
        lines = self.timings.read_text().splitlines()
        if states != {"transfer": "success"} or len(lines) != 1:
            raise RuntimeError(f"{dag_id}: {states}, timings {lines}")
        entry = json.loads(lines[0])
        self.entries.setdefault(dag_id, []).append(entry)
        return entry["seconds"], entry["peak_rss_mb"] - entry["rss_before_mb"]

    def clean_local(self, *names: str) -> None:
        for name in names:
            target = self.landing / name
            shutil.rmtree(target, ignore_errors=True)
        shutil.rmtree(self.out, ignore_errors=True)
        self.out.mkdir()


def alternate(rounds: int, contenders: list[tuple[Contender, Callable[[], Sample]]]) -> None:
    """A B C A B C ...: each callable returns (seconds, peak RSS MB or None, RSS growth MB or None)."""
    for round_index in range(rounds):
        for contender, run in contenders:
            seconds, peak, growth = run()
            contender.seconds.append(seconds)
            if peak is not None:
                contender.peak_rss_mb.append(peak)
            if growth is not None:
                contender.rss_growth_mb.append(growth)
            print(f"  round {round_index + 1}: {contender.name}: {seconds:.2f} s", file=sys.stderr, flush=True)


def proc_sample(result: Proc) -> Sample:
    """A command-line run as a sample: its seconds and peak RSS."""
    return result.seconds, result.peak_rss_mb, None


def prepare_data(runner: Runner, args: argparse.Namespace) -> None:
    bench = runner.bench
    from partner_sandbox.sshd import chown_tree

    started = time.monotonic()
    size = args.size_mib * 1024 * 1024
    if {"import_pgp", "export_pgp", "rss"} & set(args.only):
        write_random_file(runner.data / "big.bin", size)
        bench.encrypt_for_us(runner.data / "big.bin", bench.master("big.bin.pgp"))
    write_random_file(runner.data / "small.bin", 1 << 20)  # the warm-up's file, and the RSS workload's
    bench.encrypt_for_us(runner.data / "small.bin", bench.master("small.bin.pgp"))
    if "export_pgp" in args.only:
        write_customer_csv(runner.data / "customers.csv", size)
    if "small_files" in args.only:
        (bench.masters / "small").mkdir()
        for index in range(args.small_files):
            text = base64.b64encode(os.urandom(args.small_kib * 768))  # 4 KiB of text, 76-column free
            (bench.masters / "small" / f"drop-{index:05d}.csv").write_bytes(text)
    if "medium_pgp" in args.only:
        (bench.masters / "medium").mkdir()
        plain = runner.data / "medium.bin"
        write_random_file(plain, args.medium_mib * 1024 * 1024)
        first = bench.masters / "medium" / "part-000.bin.pgp"
        bench.encrypt_for_us(plain, first)
        plain.unlink()
        for index in range(1, args.medium_files):
            shutil.copyfile(first, bench.masters / "medium" / f"part-{index:03d}.bin.pgp")  # distinct inodes
    chown_tree(bench.masters, bench.server.user)
    print(f"data ready in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)


def warm_up(runner: Runner) -> None:
    """Import a 1 MiB PGP file once, so that the first measured round does not pay the imports of
    asyncssh and the provider's modules (the task runs in this process)."""
    runner.bench.stage("warm", ["small.bin.pgp"])
    runner.provider("bench_warm")
    runner.clean_local("warm")
