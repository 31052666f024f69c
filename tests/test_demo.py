"""`make demo` is the main job: it must pass end to end, with OpenSSH and on a machine without sshd."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]


@pytest.mark.parametrize("server", ["openssh", "inprocess"])
def test_demo_passes_and_cleans_up(server: str):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "_AIRFLOW", "ACTITO"))}
    if server == "inprocess":
        env["ACTITO_DEMO_SERVER"] = "inprocess"  # as on a machine without sshd
    before = set(Path("/tmp").glob("actito-demo-*"))
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
    assert set(Path("/tmp").glob("actito-demo-*")) == before  # cleaned up
    assert elapsed < 120
    print(f"demo ({server}) passed in {elapsed:.0f} s")


def test_make_airflow_says_where_once_ready_and_the_test_button_works():
    """`make airflow` (demo.standalone): consecutive steps, the address printed once and only when Airflow
    answers, and the connection form's Test button enabled and passing for the demo connection."""
    import signal
    import threading

    import httpx

    from partner_sandbox.sshd import free_port

    port = free_port()
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
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            if any(line.startswith("== ") and "Airflow is ready" in line for line in list(lines)):
                break
            time.sleep(1)
        lines = list(lines)
        ready = [line for line in lines if line.startswith("== ") and "Airflow is ready" in line]
        assert ready, "".join(lines[-50:])
        address = f"http://localhost:{port}"
        assert address in ready[0]
        assert httpx.get(f"{address}/api/v2/monitor/health", timeout=10).status_code == 200  # it does answer
        steps = [line.removeprefix("== ").split(".")[0] for line in lines if line.startswith("== ")]
        own = [int(step) for step in steps if step.isdigit()]
        assert own == list(range(1, len(own) + 1)), own
        assert sum(address in line for line in lines) == 1  # printed once
        tested = httpx.post(
            f"{address}/api/v2/connections/test",
            json={"connection_id": "actito_demo", "conn_type": "actito_sftp"},
            timeout=120,
        )
        assert tested.status_code == 200, tested.text
        assert tested.json()["status"] is True, tested.json()
        assert tested.json()["message"].endswith("locations OK."), tested.json()
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
