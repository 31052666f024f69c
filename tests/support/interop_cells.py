"""What the interoperability modules share: the file partners exchange, and one matrix cell per real import or
export over a partner's server (an Airflow task, or the hook), each returning None when it worked, else the error
the user sees in the file's record.
"""

from __future__ import annotations

from pathlib import Path

from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from airflow_provider_actito_sftp.transfer.import_report import ImportResult
from partner_sandbox.sshd import SftpUser, SshServer, chown_tree
from tests.conftest import ConnectionFactory
from tests.support.dags import import_records, run_dag
from tests.support.interop_matrix import Matrix, outcome

PLAINTEXT = b"id;email\n" + b"".join(b"%d;user%d@example.com\n" % (i, i) for i in range(12_000))  # ~300 kB


def record_row(matrix: Matrix, table: str, case: str, error: str | None, refused: str | None = None) -> None:
    """Record a one-column row (``result``) and check it: it worked, or was refused with words containing
    ``refused``."""
    matrix.record(table, case, "result", outcome(error))
    if refused is None:
        assert error is None, f"{case}: {error}"
    else:
        assert error is not None, case
        assert refused in error, f"{case}: {error}"


def outcome_of(result: ImportResult, name: str) -> str | None:
    """None if ``name`` was imported and finished on the server, else the error its record carries."""
    for record in result.refused + result.failed + result.unfinished:
        if record.remote_path.endswith(f"/{name}"):
            return record.error or "no error given"
    imported = [record for record in result.imported if record.remote_path.endswith(f"/{name}")]
    return None if imported else "not imported, and no reason given"


def connection_on(
    make_connection: ConnectionFactory, server: SshServer, name: str, **extra: object
) -> tuple[str, Path]:
    """A connection to ``server`` (its ``client-key``, its host key pinned) with inbound, outbound and archive
    locations; returns it and the inbound folder."""
    folders = {location: server.make_folder(f"{name}/{location}") for location in ("inbound", "outbound", "archive")}
    conn_id = make_connection(
        name,
        port=server.port,
        ssh_private_key=(server.workdir / "client-key").read_text(),
        host_key=server.host_key_line,
        locations={location: server.remote_path(folder) for location, folder in folders.items()},
        **extra,
    )
    return conn_id, folders["inbound"]


def import_cell(
    conn_id: str, inbound: Path, user: SftpUser, work: Path, name: str = "customers.csv", **options: object
) -> str | None:
    """Import a new file ``name`` with ``options`` in an Airflow task (``keep`` writes its ledger to Variables):
    None if it arrived and finished on the server, else the error its record carries."""
    (inbound / name).write_bytes(PLAINTEXT)
    chown_tree(inbound, user)
    options = {"after_import": "delete", "min_age": 0, **options}
    arguments = "".join(f", {key}={value!r}" for key, value in options.items())
    run = run_dag(
        f"{conn_id}_{len(list(work.parent.iterdir()))}",
        f"""
        ActitoSftpImportOperator(task_id="import", conn_id={conn_id!r}, location="inbound",
                                 destination={str(work / "landing")!r}{arguments})
        """,
    )
    records = [record for record in import_records(run) if record["remote_path"].endswith(f"/{name}")]
    if not records:
        return "not imported, and no reason given"
    return records[0]["error"]


def export_cell(conn_id: str, work: Path, **options: object) -> str | None:
    """Export a CSV to the connection's ``outbound`` location with the hook: None if it was uploaded, else the
    error its record carries."""
    work.mkdir(parents=True, exist_ok=True)
    source = work / "segment.csv"
    source.write_bytes(PLAINTEXT)
    result = ActitoSftpHook(conn_id).export_files("outbound", source, **options)
    problems = [record.error or "no error given" for record in result.refused + result.failed]
    return problems[0] if problems else None
