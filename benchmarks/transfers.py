"""The provider's transfers side by side with what a user would do with OpenSSH and gpg (issue 12).

    make bench                      # = .venv/bin/python -m benchmarks.transfers
    .venv/bin/python -m benchmarks.transfers --size-mib 512 --rounds 3 --json /tmp/bench.json
    .venv/bin/python -m benchmarks.transfers --only small_files,medium_pgp
    make bench-wan                  # = ... --link wan-200m,wan-1g (benchmarks.wan: an emulated WAN link)

Starts its own sshd (loopback), gpg homes and Airflow home, generates the data, then for each workload
runs the provider's operator and each baseline alternately (A B C A B C ...) for ``--rounds`` rounds and
takes the medians. The operators run in a real task (``dag.test()`` of a written DAG, in this process);
only their ``execute()`` is timed, from before the SSH session opens (``benchmarks.bench_timed``). Every
client uses aes128-gcm. Prints one markdown table with the machine facts; ``--json`` writes the same.
Not a test: nothing fails when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.bench_report import Check, Contender, Row, facts_text, machine_facts, table
from benchmarks.bench_runner import Runner, Sample, prepare_data, warm_up
from benchmarks.bench_runner import alternate as _alternate
from benchmarks.bench_runner import proc_sample as _proc
from benchmarks.bench_setup import migrate_db, run_measured, run_shell, start_bench
from benchmarks.wan import LINKS, PROFILES, describe_link, prepare_wan_data, run_wan

WORKLOADS = ("import_pgp", "export_pgp", "small_files", "medium_pgp", "rss")
MB = 1e6


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=256, help="the one large file (import, export, RSS)")
    parser.add_argument("--small-files", type=int, default=1000, help="how many 4 KiB plaintext files")
    parser.add_argument("--small-kib", type=int, default=4)
    parser.add_argument("--medium-files", type=int, default=100, help="how many PGP files of --medium-mib")
    parser.add_argument("--medium-mib", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default=",".join(WORKLOADS), help=f"comma-separated subset of {', '.join(WORKLOADS)}")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--link", default="loopback", help=f"comma-separated, in order: {', '.join(LINKS)}")
    parser.add_argument("--wan-size-mib", type=int, default=64, help="the large file over a WAN link")
    parser.add_argument("--wan-small-files", type=int, default=200, help="how many small files over a WAN link")
    parser.add_argument(
        "--profile", type=Path, help="write a cProfile of each provider execute() into this folder (slows it down)"
    )
    args = parser.parse_args(argv)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        os.environ["ACTITO_BENCH_PROFILE"] = str(args.profile.resolve())
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    args.link = [name.strip() for name in args.link.split(",") if name.strip()]
    if not args.link or set(args.link) - set(LINKS):
        parser.error(f"--link: choose from {', '.join(LINKS)}")
    unknown = set(args.only) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(sorted(unknown))}; choose from {', '.join(WORKLOADS)}")
    return args


def import_pgp(runner: Runner, args: argparse.Namespace) -> Row:
    bench = runner.bench
    remote = bench.folders["big"] / "big.bin.pgp"
    local_pgp, local_out = runner.out / "big.bin.pgp", runner.out / "big.bin"

    def provider() -> Sample:
        runner.clean_local("import_pgp")
        bench.stage("big", ["big.bin.pgp"])
        seconds, growth = runner.provider("bench_import_pgp")
        return seconds, None, growth

    def get_then_decrypt() -> Sample:
        runner.clean_local()
        bench.stage("big", ["big.bin.pgp"])
        get = run_measured(bench.sftp(), stdin_text=f"get {remote} {local_pgp}\n")
        decrypt = run_measured(bench.gpg("--output", str(local_out), "--decrypt", str(local_pgp)))
        return get.seconds + decrypt.seconds, max(get.peak_rss_mb, decrypt.peak_rss_mb), None

    def pipe() -> Sample:
        runner.clean_local()
        bench.stage("big", ["big.bin.pgp"])
        return _proc(run_measured(bench.ssh("cat", str(remote)), bench.gpg("--output", str(local_out), "--decrypt")))

    contenders = [Contender("provider"), Contender("sftp get, then gpg -d"), Contender("ssh cat | gpg -d")]
    _alternate(args.rounds, list(zip(contenders, (provider, get_then_decrypt, pipe), strict=True)))
    return Row(
        "import, 1 file PGP (download + decrypt + publish, delete after)",
        "MB/s",
        args.size_mib * 1024 * 1024 / MB,
        contenders[0],
        contenders[1:],
        1.15,
        "each",
        target_text=">= 1.15x / >= 0.9x",
        thresholds=[1.15, 0.9],
    )


def export_pgp(runner: Runner, args: argparse.Namespace, source: str, compress: bool, label: str) -> Row:
    bench = runner.bench
    name = f"{source}.pgp"
    remote = bench.folders["outbound"] / name
    local_pgp = runner.out / name
    dag_id = "bench_export_random" if source == "big.bin" else "bench_export_csv"

    def provider() -> Sample:
        bench.empty("outbound")
        seconds, growth = runner.provider(dag_id)
        return seconds, None, growth

    def gpg_then_put(compression: list[str]) -> Callable[[], Sample]:
        def run() -> Sample:
            bench.empty("outbound")
            runner.clean_local()
            encrypt = run_measured(
                bench.gpg(
                    *compression,
                    "--recipient-file",
                    str(bench.partner_public),
                    "--output",
                    str(local_pgp),
                    "--encrypt",
                    str(runner.data / source),
                )
            )
            put = run_measured(
                bench.sftp(), stdin_text=f"put {local_pgp} {remote}.part\nrename {remote}.part {remote}\n"
            )
            return encrypt.seconds + put.seconds, max(encrypt.peak_rss_mb, put.peak_rss_mb), None

        return run

    contenders = [Contender("provider")]
    runs = [provider]
    if compress:
        contenders += [
            Contender("gpg -e (default zlib) then sftp put + rename"),
            Contender("same, --compress-algo none"),
        ]
        runs += [gpg_then_put([]), gpg_then_put(["--compress-algo", "none"])]
        thresholds = [1.3, 0.0]
        note = "the second baseline is informational (which compression wins); the target is on the first"
    else:
        contenders += [Contender("gpg -e --compress-algo none then sftp put + rename")]
        runs += [gpg_then_put(["--compress-algo", "none"])]
        thresholds, note = [1.3], ""
    _alternate(args.rounds, list(zip(contenders, runs, strict=True)))
    bench.empty("outbound")
    size = (runner.data / source).stat().st_size
    return Row(label, "MB/s", size / MB, contenders[0], contenders[1:], 1.3, "each", note, thresholds=thresholds)


def _batch(runner: Runner, folder_name: str, workload: str) -> tuple[list[str], list[str], Callable[[], Sample]]:
    """A batch workload's file names, their staging paths, and its provider run (the DAG ``bench_<workload>``,
    its files restored on the server and its landing emptied first)."""
    bench = runner.bench
    names = sorted(path.name for path in (bench.masters / folder_name).iterdir())
    staged = [f"{folder_name}/{name}" for name in names]

    def provider() -> Sample:
        runner.clean_local(workload)
        bench.stage(folder_name, staged)
        seconds, growth = runner.provider(f"bench_{workload}")
        return seconds, None, growth

    return names, staged, provider


def small_files(runner: Runner, args: argparse.Namespace) -> Row:
    bench = runner.bench
    names, staged, provider = _batch(runner, "small", "small_files")
    folder = bench.folders["small"]

    def mget(delete: bool) -> Callable[[], Sample]:
        def run() -> Sample:
            runner.clean_local()
            bench.stage("small", staged)
            script = f"get {folder}/* {runner.out}/\n" + (f"rm {folder}/*\n" if delete else "")
            result = run_measured(bench.sftp(), stdin_text=script)
            bench.empty("small")
            return _proc(result)

        return run

    from airflow_provider_actito_sftp.hooks.event_loop import EVENT_LOOP_VARIABLE  # after the bench's Airflow home

    def provider_on_uvloop() -> Sample:
        os.environ[EVENT_LOOP_VARIABLE] = "uvloop"
        try:
            return provider()
        finally:
            os.environ.pop(EVENT_LOOP_VARIABLE, None)

    contenders = [
        Contender("provider"),
        Contender("provider on uvloop (ACTITO_SFTP_EVENT_LOOP=uvloop)"),
        Contender("sftp -b: get dir/* + rm dir/*"),
        Contender("sftp -b: get dir/*"),
    ]
    runs = (provider, provider_on_uvloop, mget(True), mget(False))
    _alternate(args.rounds, list(zip(contenders, runs, strict=True)))
    entries = runner.entries["bench_small_files"][-2 * args.rounds :]
    on_asyncio, on_uvloop = _cpu_per_file(entries[0::2], len(names)), _cpu_per_file(entries[1::2], len(names))
    on_uvloop = Check(f"on uvloop: {on_uvloop.text}", on_uvloop.target, on_uvloop.met)
    return Row(
        f"import, {len(names):,} x {args.small_kib} KiB plaintext files, delete after",
        "files/s",
        len(names),
        contenders[0],
        contenders[1:],
        1.0,
        "each",
        "sftp -b reads the directory, then one GET (open/read/close) per file, then one REMOVE per file",
        checks=[on_asyncio, on_uvloop],
        thresholds=[0.0, 1.0, 1.0],  # uvloop is informational: the same provider on another event loop
    )


def _cpu_per_file(entries: list[dict[str, Any]], files: int, target_ms: float = 1.0) -> Check:
    """The task process's CPU (user + system, all its threads; medians over the runs) per file, in ms."""
    user = statistics.median(entry["user_cpu_seconds"] for entry in entries) * 1000 / files
    system = statistics.median(entry["system_cpu_seconds"] for entry in entries) * 1000 / files
    total = statistics.median(
        (entry["user_cpu_seconds"] + entry["system_cpu_seconds"]) * 1000 / files for entry in entries
    )
    text = f"task CPU {total:.2f} ms/file (user {user:.2f} + system {system:.2f})"
    return Check(text, f"CPU <= {target_ms} ms/file", total <= target_ms)


