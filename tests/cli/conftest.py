"""The ``actito-sftp`` CLI against the real test sshd, real gpg and the test metadata DB.

Every invocation goes through :func:`run_cli`, which appends to a transcript and checks that nothing the
CLI printed or logged contains a private key, a passphrase or a password seen so far.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from airflow_provider_actito_sftp.cli import cli
from airflow_provider_actito_sftp.connection.schema import SECRET_EXTRA_KEYS
from airflow_provider_actito_sftp.connection.store import ConnectionStore
from partner_sandbox.sshd import SshServer
from tests.cli.support import SEEN_SECRETS, TRANSCRIPT, CreateConnection, RunCli, fingerprint_of, secret_fragments


def _collect_db_secrets() -> None:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        for conn in session.query(Connection).filter(Connection.conn_type == "actito_sftp"):
            if conn.password:
                SEEN_SECRETS.update(secret_fragments(conn.password))
            for field in SECRET_EXTRA_KEYS:
                value = conn.extra_dejson.get(field)
                if value:
                    SEEN_SECRETS.update(secret_fragments(value))


@pytest.fixture
def run_cli(airflow_db: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator[RunCli]:
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")
    runner = CliRunner()

    def run(*args: str, input_text: str | None = None, expect: int = 0) -> Result:
        result = runner.invoke(cli, list(args), input=input_text, catch_exceptions=False)
        TRANSCRIPT.append(f"$ actito-sftp {' '.join(args)}\n{result.stdout}{result.stderr}[exit {result.exit_code}]")
        _collect_db_secrets()
        printed = result.stdout + result.stderr + caplog.text
        assert "PRIVATE KEY" not in printed
        leaked = [fragment for fragment in SEEN_SECRETS if fragment in printed]
        assert not leaked, "the CLI printed or logged secret material"
        assert result.exit_code == expect, f"{args}: exit {result.exit_code}\n{result.stdout}{result.stderr}"
        return result

    yield run
    transcript_path = os.environ.get("ACTITO_CLI_TRANSCRIPT")
    if transcript_path:
        Path(transcript_path).write_text("\n\n".join(TRANSCRIPT) + "\n")


@pytest.fixture
def create_connection(run_cli: RunCli, sshd: SshServer) -> CreateConnection:
    """``connection create CONN_ID`` against the test sshd, its host key confirmed; extra CLI args appended."""

    def create(conn_id: str, *extra: str) -> Result:
        return run_cli(
            *("connection", "create", conn_id, "--entity", "acme", "--host", sshd.host, "--port", str(sshd.port)),
            *("--username", sshd.user.name, "--accept-host-key", fingerprint_of(sshd.host_key_line), *extra),
        )

    return create


@pytest.fixture
def env_connection(airflow_db: Path, monkeypatch: pytest.MonkeyPatch, sshd: SshServer, client_key: str) -> str:
    """An ``actito_sftp`` connection defined in the environment variable AIRFLOW_CONN_FROM_ENV (read only)."""
    extra = {"entity": "acme", "ssh_private_key": client_key, "host_key": sshd.host_key_line, "locations": {}}
    monkeypatch.setenv(
        "AIRFLOW_CONN_FROM_ENV",
        json.dumps({"conn_type": "actito_sftp", "host": sshd.host, "port": sshd.port, "login": "u", "extra": extra}),
    )
    SEEN_SECRETS.update(secret_fragments(client_key))
    assert not ConnectionStore().get("from_env").in_metadata_db
    return "from_env"
