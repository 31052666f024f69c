"""The benchmark's world: a throwaway sshd, gpg homes, connections, data, and the OpenSSH/gpg baselines.

Used by ``benchmarks.transfers``. Every client is forced to aes128-gcm: the provider through the connection's
``ciphers`` field, ``ssh``/``sftp`` with ``-c aes128-gcm@openssh.com``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CIPHER = "aes128-gcm@openssh.com"
CHUNK = 8 << 20

# Remote locations (folders under the server's data root); the masters are hard-linked into them per round.
LOCATIONS = ("big", "small", "medium", "outbound", "rss_in", "rss_out", "warm")


@dataclass
class Proc:
    """What one command-line process cost: wall seconds and its peak RSS (MB, from wait4)."""

    seconds: float
    peak_rss_mb: float


def _timed_command(command: list[str], rss_file: Path) -> list[str]:
    """``command`` under GNU time, which reports its peak RSS: ``os.wait4`` on a child that Python spawned
    would report the Python process's own high-water mark (the child starts as a copy of it)."""
    return ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *command]


def _read_kib(rss_file: Path) -> float:
    lines = [line for line in rss_file.read_text().splitlines() if line.strip().isdigit()]
    rss_file.unlink()
    return int(lines[-1]) * 1024 / 1e6 if lines else 0.0


