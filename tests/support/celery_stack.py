"""A CeleryExecutor Airflow on the machine's PostgreSQL and Redis, for tests/integration/test_celery_postgres.py.

The stack is :func:`~tests.support.airflow_stack.sqlite_stack`'s with the executor, metadata DB, broker and
result backend switched: give it a database of :func:`tests.support.postgres.temporary_database`. Workers
started with :func:`start_worker` are separate ``airflow celery worker`` processes, each with its own Celery
hostname, pid file and log, on the stack's own queue (so two stacks sharing Redis never take each other's tasks).
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import time
from pathlib import Path

import httpx

from partner_sandbox.sshd import SshServer
from tests.support.airflow_stack import AirflowStack, sqlite_stack

REDIS = ("127.0.0.1", 6379)


def redis_reachable() -> bool:
    """Whether a Redis answers PING on 127.0.0.1:6379."""
    try:
        with socket.create_connection(REDIS, timeout=2) as probe:
            probe.sendall(b"PING\r\n")
            return probe.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def celery_stack(home: Path, dags_folder: Path, database_url: str, extra_env: dict[str, str]) -> AirflowStack:
    """Configure (and migrate) a CeleryExecutor Airflow on ``database_url`` with Redis as its broker.

    :param home: the stack's AIRFLOW_HOME (its processes' logs go there too).
    :param dags_folder: the DAGs folder.
    :param database_url: a PostgreSQL SQLAlchemy URL; also the Celery result backend.
    :param extra_env: more of the stack's environment (overrides the above).
    """
    queue = f"actito_{secrets.token_hex(4)}"  # this stack's own: a worker of another stack never takes its tasks
    return sqlite_stack(
        home,
        dags_folder,
        {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS[0]}:{REDIS[1]}/{secrets.randbelow(14) + 1}",
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + database_url,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
            **extra_env,
        },
    )


def start_worker(stack: AirflowStack, name: str, concurrency: int = 2) -> Path:
    """Start one more ``airflow celery worker`` (Celery hostname ``<name>@<host>``); return its log's path.

    It serves no task logs (``--skip-serve-logs``: several workers on one machine would want one port) and
    skips mingle and gossip (nothing to learn from the others at start). :meth:`AirflowStack.stop` stops it.

    :param stack: a stack of :func:`celery_stack`.
    :param name: the worker's name: Celery hostname, ``<name>.pid`` and ``<name>.log`` in the stack's home.
    :param concurrency: task slots of the worker.
    """
    log = stack.home / f"{name}.log"
    command = [stack.airflow, "celery", "worker", "--celery-hostname", f"{name}@%h", "--concurrency", str(concurrency)]
    command += ["--pid", str(stack.home / f"{name}.pid"), "--skip-serve-logs", "--without-mingle", "--without-gossip"]
    with log.open("wb") as output:
        stack.processes.append(
            subprocess.Popen(command, env=stack.env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        )
    return log


def wait_for_api(stack: AirflowStack, timeout: float = 180) -> None:
    """Wait until the stack's API server answers its health check.

    :param stack: a started stack.
    :param timeout: seconds to wait before :class:`TimeoutError` (with the stack's logs).
    """
    health = f"{stack.env['AIRFLOW__API__BASE_URL']}/api/v2/monitor/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(health, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError(f"the API server did not answer in {timeout} s\n{stack.logs()}")


def create_connection(stack: AirflowStack, sshd: SshServer, conn_id: str, folders: dict[str, Path]) -> None:
    """Create ``conn_id`` with ``actito-sftp connection create`` (stored in the stack's metadata DB, Fernet-
    encrypted, with a new SSH key and the server's host key pinned on first use) and authorize its key on ``sshd``.

    :param folders: the connection's locations by name (folders of ``sshd``).
    """
    locations = [f"--location={name}={sshd.remote_path(path)}" for name, path in folders.items()]
    created = json.loads(
        stack.actito_sftp(
            "connection",
            "create",
            conn_id,
            "--entity",
            "demo",
            "--host",
            sshd.host,
            "--port",
            str(sshd.port),
            "--username",
            sshd.user.name,
            *locations,
            "--trust-on-first-use",
            "--json",
        )
    )
    sshd.add_authorized_key(created["ssh_key"]["public_key"])
