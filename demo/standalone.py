"""`make airflow`: `airflow standalone` with the provider, the example DAGs and the demo connection.

Starts a throwaway partner server and configures `actito_demo` as `make demo` does, drops a partner file
in 'inbound', then runs Airflow until Ctrl-C and cleans everything up. Open http://localhost:8080
(every user is admin in this throwaway setup), unpause the example DAGs, and see Browse -> Actito SFTP.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

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
        }
        env.pop("_AIRFLOW_PROCESS_CONTEXT", None)
        say(f"10. airflow standalone on http://localhost:{port} (Ctrl-C stops it and cleans up)")
        print(
            "    Unpause actito_import_customers / actito_export_segment; the overview is under Browse -> Actito SFTP."
        )
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("airflow")), "standalone"], env=env, start_new_session=True
        )
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


if __name__ == "__main__":
    sys.exit(main())
