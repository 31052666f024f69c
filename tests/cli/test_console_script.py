"""The installed ``actito-sftp`` console script as a user runs it, in a real process: ``--help``, ``connection
create`` and ``connection test`` against the test sshd, with no warning on stderr (ours or a library's: cryptography 51
deprecates DSA, and asyncssh's import would print five lines of it), only what concerns the user.

``make test-newest`` runs this module in an environment installed without our lock (the newest allowed version of
every dependency, the package installed as a wheel), so it is the smoke test of what ``pip install`` gives users.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from partner_sandbox.sshd import SshServer
from tests.cli.support import fingerprint_of

SCRIPT = Path(sys.executable).with_name("actito-sftp")
CALL_TIMEOUT = 120  # seconds one command may take (Airflow's start included)


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The console script in a new process, from a folder outside the checkout (the installed package is used)."""
    env = {key: value for key, value in os.environ.items() if key not in ("_AIRFLOW_PROCESS_CONTEXT", "PYTHONPATH")}
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=CALL_TIMEOUT, check=False
    )


@pytest.mark.timeout(300)
def test_the_console_script_creates_and_tests_a_connection_without_a_warning(
    airflow_db: Path, sshd: SshServer, tmp_path: Path
) -> None:
    helped = _run("--help", cwd=tmp_path)
    assert (helped.returncode, helped.stderr) == (0, ""), helped.stderr
    assert "connection" in helped.stdout

    created = _run(
        *("connection", "create", "console_smoke", "--entity", "acme", "--host", sshd.host, "--port", str(sshd.port)),
        *("--username", sshd.user.name, "--accept-host-key", fingerprint_of(sshd.host_key_line), "--json"),
        cwd=tmp_path,
    )
    try:
        assert created.returncode == 0, created.stderr
        # stderr: the one line a user needs (the key the server presented, pinned by --accept-host-key), no warning
        [presented] = created.stderr.splitlines()
        assert "presents host key" in presented, created.stderr
        public_key = json.loads(created.stdout)["ssh_key"]["public_key"]
        sshd.add_authorized_key(public_key)

        tested = _run("connection", "test", "console_smoke", cwd=tmp_path)
        assert (tested.returncode, tested.stderr) == (0, ""), tested.stderr
        assert "SHA256:" in tested.stdout  # the pinned host key's fingerprint, confirmed on the server
    finally:
        deleted = _run("connection", "delete", "console_smoke", "--yes", cwd=tmp_path)
        assert deleted.returncode == 0, deleted.stderr
