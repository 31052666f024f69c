"""`make airflow`: `airflow standalone` with the provider, the example DAGs and the demo connection.

Starts a throwaway partner server and configures `actito_demo` as `make demo` does, drops a partner file
in 'inbound', then runs Airflow until stopped and cleans everything up. Once Airflow answers, it prints the
address once: http://localhost:8080 (every user is admin in this throwaway setup); unpause the example DAGs
and see Browse -> Actito SFTP. The connection form's Test button is enabled.

``ACTITO_DEMO_PORT`` (default 8080) moves Airflow's API server to another port, with every URL derived from
it: the UI's base URL and the execution API the task workers call.

Stopping: Ctrl-C (SIGINT), SIGTERM and SIGHUP (a closed terminal) all take the same path: Airflow's whole
process group gets SIGTERM, then SIGKILL if anything is left after 30 s, then the partner server, its gpg
and the /tmp/actito-demo-* folder go. A signal received while the partner server is being set up takes
effect once it is up; one received during the clean-up is ignored (the clean-up is bounded). Only SIGKILL
(kill -9) leaves Airflow and the partner server behind. Under `make airflow`, GNU make passes SIGTERM on to
this process but not SIGHUP or SIGINT (a terminal sends those to make and this process alike).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import httpx

from demo.partner_setup import build_world, configure_connection, partner_drops_customers, say, tear_down

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopSignals:
    """Turns the first SIGINT, SIGTERM or SIGHUP into a KeyboardInterrupt (Ctrl-C's path), when allowed.

    Before ``allow()`` (while the partner world is built) and after ``defer()`` (while Airflow is started, and
    during the clean-up) the signal is only recorded, and ``allow()`` raises it; once one was received, further
    ones are ignored.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._interruptible = False

    def install(self) -> None:
        """Handle the stop signals, except one this process was started ignoring (`nohup` ignores SIGHUP)."""
        for signum in STOP_SIGNALS:
            if signal.getsignal(signum) != signal.SIG_IGN:
                signal.signal(signum, self._handle)

    def allow(self) -> None:
        """From here on a stop signal interrupts; one received meanwhile interrupts now."""
        self._interruptible = True
        if self.received is not None:
            self._interruptible = False
            raise KeyboardInterrupt

    def defer(self) -> None:
        """A stop signal no longer interrupts (until ``allow()``)."""
        self._interruptible = False

    def exit_code(self) -> int:
        """0 after Ctrl-C, as before; 128 + the signal number after SIGTERM or SIGHUP, as the shell reports."""
        return 0 if self.received in (None, signal.SIGINT) else 128 + int(self.received)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            return
        self.received = signum
        if self._interruptible:
            self._interruptible = False
            raise KeyboardInterrupt


def main() -> int:
    signals = StopSignals()
    signals.install()
    world = build_world()
    process: subprocess.Popen[bytes] | None = None
    try:
        signals.allow()
        configure_connection(world)
        partner_drops_customers(world)
        port = os.environ.get("ACTITO_DEMO_PORT", "8080")
        say("6. airflow standalone (scheduler, API server, DAG processor, triggerer); Ctrl-C stops it and cleans up")
        signals.defer()  # not between the fork and `process =`: the clean-up would not know Airflow
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("airflow")), "standalone"],
            env=airflow_env(port),
            start_new_session=True,  # its own process group, stopped as a whole
        )
        signals.allow()
        if _wait_until_ready(process, f"http://localhost:{port}/api/v2/monitor/health"):
            say(f"7. Airflow is ready: http://localhost:{port}")
            print("    Unpause actito_import_customers / actito_export_segment; the overview: Browse -> Actito SFTP;")
            print("    Admin -> Connections -> actito_demo -> Test checks the partner's server.")
        return process.wait()
    except KeyboardInterrupt:
        return signals.exit_code()
    finally:
        signals.defer()
        stop_process_group(process)
        tear_down(world)


def airflow_env(port: str) -> dict[str, str]:
    """The environment of `airflow standalone`: this one, with the API server and every URL derived from its
    port on ``port`` (the UI's base URL, the execution API the task workers call)."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "AIRFLOW__API__PORT": port,
        "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",  # the Test button of the connection form
    }
    env.pop("_AIRFLOW_PROCESS_CONTEXT", None)
    return env


def stop_process_group(process: subprocess.Popen[bytes] | None, grace: float = 30.0) -> None:
    """Stop the process group ``process`` leads (started with ``start_new_session``): SIGTERM to all of it,
    SIGKILL to whatever is left after ``grace`` seconds. Returns once the group is empty, or after another
    10 s; does nothing for a group already gone.

    :param process: the group's leader, or None (nothing was started).
    :param grace: seconds the group has to stop after SIGTERM.
    """
    if process is None:
        return
    for signum, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return
        if _wait_group_gone(process, wait):
            return


def _wait_group_gone(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait until no process of ``process``'s group remains (reaping the leader); False after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        process.poll()  # reap the leader, else it stays in the group as a zombie
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


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