def medium_pgp(runner: Runner, args: argparse.Namespace) -> Row:
    bench = runner.bench
    names, staged, provider = _batch(runner, "medium", "medium_pgp")
    folder = bench.folders["medium"]

    def loop_script(group: list[str]) -> str:
        sftp = " ".join(f"'{part}'" for part in bench.sftp())
        gpg = " ".join(f"'{part}'" for part in bench.gpg())
        files = " ".join(group)
        return (
            f'for f in {files}; do echo "get {folder}/$f {runner.out}/$f" | {sftp};'
            f' {gpg} --output "{runner.out}/${{f%.pgp}}" --decrypt "{runner.out}/$f"; done'
        )

    def loops(count: int) -> Callable[[], Sample]:
        def run() -> Sample:
            runner.clean_local()
            bench.stage("medium", staged)
            groups = [names[index::count] for index in range(count)]
            script = " ".join(f"( {loop_script(group)} ) &" for group in groups) + " wait"
            return _proc(run_shell(script))

        return run

    contenders = [
        Contender("provider"),
        Contender("shell loop: sftp get + gpg -d"),
        Contender("4 such loops in parallel"),
    ]
    _alternate(args.rounds, list(zip(contenders, (provider, loops(1), loops(4)), strict=True)))
    bench.empty("medium")
    return Row(
        f"import, {len(names)} x {args.medium_mib} MiB PGP files, delete after",
        "MB/s",
        len(names) * args.medium_mib * 1024 * 1024 / MB,
        contenders[0],
        contenders[1:],
        1.3,
        "best",
        "each loop iteration is a new sftp connection (kex + auth), then gpg -d; baselines do not delete",
    )


