"""Machine facts and the one table ``benchmarks.transfers`` prints (and writes as JSON)."""

from __future__ import annotations

import asyncio
import os
import platform
import re
import statistics
import subprocess
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Contender:
    """One way of doing a workload: the provider or a baseline; one sample per round."""

    name: str
    seconds: list[float] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)  # baselines: OpenSSH + gpg processes
    rss_growth_mb: list[float] = field(default_factory=list)  # provider: task VmHWM minus VmRSS before execute()

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)


@dataclass
class Check:
    """A target on the provider's own figure (a fraction of the link rate, CPU per file), shown in its row."""

    text: str  # what was measured, e.g. "0.62x link"
    target: str  # e.g. ">= 0.9x link"
    met: bool


@dataclass
class Row:
    """One workload: the provider, its baselines, and the target on the ratio to them."""

    workload: str
    unit: str  # "MB/s" or "files/s"
    amount: float  # MB (10**6 bytes of plaintext) or files moved per run
    provider: Contender
    baselines: list[Contender]
    target: float  # the ratio to reach
    target_against: str  # "each" (every baseline must be met) or "best" (the fastest baseline)
    note: str = ""
    target_text: str = ""  # overrides the rendered target (e.g. two thresholds)
    thresholds: list[float] = field(default_factory=list)  # per-baseline target when they differ
    checks: list[Check] = field(default_factory=list)  # targets on the provider alone
    link_mb_s: float | None = None  # a WAN link's rate: MB/s figures also shown as a fraction of it
    spread: bool = False  # show each rate's min-max over the rounds beside its median

    def rate(self, contender: Contender) -> float:
        return self.amount / contender.median_s

    def has_ratio_target(self) -> bool:
        return self.target > 0 or any(threshold > 0 for threshold in self.thresholds)

    def ratios(self) -> list[float]:
        return [self.rate(self.provider) / self.rate(baseline) for baseline in self.baselines]

    def met(self) -> bool:
        ratios = self.ratios()
        if self.target_against == "best":
            return self.rate(self.provider) / max(self.rate(b) for b in self.baselines) >= self.target
        thresholds = self.thresholds or [self.target] * len(ratios)
        return all(ratio >= threshold for ratio, threshold in zip(ratios, thresholds, strict=True))

    def as_dict(self) -> dict[str, Any]:
        def contender(item: Contender) -> dict[str, Any]:
            return {
                "name": item.name,
                "rate": round(self.rate(item), 1),
                "median_seconds": round(item.median_s, 3),
                "seconds": [round(value, 3) for value in item.seconds],
                "peak_rss_mb": round(max(item.peak_rss_mb), 1) if item.peak_rss_mb else None,
                "rss_growth_mb": round(max(item.rss_growth_mb), 1) if item.rss_growth_mb else None,
                "rate_min": round(self.amount / max(item.seconds), 1),
                "rate_max": round(self.amount / min(item.seconds), 1),
            }

        return {
            "workload": self.workload,
            "unit": self.unit,
            "amount": self.amount,
            "provider": contender(self.provider),
            "baselines": [contender(item) for item in self.baselines],
            "ratios": [round(ratio, 2) for ratio in self.ratios()],
            "target": self.target_text or f">= {self.target}x {self.target_against}",
            "met": self.met(),
            "note": self.note,
            "checks": [vars(check) for check in self.checks],
            "link_mb_s": self.link_mb_s,
        }


