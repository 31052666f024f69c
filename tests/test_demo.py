"""`make demo` is the main job: it must pass end to end, with OpenSSH and on a machine without sshd."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from partner_sandbox.sshd import free_port

REPO = Path(__file__).parents[1]
pytestmark = pytest.mark.airflow  # `make demo` and `make airflow` start Airflow themselves (tests/support/tiers.py)
FAILED = (": failed", ": up_for_retry", ": upstream_failed")


@pytest.mark.parametrize("server", ["openssh", "inprocess"])
def test_demo_passes_and_cleans_up(server: str):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "_AIRFLOW", "ACTITO"))}
    if server == "inprocess":
        env["ACTITO_DEMO_SERVER"] = "inprocess"  # as on a machine without sshd
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "demo.main"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Demo passed" in result.stdout
    assert result.stdout.count("   ok: ") >= 18
    assert "FAILED" not in result.stdout
    # the demo's own steps only: no Airflow or library warnings (RFC 3986 scheme, Starlette's test client)
    printed = result.stdout + result.stderr
    assert "[warning" not in printed, printed[-3000:]
    assert "Deprecat" not in printed, printed[-3000:]
    workdirs = set(re.findall(r"(/\S*/actito-demo-[^/\s]+)", result.stdout))  # where it said it works
    assert workdirs
    assert [workdir for workdir in workdirs if Path(workdir).exists()] == []  # cleaned up
    print(f"demo ({server}) passed in {elapsed:.0f} s")


@pytest.mark.timeout(480)  # start (~1 min), the Test button, a DAG run (up to 4 min), the bounded clean-up
def test_make_airflow_says_where_once_ready_runs_tasks_and_cleans_up_on_sigterm():
    """`make airflow` (demo.standalone) on ``ACTITO_DEMO_PORT``: consecutive steps, the address printed once and
    only when Airflow answers, the connection form's Test button enabled and passing for the demo connection, a
    task reaching the execution API on the moved port (so it runs to success); then SIGTERM (`kill`) sent to the
    python process only stops Airflow's whole process group and removes the partner's sshd and the demo's
    folders, as Ctrl-C does. (One Airflow for all of it: each start costs a minute of CPU.)"""
    port = free_port()
    process, lines = _start_standalone(port)
    started: _Started | None = None
    begun = time.monotonic()
    try:
        ready = _wait_until_ready(process, lines)
        print(f"ready after {time.monotonic() - begun:.0f} s")
        address = f"http://localhost:{port}"
        assert address in ready
        assert httpx.get(f"{address}/api/v2/monitor/health", timeout=10).status_code == 200  # it does answer
        shown = list(lines)
        steps = [line.removeprefix("== ").split(".")[0] for line in shown if line.startswith("== ")]
        own = [int(step) for step in steps if step.isdigit()]
        assert own == list(range(1, len(own) + 1)), own
        assert sum(address in line for line in shown) == 1  # printed once
        tested = httpx.post(
            f"{address}/api/v2/connections/test",
            json={"connection_id": "actito_demo", "conn_type": "actito_sftp"},
            timeout=120,
        )
        assert tested.status_code == 200, tested.text
        assert tested.json()["status"] is True, tested.json()
        assert tested.json()["message"].endswith("locations OK."), tested.json()

        states = _run_import_dag(address)
        assert "import_files: success" in states, states
        print(f"import_files succeeded after {time.monotonic() - begun:.0f} s")
        started = _what_it_started(process.pid, lines)  # with the task runners Airflow started since
        _stop_and_check_clean_up(process, lines, started, signal.SIGTERM)
    finally:
        _kill_everything(process, started)


def test_make_airflow_cleans_up_on_sighup():
    """SIGHUP (a closed terminal) sent to the python process only: the same clean-up as SIGTERM and Ctrl-C."""
    port = free_port()
    process, lines = _start_standalone(port)
    started: _Started | None = None
    try:
        _wait_until_ready(process, lines)
        started = _what_it_started(process.pid, lines)
        _stop_and_check_clean_up(process, lines, started, signal.SIGHUP)
    finally:
        _kill_everything(process, started)


def _stop_and_check_clean_up(
    process: subprocess.Popen[str], lines: list[str], started: _Started, stop_signal: signal.Signals
) -> None:
    """Send ``stop_signal`` to the python process only (`kill <pid>`, or a closed terminal); it must exit within
    its bounded clean-up and leave none of what it started."""
    os.kill(process.pid, stop_signal)
    stopping = time.monotonic()
    try:
        process.wait(timeout=120)  # its clean-up is bounded: 30 s SIGTERM grace, 10 s after SIGKILL
    except subprocess.TimeoutExpired:
        pytest.fail("demo.standalone did not exit:\n" + "".join(list(lines)[-30:]))
    left = _leftovers(started)
    deadline = time.monotonic() + 15  # orphans are reaped by init, not by us
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = _leftovers(started)
    assert not left, left
    print(f"stopped by {stop_signal.name} and cleaned up in {time.monotonic() - stopping:.0f} s")


def test_a_stop_signal_waits_for_the_partner_world_and_a_second_one_does_not_cut_the_clean_up_short():
    """demo.standalone's signal handling: a signal while the world is built interrupts once it is up; after
    that, another one (while cleaning up) is ignored; SIGINT exits 0 as before."""
    from demo.standalone import STOP_SIGNALS, StopSignals

    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    signals = StopSignals()
    try:
        signals.install()
        signal.raise_signal(signal.SIGHUP)  # the world is being built: recorded only
        with pytest.raises(KeyboardInterrupt):
            signals.allow()
        signals.defer()  # the clean-up
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGINT)
        assert signals.exit_code() == 128 + signal.SIGHUP
        interrupted = StopSignals()
        interrupted.install()
        interrupted.allow()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)  # its handler has run when this returns
        assert interrupted.exit_code() == 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@dataclass
class _Started:
    """What demo.standalone started: Airflow's process group, the partner's sshd, their folders."""

    airflow_group: int
    airflow_processes: set[tuple[int, str]]  # (pid, start time) of each process of the group
    sshd: tuple[int, str]
    folders: tuple[Path, ...]  # /tmp/actito-demo-* and the sshd's /tmp/actito-sshd-*


def _start_standalone(port: int) -> tuple[subprocess.Popen[str], list[str]]:
    """Start `python -m demo.standalone` on ``port`` in its own session; its output lines are collected."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "_AIRFLOW", "ACTITO"))}
    env["ACTITO_DEMO_PORT"] = str(port)
    process = subprocess.Popen(
        [sys.executable, "-m", "demo.standalone"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    # Keep reading all along: Airflow writes to the same pipe and would block on a full one.
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    return process, lines


def _wait_until_ready(process: subprocess.Popen[str], lines: list[str], timeout: float = 300) -> str:
    """The "Airflow is ready" step line, once printed (fails if it is not within ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        ready = [line for line in list(lines) if line.startswith("== ") and "Airflow is ready" in line]
        if ready:
            return ready[0]
        time.sleep(1)
    pytest.fail("Airflow never got ready:\n" + "".join(list(lines)[-50:]))


def _run_import_dag(address: str, timeout: float = 240) -> list[str]:
    """Unpause and trigger actito_import_customers through the REST API; the "task: state" of its task
    instances once import_files succeeded or a task failed (a worker that cannot reach the execution API fails
    its task), or after ``timeout`` seconds."""
    dag = f"{address}/api/v2/dags/actito_import_customers"
    deadline = time.monotonic() + timeout
    while (unpaused := httpx.patch(dag, json={"is_paused": False}, timeout=30)).status_code == 404:
        assert time.monotonic() < deadline, "the import DAG was never parsed"
        time.sleep(2)
    assert unpaused.status_code == 200, unpaused.text
    triggered = httpx.post(f"{dag}/dagRuns", json={"logical_date": None}, timeout=30)
    assert triggered.status_code == 200, triggered.text
    states: list[str] = []
    while time.monotonic() < deadline:
        listed = httpx.get(f"{dag}/dagRuns/~/taskInstances", timeout=30).json()["task_instances"]
        states = [f"{ti['task_id']}: {ti['state']}" for ti in listed]  # the scheduled run's and the triggered one's
        if "import_files: success" in states or any(state.endswith(FAILED) for state in states):
            break
        time.sleep(2)
    return states


def _processes() -> dict[int, tuple[int, int, str, str]]:
    """Every live process (zombies left out): pid -> (parent pid, process group, start time, command line)."""
    found: dict[int, tuple[int, int, str, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces
        if fields[0] != "Z":
            found[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[19], command)
    return found


def _what_it_started(pid: int, lines: list[str]) -> _Started:
    """Airflow's process group, the partner's sshd and the folders of the demo.standalone process ``pid``."""
    processes = _processes()
    children = {child: info for child, info in processes.items() if info[0] == pid}
    airflow = [child for child, info in children.items() if info[3].endswith("airflow standalone")]
    sshd = [child for child, info in children.items() if "sshd" in info[3] and " -f " in info[3]]
    assert len(airflow) == 1, children
    assert len(sshd) == 1, children
    group = airflow[0]
    members = {member for member, info in processes.items() if info[1] == group}
    assert len(members) > 4, members  # standalone, scheduler, API server, DAG processor, triggerer...
    descendants = [group]
    for parent in descendants:  # grows while walking: also any that left the group
        descendants += [child for child, info in processes.items() if info[0] == parent]
    members |= set(descendants)
    sshd_folder = Path(processes[sshd[0]][3].split(" -f ")[1].split()[0]).parent
    created = [line for line in lines if "metadata DB created in " in line]
    demo_folder = Path(created[0].split("metadata DB created in ")[1].strip()).parent
    assert demo_folder.name.startswith("actito-demo-"), demo_folder
    assert sshd_folder.name.startswith("actito-sshd-"), sshd_folder
    assert demo_folder.is_dir()
    assert sshd_folder.is_dir()
    return _Started(
        group,
        {(member, processes[member][2]) for member in members},
        (sshd[0], processes[sshd[0]][2]),
        (demo_folder, sshd_folder),
    )


def _leftovers(started: _Started) -> list[str]:
    """What of ``started`` still exists."""
    processes = _processes()
    alive = {pid for pid, info in processes.items() if info[1] == started.airflow_group}
    alive |= {pid for pid, since in started.airflow_processes if processes.get(pid, ())[2:3] == (since,)}
    left = [f"{pid} {processes[pid][3]}" for pid in sorted(alive)]
    if processes.get(started.sshd[0], ())[2:3] == (started.sshd[1],):
        left.append(f"sshd {started.sshd[0]}")
    return left + [str(folder) for folder in started.folders if folder.exists()]


def _kill_everything(process: subprocess.Popen[str], started: _Started | None) -> None:
    """Whatever a failed clean-up left: the demo process, Airflow's group, the sshd, the folders."""
    for group in (process.pid, started.airflow_group if started else None):
        if group is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
    process.wait(timeout=30)
    if started is not None:
        if _processes().get(started.sshd[0], ())[2:3] == (started.sshd[1],):
            os.kill(started.sshd[0], signal.SIGKILL)
        for folder in started.folders:
            shutil.rmtree(folder, ignore_errors=True)
