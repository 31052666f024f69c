"""The benchmark over an emulated WAN link (issue 22): ``benchmarks.transfers --link wan-200m,wan-1g``.

Every client (the provider's connections, ``sftp``, ``ssh``, rclone, Airflow's SFTPHook) goes through the same
``benchmarks.wan_link`` process to the same sshd. Three workloads, each with its peers in alternating rounds:
one PGP file imported, one exported (random data, no compression), and many small plaintext files imported.
Rates are shown as medians with their min-max over the rounds, and large files also as a fraction of the link.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks import wan_peers
from benchmarks.bench_report import Check, Contender, Row
from benchmarks.bench_runner import Runner, Sample, alternate, proc_sample, warm_up
from benchmarks.bench_setup import run_measured, write_random
from benchmarks.wan_link import start_link

MB = 1e6
WAN_WORKLOADS = ("import_pgp", "export_pgp", "small_files")


@dataclass(frozen=True)
class LinkProfile:
    """An emulated link, and the targets on the provider's large-file rates over it."""

    name: str
    delay_ms: float  # one way, each direction
    rate_mbit: float  # each way
    link_target: float  # the provider's large-file rate as a fraction of the link's
    pipe_target: float  # the 1-file import against ``ssh cat | gpg -d`` (0: none)

    @property
    def rate_mb_s(self) -> float:
        return self.rate_mbit / 8

    def describe(self) -> str:
        return (
            f"{self.name}: {2 * self.delay_ms:g} ms round trip ({self.delay_ms:g} ms each way), "
            f"{self.rate_mbit:g} Mbit/s ({self.rate_mb_s:g} MB/s) each way, through benchmarks.wan_link"
        )


PROFILES = {
    "wan-200m": LinkProfile("wan-200m", 25, 200, link_target=0.9, pipe_target=1.2),
    "wan-1g": LinkProfile("wan-1g", 25, 1000, link_target=0.8, pipe_target=0.0),
}
LINKS = ("loopback", *PROFILES)


def describe_link(name: str) -> str:
    return PROFILES[name].describe() if name in PROFILES else "loopback: the sshd on 127.0.0.1, no emulated link"


def prepare_wan_data(runner: Runner, args: argparse.Namespace) -> None:
    """``wan.bin`` (random) and its PGP master, the small files' masters, and the 1 MiB warm-up file."""
    from partner_sandbox.sshd import chown_tree

    bench = runner.bench
    if {"import_pgp", "export_pgp"} & set(args.only):
        write_random(runner.data / "wan.bin", args.wan_size_mib * 1024 * 1024)
        bench.encrypt_for_us(runner.data / "wan.bin", bench.master("wan.bin.pgp"))
    if not bench.master("small.bin.pgp").exists():
        write_random(runner.data / "small.bin", 1 << 20)
        bench.encrypt_for_us(runner.data / "small.bin", bench.master("small.bin.pgp"))
    if "small_files" in args.only:
        (bench.masters / "wan_small").mkdir()
        for index in range(args.wan_small_files):
            text = base64.b64encode(os.urandom(args.small_kib * 768))
            (bench.masters / "wan_small" / f"drop-{index:05d}.csv").write_bytes(text)
    chown_tree(bench.masters, bench.server.user)


def _link_check(row: Row, profile: LinkProfile) -> Row:
    fraction = row.rate(row.provider) / profile.rate_mb_s
    row.checks.append(Check("", f">= {profile.link_target}x link", fraction >= profile.link_target))  # rate shows it
    return row


def import_pgp(runner: Runner, args: argparse.Namespace, profile: LinkProfile) -> Row:
    bench = runner.bench
    remote = bench.folders["big"] / "wan.bin.pgp"
    local_pgp, local_out = runner.out / "wan.bin.pgp", runner.out / "wan.bin"

    def provider() -> Sample:
        runner.clean_local("import_pgp")
        bench.stage("big", ["wan.bin.pgp"])
        seconds, growth = runner.provider("bench_import_pgp")
        return seconds, None, growth

    def get_then_decrypt() -> Sample:
        runner.clean_local()
        bench.stage("big", ["wan.bin.pgp"])
        get = run_measured(bench.sftp(), stdin_text=f"get {remote} {local_pgp}\n")
        decrypt = run_measured(bench.gpg("--output", str(local_out), "--decrypt", str(local_pgp)))
        return get.seconds + decrypt.seconds, max(get.peak_rss_mb, decrypt.peak_rss_mb), None

    def pipe() -> Sample:
        runner.clean_local()
        bench.stage("big", ["wan.bin.pgp"])
        return proc_sample(
            run_measured(bench.ssh("cat", str(remote)), bench.gpg("--output", str(local_out), "--decrypt"))
        )

    contenders = [Contender("provider"), Contender("sftp get, then gpg -d"), Contender("ssh cat | gpg -d")]
    alternate(args.rounds, list(zip(contenders, (provider, get_then_decrypt, pipe), strict=True)))
    bench.empty("big")
    row = Row(
        f"import, 1 file PGP, {args.wan_size_mib} MiB (download + decrypt + publish, delete after)",
        "MB/s",
        args.wan_size_mib * 1024 * 1024 / MB,
        contenders[0],
        contenders[1:],
        profile.pipe_target,
        "each",
        target_text=f">= {profile.pipe_target}x ssh cat \\| gpg -d" if profile.pipe_target else "",
        thresholds=[0.0, profile.pipe_target],
        link_mb_s=profile.rate_mb_s,
        spread=True,
    )
    return _link_check(row, profile)


