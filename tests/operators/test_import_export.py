"""Import/export operators run through dag.test() against the real sshd with real gpg."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ConnectionFactory
from tests.support.dags import run_dag, task_states, xcom
from tests.support.sshd import SshServer, chown_tree


@pytest.fixture
def folders(sshd: SshServer, request: pytest.FixtureRequest) -> dict[str, Path]:
    base = request.node.name.replace("[", "_").replace("]", "")[:40]
    return {name: sshd.make_folder(f"{base}/{name}") for name in ("inbound", "outbound", "archive", "quarantine")}


def test_plaintext_round_trip(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    (folders["inbound"] / "customers.csv").write_text("id;email\n1;ada@example.com\n")
    chown_tree(folders["inbound"], sshd.user)
    landing = tmp_path / "landing"
    source = tmp_path / "segment.csv"
    source.write_text("id\n1\n2\n")
    run = run_dag(
        "plaintext_round_trip",
        f"""
        ActitoSftpImportOperator(task_id="import", actito_sftp_conn_id={conn_id!r}, location="inbound",
                                 destination={str(landing)!r}, pattern="*.csv")
        ActitoSftpExportOperator(task_id="export", actito_sftp_conn_id={conn_id!r}, location="outbound",
                                 source={str(source)!r})
        """,
    )
    assert task_states(run) == {"import": "success", "export": "success"}
    assert (landing / "customers.csv").read_text() == "id;email\n1;ada@example.com\n"
    assert (folders["outbound"] / "segment.csv").read_text() == "id\n1\n2\n"
    records = xcom(run, "import")
    assert [record["status"] for record in records] == ["success"]
    print(json.dumps(records, indent=1))
