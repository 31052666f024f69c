"""`make airflow`: `airflow standalone` with the provider, the example DAGs and the demo connection.

Starts a throwaway partner server and configures `actito_demo` as `make demo` does, drops a partner file
in 'inbound', then runs Airflow until Ctrl-C and cleans everything up. Once Airflow answers, it prints the
address once: http://localhost:8080 (every user is admin in this throwaway setup); unpause the example DAGs
and see Browse -> Actito SFTP. The connection form's Test button is enabled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from demo.partner_setup import build_world, configure_connection, partner_drops_customers, say, tear_down


def main() -> int:
    world = build_world()
    process: subprocess.Popen[bytes] | None = None
    try:
        configure_connection(world)
        partner_drops_customers(world)
        port = os.environ.get("ACTITO_DEMO_PORT", "8080")
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "AIRFLOW__API__PORT": port,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",  # the Test button of the connection form
        }
        env.pop("_AIRFLOW_PROCESS_CONTEXT", None)
        say("6. airflow standalone (scheduler, API server, DAG processor, triggerer); Ctrl-C stops it and cleans up")
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("airflow")), "standalone"], env=env, start_new_session=True
        )
        if _wait_until_ready(process, f"http://localhost:{port}/api/v2/monitor/health"):
            say(f"7. Airflow is ready: http://localhost:{port}")
            print("    Unpause actito_import_customers / actito_export_segment; the overview: Browse -> Actito SFTP;")
            print("    Admin -> Connections -> actito_demo -> Test checks the partner's server.")
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        tear_down(world)


def _wait_until_ready(process: subprocess.Popen[bytes], health_url: str, timeout: float = 300.0) -> bool:
    """Poll Airflow's health endpoint until it answers 200; False if Airflow exits or takes too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(health_url, timeout=5).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(2)
    return False


if __name__ == "__main__":
    sys.exit(main())