def export_pgp(runner: Runner, args: argparse.Namespace, profile: LinkProfile) -> Row:
    bench = runner.bench
    remote = bench.folders["outbound"] / "wan.bin.pgp"
    local_pgp = runner.out / "wan.bin.pgp"

    def provider() -> Sample:
        bench.empty("outbound")
        seconds, growth = runner.provider("bench_export_wan")
        return seconds, None, growth

    def gpg_then_put() -> Sample:
        bench.empty("outbound")
        runner.clean_local()
        encrypt = run_measured(
            bench.gpg(
                "--compress-algo",
                "none",
                "--recipient-file",
                str(bench.partner_public),
                "--output",
                str(local_pgp),
                "--encrypt",
                str(runner.data / "wan.bin"),
            )
        )
        put = run_measured(bench.sftp(), stdin_text=f"put {local_pgp} {remote}.part\nrename {remote}.part {remote}\n")
        return encrypt.seconds + put.seconds, max(encrypt.peak_rss_mb, put.peak_rss_mb), None

    contenders = [Contender("provider"), Contender("gpg -e --compress-algo none then sftp put + rename")]
    alternate(args.rounds, list(zip(contenders, (provider, gpg_then_put), strict=True)))
    bench.empty("outbound")
    row = Row(
        f"export, 1 file PGP, {args.wan_size_mib} MiB random, compression off (encrypt + .part upload + rename)",
        "MB/s",
        args.wan_size_mib * 1024 * 1024 / MB,
        contenders[0],
        contenders[1:],
        0.0,
        "each",
        link_mb_s=profile.rate_mb_s,
        spread=True,
    )
    return _link_check(row, profile)


def small_files(runner: Runner, args: argparse.Namespace) -> Row:
    bench = runner.bench
    names = sorted(path.name for path in (bench.masters / "wan_small").iterdir())
    staged = [f"wan_small/{name}" for name in names]
    folder = bench.folders["small"]
    known_hosts = wan_peers.write_known_hosts(bench, bench.home / "known_hosts_link")
    wan_peers.define_hook_connection(bench)
    print(f"  SFTPHook cipher: {wan_peers.hook_negotiated_cipher()}", file=sys.stderr, flush=True)

    def provider() -> Sample:
        runner.clean_local("small_files")
        bench.stage("small", staged)
        seconds, growth = runner.provider("bench_small_files")
        return seconds, None, growth

    def command(make: Callable[[], list[str]], stdin_text: str | None = None) -> Callable[[], Sample]:
        def run() -> Sample:
            runner.clean_local()
            bench.stage("small", staged)
            return proc_sample(run_measured(make(), stdin_text=stdin_text))

        return run

    def in_process(work: Callable[[], object]) -> Callable[[], Sample]:
        def run() -> Sample:
            runner.clean_local()
            bench.stage("small", staged)
            started = time.monotonic()
            work()
            return time.monotonic() - started, None, None

        return run

    runs = [
        provider,
        command(bench.sftp, f"get {folder}/* {runner.out}/\n"),
        in_process(lambda: wan_peers.hook_loop(folder, runner.out)),
        command(lambda: wan_peers.rclone_command(bench, folder, runner.out, known_hosts)),
        in_process(lambda: wan_peers.hook_concurrent(folder, runner.out / "concurrent")),
    ]
    contenders = [
        Contender("provider"),
        Contender("sftp -b: get dir/*"),
        Contender("SFTPHook: retrieve_file per file, one connection"),
        Contender("rclone copy, 8 transfers"),
        Contender("SFTPHook: retrieve_directory_concurrently, 8 workers"),
    ]
    alternate(args.rounds, list(zip(contenders, runs, strict=True)))
    bench.empty("small")
    return Row(
        f"import, {len(names):,} x {args.small_kib} KiB plaintext files, delete after (the peers do not delete)",
        "files/s",
        len(names),
        contenders[0],
        contenders[1:],
        3.0,
        "each",
        "the peers do not delete; the target is on the best of rclone and retrieve_directory_concurrently",
        target_text=">= 3x rclone and >= 3x retrieve_directory_concurrently",
        thresholds=[0.0, 0.0, 3.0, 3.0],
        spread=True,
    )


def run_wan(runner: Runner, args: argparse.Namespace, profile: LinkProfile) -> tuple[list[Row], dict[str, Any]]:
    """Start the link, route every client through it, run the WAN workloads; return the rows and the link's
    byte counters (per connection and direction)."""
    bench = runner.bench
    link = start_link(bench.server.port, profile.delay_ms, profile.rate_mbit, bench.home / f"{profile.name}.json")
    bench.route_through(link.port)
    rows: list[Row] = []
    try:
        for location in ("big", "small", "outbound"):
            bench.empty(location)
        warm_up(runner)
        steps: list[tuple[str, Callable[[], Row]]] = [
            ("import_pgp", lambda: import_pgp(runner, args, profile)),
            ("export_pgp", lambda: export_pgp(runner, args, profile)),
            ("small_files", lambda: small_files(runner, args)),
        ]
        for name, step in steps:
            if name in args.only:
                print(f"{profile.name}: {name}...", file=sys.stderr, flush=True)
                rows.append(step())
    finally:
        bench.route_through(None)
        status = link.stop()
    totals = status.get("totals", {})
    status["summary"] = (
        f"{len(status.get('connections', []))} connections; "
        f"{totals.get('server_to_client', 0) / MB:,.0f} MB server -> client, "
        f"{totals.get('client_to_server', 0) / MB:,.0f} MB client -> server"
    )
    return rows, status
