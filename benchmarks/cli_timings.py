"""Time the ``actito-sftp`` console script against the ``airflow`` CLI, each call a fresh process.

    .venv/bin/python -m benchmarks.cli_timings [--runs 5]

Starts a throwaway OpenSSH sshd and a temporary Airflow home (SQLite, migrated), creates one connection with
``actito-sftp connection create``, then runs each command ``--runs`` times, alternating, and prints the
median wall time of each. Targets (issue 13): ``--help``, a usage error and a typo in < 0.5 s;
``connection show`` no slower than ``airflow connections get`` of the same connection.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CONN_ID = "bench_cli"


def _commands() -> list[tuple[str, list[str], float | None]]:
    """(label, argv, target seconds or None), in the order they are run each round."""
    script = str(BIN / "actito-sftp")
    return [
        ("actito-sftp --help", [script, "--help"], 0.5),
        ("actito-sftp connection create --help", [script, "connection", "create", "--help"], 0.5),
        ("actito-sftp conection show (a typo)", [script, "conection", "show", CONN_ID], 0.5),
        ("actito-sftp location add (argument missing)", [script, "location", "add", CONN_ID], 0.5),
        ("actito-sftp connection show --json", [script, "connection", "show", CONN_ID, "--json"], None),
        ("airflow connections get -o json", [str(BIN / "airflow"), "connections", "get", CONN_ID, "-o", "json"], None),
        ("actito-sftp location list", [script, "location", "list", CONN_ID], None),
    ]


def _time(argv: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(argv, capture_output=True, check=False)
    return time.monotonic() - started


def _create_connection(home: Path) -> None:
    from partner_sandbox.sshd import ensure_test_user, remove_server, start_sshd

    server = start_sshd(ensure_test_user())
    try:
        subprocess.run(
            [
                *(str(BIN / "actito-sftp"), "connection", "create", CONN_ID, "--entity", "bench"),
                *("--host", server.host, "--port", str(server.port), "--username", server.user.name),
                *("--location", f"inbound={server.make_folder('in')}", "--trust-on-first-use"),
            ],
            check=True,
            capture_output=True,
        )
    finally:
        remove_server(server)  # the commands timed read the DB only


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="actito-cli-bench-"))
    os.environ.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    try:
        subprocess.run([str(BIN / "airflow"), "db", "migrate"], check=True, capture_output=True)
        _create_connection(home)
        commands = _commands()
        samples: dict[str, list[float]] = {label: [] for label, _, _ in commands}
        for _ in range(args.runs):
            for label, command, _target in commands:
                samples[label].append(_time(command))
        print(f"| command | median of {args.runs} (s) | min - max (s) | target | met? |")
        print("|---|---|---|---|---|")
        medians = {label: statistics.median(values) for label, values in samples.items()}
        for label, _command, target in commands:
            values = samples[label]
            shown_target = f"< {target} s" if target else "-"
            met = "-" if target is None else ("yes" if medians[label] < target else "NO")
            spread = f"{min(values):.2f} - {max(values):.2f}"
            print(f"| `{label}` | {medians[label]:.2f} | {spread} | {shown_target} | {met} |")
        ours, theirs = medians["actito-sftp connection show --json"], medians["airflow connections get -o json"]
        verdict = "yes" if ours <= theirs * 1.05 else "NO"
        ratio = ours / theirs
        print(f"\n`connection show` / `airflow connections get`: {ratio:.2f}x (target <= 1.0x, 5% noise): {verdict}")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