def run_measured(*commands: list[str], stdin_text: str | None = None) -> Proc:
    """Run ``commands`` as one pipeline (``a | b``): wall time and the SUM of their peak RSS (MB).

    The sum is what the pipeline holds at once; for a single command it is that command's peak.
    """
    rss_dir = Path(tempfile.mkdtemp(prefix="bench-rss-"))
    started = time.monotonic()
    processes: list[subprocess.Popen[bytes]] = []
    previous: Any = subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL
    for index, command in enumerate(commands):
        last = index == len(commands) - 1
        process = subprocess.Popen(
            _timed_command(command, rss_dir / str(index)),
            stdin=previous,
            stdout=subprocess.DEVNULL if last else subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        if index == 0 and stdin_text is not None:
            assert process.stdin is not None
            process.stdin.write(stdin_text.encode())
            process.stdin.close()
        elif index > 0 and processes[-1].stdout is not None:
            processes[-1].stdout.close()  # the next process owns the pipe now
        previous = process.stdout
        processes.append(process)
    failures = []
    for command, process in zip(commands, processes, strict=True):
        process.wait()
        if process.returncode != 0:
            assert process.stderr is not None
            failures.append(f"{command[0]} exited {process.returncode}: {process.stderr.read().decode()[-2000:]}")
    seconds = time.monotonic() - started
    if failures:
        raise RuntimeError("; ".join(failures))
    peak = sum(_read_kib(rss_dir / str(index)) for index in range(len(commands)))
    shutil.rmtree(rss_dir, ignore_errors=True)
    return Proc(seconds, peak)


def run_shell(script: str) -> Proc:
    """Run a bash script; peak RSS is the largest single process of its tree (GNU time / wait4 semantics)."""
    rss_file = Path(tempfile.mkstemp(prefix="bench-rss-")[1])
    started = time.monotonic()
    process = subprocess.run(
        _timed_command(["bash", "-euc", script], rss_file),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    seconds = time.monotonic() - started
    if process.returncode != 0:
        raise RuntimeError(f"shell baseline failed: {process.stderr.decode()[-2000:]}")
    return Proc(seconds, _read_kib(rss_file))


def write_random(path: Path, size: int) -> None:
    with path.open("wb") as handle:
        remaining = size
        while remaining > 0:
            block = os.urandom(min(CHUNK, remaining))
            handle.write(block)
            remaining -= len(block)


_FIRST = ("Emma", "Louis", "Lucas", "Léa", "Hugo", "Chloé", "Noah", "Manon", "Jules", "Camille", "Adam", "Inès")
_LAST = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Leroy", "Moreau", "Peeters", "Maes")
_DOMAINS = ("gmail.com", "hotmail.com", "outlook.be", "skynet.be", "yahoo.fr", "orange.fr", "telenet.be", "proton.me")
_CITIES = ("Bruxelles", "Liège", "Namur", "Gent", "Antwerpen", "Paris", "Lyon", "Lille", "Charleroi", "Mons")
_SEGMENTS = ("new", "active", "lapsed", "vip", "churn-risk", "prospect")


def write_customer_csv(path: Path, size: int, seed: int = 12) -> None:
    """A realistic customer export (``;``-separated, ~110 bytes a row) of about ``size`` bytes.

    A block of ~16 MiB of distinct random rows is written over and over with fresh ids: deflate's 32 KiB
    window never sees the repetition, so the data compresses like a real export (about 3-4x with zlib).
    """
    rng = random.Random(seed)
    rows = []
    for _ in range(150_000):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        email = f"{first.lower()}.{last.lower()}{rng.randint(1, 9999)}@{rng.choice(_DOMAINS)}"
        birth = f"{rng.randint(1940, 2007)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        day = f"20{rng.randint(10, 26)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        created = f"{day}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"
        rows.append(
            f"{email};{first};{last};{birth};{rng.choice(('M', 'F', 'X'))};{rng.choice(_CITIES)};"
            f"+324{rng.randint(70000000, 99999999)};{rng.choice(('true', 'false'))};{created};"
            f"{rng.choice(_SEGMENTS)};{rng.randint(0, 500000) / 100:.2f}\n"
        )
    header = "id;email;first_name;last_name;birth_date;gender;city;phone;opt_in;created_at;segment;lifetime_value\n"
    written = 0
    next_id = 1
    with path.open("w", encoding="utf-8") as handle:
        handle.write(header)
        written += len(header)
        while written < size:
            block = "".join(f"{next_id + index};{row}" for index, row in enumerate(rows))
            next_id += len(rows)
            encoded = block.encode()[: size - written]
            encoded = encoded[: encoded.rfind(b"\n") + 1] or encoded
            handle.write(encoded.decode())
            written += len(encoded)


@dataclass
class Bench:
    """Everything a run needs; ``close()`` removes it all."""

    home: Path
    server: Any
    partner: Any
    key_path: Path
    ours_gpg: Path  # our inbound secret key imported, for the gpg -d baselines
    partner_public: Path  # the partner's public key file, for the gpg -e baselines (--recipient-file)
    inbound_public: str  # our inbound public key (partners encrypt to it)
    folders: dict[str, Path] = field(default_factory=dict)
    masters: Path = Path()
    link_port: int | None = None  # a WAN link's port (benchmarks.wan_link) every client goes through, if any

    @property
    def port(self) -> int:
        """Where clients connect: the link in front of the sshd, or the sshd itself."""
        return self.link_port or self.server.port

    def route_through(self, link_port: int | None) -> None:
        """Send every client (OpenSSH and the provider's connections) through ``link_port`` (None: direct)."""
        self.link_port = link_port
        for conn_id in ("bench_pgp", "bench_plain"):
            name = f"AIRFLOW_CONN_{conn_id.upper()}"
            connection = json.loads(os.environ[name])
            connection["port"] = self.port
            os.environ[name] = json.dumps(connection)

    @property
    def target(self) -> str:
        return f"{self.server.user.name}@{self.server.host}"

    def ssh_options(self) -> list[str]:
        return [
            "-i",
            str(self.key_path),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "LogLevel=ERROR",
            "-c",
            CIPHER,
        ]

    def sftp(self) -> list[str]:
        return ["sftp", "-q", "-b", "-", *self.ssh_options(), "-P", str(self.port), self.target]

    def ssh(self, *remote: str) -> list[str]:
        return ["ssh", *self.ssh_options(), "-p", str(self.port), self.target, *remote]

    def gpg(self, *args: str) -> list[str]:
        return ["gpg", "--homedir", str(self.ours_gpg), "--batch", "--yes", "--quiet", *args]

    def master(self, name: str) -> Path:
        return self.masters / name

    def stage(self, location: str, names: list[str]) -> None:
        """Put the masters ``names`` into a location (hard links: instant, and a delete keeps the master)."""
        folder = self.folders[location]
        for name in names:
            target = folder / Path(name).name
            if not target.exists():
                os.link(self.master(name), target)

    def empty(self, location: str) -> None:
        for entry in self.folders[location].iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def encrypt_for_us(self, source: Path, destination: Path) -> None:
        """The partner encrypts to our inbound key, without compression (as for random data)."""
        self.partner.encrypt_to(self.inbound_public, source, destination, compress=False)

    def connection(self, conn_id: str, *, pgp: bool, secret_keys: str, partner_key: str) -> None:
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(
            {
                "conn_type": "actito_sftp",
                "host": self.server.host,
                "port": self.port,
                "login": self.server.user.name,
                "extra": {
                    "entity": "bench",
                    "ssh_private_key": self.key_path.read_text(),
                    "host_key": self.server.host_key_line,
                    "locations": {name: str(path) for name, path in self.folders.items()},
                    "ciphers": CIPHER,
                    "inbound_pgp_required": pgp,
                    "inbound_pgp_private_keys": secret_keys,
                    "outbound_pgp": pgp,
                    "partner_pgp_public_key": partner_key,
                },
            }
        )

    def close(self) -> None:
        from partner_sandbox.sshd import remove_server

        subprocess.run(["gpgconf", "--homedir", str(self.ours_gpg), "--kill", "all"], check=False, capture_output=True)
        self.partner.close()
        remove_server(self.server)
        shutil.rmtree(self.home, ignore_errors=True)


def start_bench() -> Bench:
    """Airflow home + metadata DB, sshd, key pairs and gpg homes, connections ``bench_pgp`` and ``bench_plain``."""
    home = Path(tempfile.mkdtemp(prefix="actito-bench-"))
    os.environ.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__CORE__FERNET_KEY="x6o_n1ZcHMTcdYmRrGyF9i7SgEHy1s9zCMTWDMF8a1Q=",
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
        ACTITO_BENCH_TIMINGS=str(home / "timings.jsonl"),
    )
    from airflow_provider_actito_sftp.pgp.keys import export_newest_public_key, generate_inbound_key
    from partner_sandbox.gpg import PartnerGpg
    from partner_sandbox.sshd import chown_tree, ensure_test_user, generate_ssh_key, start_sshd

    server = start_sshd(ensure_test_user())
    partner = PartnerGpg()
    key_path = home / "id_ed25519"
    server.add_authorized_key(generate_ssh_key(key_path))
    secret_keys, _ = generate_inbound_key("bench")
    inbound_public = export_newest_public_key(secret_keys)[0]
    partner_fpr = partner.generate()
    partner_key = partner.export_public(partner_fpr)
    ours = home / "ours-gnupg"
    ours.mkdir(mode=0o700)
    subprocess.run(
        ["gpg", "--homedir", str(ours), "--batch", "--import"],
        input=secret_keys.encode(),
        check=True,
        capture_output=True,
    )
    partner_public = home / "partner.asc"
    partner_public.write_text(partner_key)
    bench = Bench(home, server, partner, key_path, ours, partner_public, inbound_public)
    bench.folders = {name: server.make_folder(name) for name in LOCATIONS}
    bench.masters = server.make_folder("masters")
    chown_tree(server.data_root, server.user)
    bench.connection("bench_pgp", pgp=True, secret_keys=secret_keys, partner_key=partner_key)
    bench.connection("bench_plain", pgp=False, secret_keys=secret_keys, partner_key=partner_key)
    return bench


def migrate_db() -> None:
    import sys

    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True)