def rss(runner: Runner, args: argparse.Namespace, baseline_peak: float | None) -> tuple[list[str], dict[str, Any]]:
    """One large import then export in a fresh task process, after a 1 MiB warm-up (partner_sandbox.rss_child)."""
    bench = runner.bench
    runner.clean_local("rss")
    bench.empty("rss_out")
    bench.stage("rss_in", ["big.bin.pgp", "small.bin.pgp"])
    child = subprocess.run(
        [sys.executable, "-m", "partner_sandbox.rss_child", str(runner.dag_file), "bench_rss_big", "bench_rss_small"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[1],
        check=False,
    )
    if child.returncode != 0:
        raise RuntimeError(f"rss child failed: {child.stderr[-3000:]}")
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    growth = measured["peak_rss_mb"] - measured["baseline_rss_mb"]
    bench.empty("rss_out")
    bench.empty("rss_in")
    runner.clean_local("rss")
    baseline = f"{baseline_peak:.0f} MB peak (largest OpenSSH + gpg baseline above)" if baseline_peak else "-"
    cells = [
        f"task RSS growth, one {args.size_mib} MiB PGP import then export (fresh process, after a 1 MiB warm-up)",
        f"{measured['seconds']:.1f} s for both",
        "-",
        "-",
        "<= 100 MB",
        "yes" if growth <= 100 else "NO",
        f"+{growth:.0f} MB (VmHWM {measured['peak_rss_mb']:.0f} MB - VmRSS {measured['baseline_rss_mb']:.0f} MB)",
        baseline,
    ]
    return cells, {**measured, "rss_growth_mb": round(growth, 1), "met": growth <= 100, "states": measured["states"]}


def run_loopback(runner: Runner, args: argparse.Namespace) -> tuple[list[Row], list[list[str]], dict[str, Any] | None]:
    """The loopback workloads (the sshd directly): their rows, the RSS line, and the RSS result."""
    warm_up(runner)  # every workload: the first measured run must not pay the imports (nor its CPU per file)
    rows: list[Row] = []
    random_label = f"export, 1 file PGP, {args.size_mib} MiB random, compression off (encrypt + .part upload + rename)"
    csv_label = f"export, 1 file PGP, {args.size_mib} MiB customer CSV (provider picks compression; gpg: default)"
    steps: list[tuple[str, Callable[[], Row]]] = [
        ("import_pgp", lambda: import_pgp(runner, args)),
        ("export_pgp", lambda: export_pgp(runner, args, "big.bin", False, random_label)),
        ("export_pgp", lambda: export_pgp(runner, args, "customers.csv", True, csv_label)),
        ("small_files", lambda: small_files(runner, args)),
        ("medium_pgp", lambda: medium_pgp(runner, args)),
    ]
    for name, step in steps:
        if name in args.only:
            print(f"{name}...", file=sys.stderr, flush=True)
            rows.append(step())
    extra, rss_result = [], None
    if "rss" in args.only:
        peaks = [max(b.peak_rss_mb) for row in rows[:3] for b in row.baselines if b.peak_rss_mb]
        cells, rss_result = rss(runner, args, max(peaks) if peaks else None)
        extra.append(cells)
    return rows, extra, rss_result


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.monotonic()
    bench = start_bench()
    try:
        migrate_db()
        runner = Runner(bench)
        if "loopback" in args.link:
            prepare_data(runner, args)
        if set(args.link) & set(PROFILES):
            prepare_wan_data(runner, args)
        facts = machine_facts(bench.ssh(), "bench_pgp")
        facts["links"] = "; ".join(describe_link(name) for name in args.link)
        sections: list[tuple[str, str]] = []
        results: dict[str, Any] = {}
        rows: list[Row] = []
        rss_result = None
        for link in args.link:
            if link == "loopback":
                rows, extra, rss_result = run_loopback(runner, args)
                sections.append((link, table(rows, extra)))
            else:
                wan_rows, status = run_wan(runner, args, PROFILES[link])
                sections.append((link, table(wan_rows, []) + f"\n\nThe link carried {status['summary']}."))
                results[link] = {"rows": [row.as_dict() for row in wan_rows], "link": status}
        elapsed = time.monotonic() - started
        command = " ".join(["python -m benchmarks.transfers", *(argv if argv is not None else sys.argv[1:])])
        print(f"\n`{command}`: {args.rounds} rounds, medians (WAN: min-max beside), {elapsed:.0f} s in all\n")
        print(facts_text(facts))
        for link, text in sections:
            print(f"\n### {describe_link(link)}\n\n{text}")
        if args.json:
            result = {
                "command": command,
                "args": {key: value for key, value in vars(args).items() if key != "json"},
                "facts": facts,
                "rows": [row.as_dict() for row in rows],
                "rss": rss_result,
                "wan": results,
                "provider_runs": runner.entries,
                "elapsed_seconds": round(elapsed),
                "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            }
            args.json.write_text(json.dumps(result, indent=1))
    finally:
        bench.close()


if __name__ == "__main__":
    main()
