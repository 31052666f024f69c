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
    assert set(Path("/tmp").glob("actito-demo-*")) == before  # cleaned up
    assert elapsed < 120
    print(f"demo ({server}) passed in {elapsed:.0f} s")