def _first_line(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    return (result.stdout or result.stderr).strip().splitlines()[0]


def openssh_negotiated_cipher(ssh_command: list[str]) -> str:
    """The cipher an ``ssh -v`` client reports for server->client (the download direction)."""
    verbose = ["LogLevel=DEBUG1" if part.startswith("LogLevel=") else part for part in ssh_command]
    result = subprocess.run([*verbose, "true"], capture_output=True, text=True, check=False)
    found = re.search(r"kex: server->client cipher: (\S+)", result.stderr)
    return found.group(1) if found else "unknown"


def provider_negotiated_cipher(conn_id: str) -> str:
    from airflow_provider_actito_sftp.hooks.actito_sftp import ActitoSftpHook

    async def probe() -> str:
        async with ActitoSftpHook(conn_id).open_async_session() as session:
            return f"{session.ssh.get_extra_info('recv_cipher')} / {session.ssh.get_extra_info('send_cipher')}"

    try:
        return asyncio.run(probe())
    except Exception as e:  # the facts must not stop the run
        return f"unknown ({e})"


def _provider_code() -> str:
    """The commit measured, and whether the provider's code had uncommitted changes (read-only git)."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "airflow_provider_actito_sftp"],
        capture_output=True,
        text=True,
        check=False,
    )
    changed = len(dirty.stdout.splitlines())
    return f"{head.stdout.strip() or 'unknown'}" + (
        f" + {changed} uncommitted file(s) in the provider" if changed else ""
    )


def machine_facts(ssh_command: list[str], conn_id: str) -> dict[str, Any]:
    import airflow
    import asyncssh

    from airflow_provider_actito_sftp.connection.schema import BY_NAME

    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "openssh": _first_line(["ssh", "-V"]),
        "gpg": _first_line(["gpg", "--version"]),
        "asyncssh": asyncssh.__version__,
        "airflow": airflow.__version__,
        "cipher_openssh": openssh_negotiated_cipher(ssh_command),
        "cipher_provider": provider_negotiated_cipher(conn_id),
        "transfer_concurrency": BY_NAME["transfer_concurrency"].default,
        "provider_code": _provider_code(),
        "load_average_at_start": os.getloadavg(),
    }


def _number(value: float, fine: bool = False) -> str:
    """``fine``: one decimal from 10 to 100 (rates whose spread is shown)."""
    if fine and 10 <= value < 100:
        return f"{value:.1f}"
    return f"{value:,.0f}" if value >= 10 else f"{value:.2f}"


def _rate(row: Row, contender: Contender) -> str:
    value = row.rate(contender)
    text = f"{_number(value, row.spread)} {row.unit}"
    extras = []
    if row.spread:
        low, high = row.amount / max(contender.seconds), row.amount / min(contender.seconds)
        extras.append(f"{_number(low, True)}-{_number(high, True)}")
    if row.link_mb_s and row.unit == "MB/s":
        extras.append(f"{value / row.link_mb_s:.2f}x link")
    return text + (f" ({', '.join(extras)})" if extras else "")


def _targets(row: Row) -> tuple[str, str]:
    """The target cell and the met? cell: the ratio's target (if any), then each check's."""
    targets, mets = [], []
    if row.has_ratio_target():
        targets.append(
            row.target_text
            or f">= {row.target}x" + (" the best" if row.target_against == "best" and len(row.baselines) > 1 else "")
        )
        mets.append("yes" if row.met() else "NO")
    for check in row.checks:
        targets.append(check.target)
        mets.append("yes" if check.met else "NO")
    return "; ".join(targets) or "-", " / ".join(mets) or "-"


def _rss(contender: Contender) -> str:
    parts = []
    if contender.rss_growth_mb:
        parts.append(f"+{max(contender.rss_growth_mb):.0f} MB")
    if contender.peak_rss_mb:
        parts.append(f"{max(contender.peak_rss_mb):.0f} MB peak")
    return ", ".join(parts) or "-"


def table(rows: list[Row], extra_rows: list[list[str]]) -> str:
    """The markdown table: one line per workload; ``extra_rows`` are ready-made lines (the RSS workload)."""
    lines = [
        "| workload | provider | baselines | ratio | target | met? | provider task RSS growth | baseline peak RSS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        baselines = "; ".join(f"{b.name}: {_rate(row, b)}".replace("|", "\\|") for b in row.baselines)
        ratios = " / ".join(f"{ratio:.2f}x" for ratio in row.ratios())
        target, met = _targets(row)
        rss = "; ".join(_rss(b) for b in row.baselines)
        provider = "; ".join([_rate(row, row.provider), *(check.text for check in row.checks if check.text)])
        cells = [row.workload, provider, baselines, ratios, target, met, _rss(row.provider), rss]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["| " + " | ".join(cells) + " |" for cells in extra_rows]
    return "\n".join(lines)


def facts_text(facts: dict[str, Any]) -> str:
    return "\n".join(f"- {key}: {value}" for key, value in facts.items())
