"""An import's report: one record per file outcome, logged with the connection, location and file."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from airflow_provider_actito_sftp.ssh.session import RemoteEntry
from airflow_provider_actito_sftp.transfer.import_report import BatchRecords, ImportReport
from airflow_provider_actito_sftp.transfer.records import Direction, Status


@dataclass
class Moved:
    wire_bytes: int = 120
    plaintext_bytes: int = 400
    sha256: str = "ab" * 32
    pgp_fingerprint: str | None = "F" * 40


def _entry(name: str) -> RemoteEntry:
    return RemoteEntry(name, f"/in/{name}", 120, datetime.now(UTC), is_file=True, is_dir=False)


def test_batch_records_carry_the_batch_and_the_outcome():
    records = BatchRecords("acme", "outbound", Direction.UPLOAD)
    started = time.monotonic()
    ok = records.succeeded("/out/a.csv", "/src/a.csv", started, Moved())
    assert (ok.conn_id, ok.location, ok.direction, ok.status) == ("acme", "outbound", Direction.UPLOAD, Status.SUCCESS)
    assert (ok.remote_path, ok.local_path, ok.wire_bytes, ok.plaintext_bytes) == ("/out/a.csv", "/src/a.csv", 120, 400)
    assert ok.error is None
    failed = records.failed("/out/b.csv", "/src/b.csv", started, "cut", retryable=True)
    assert (failed.status, failed.error, failed.retryable, failed.wire_bytes) == (Status.FAILED, "cut", True, 0)


def test_each_outcome_is_recorded_once_and_logged(caplog: pytest.LogCaptureFixture):
    report = ImportReport("acme", "inbound")
    started = time.monotonic()
    # the package logger, not the root: an in-process CLI test may have set the package's level
    with caplog.at_level(logging.INFO, logger="airflow_provider_actito_sftp"):
        report.imported(_entry("a.csv.pgp"), Moved(), "/landing/a.csv", "deleted from the server", None, started)  # type: ignore[arg-type]
        report.imported(_entry("b.csv"), Moved(), "/landing/b.csv", "not finished", "rename failed", started)  # type: ignore[arg-type]
        report.refuse(_entry("c.csv"), "not PGP-encrypted", started)
        report.fail(_entry("d.csv"), "connection lost", started)
        report.skip("e.csv", "claimed by another run")
    result = report.result
    assert [record.remote_path for record in result.imported] == ["/in/a.csv.pgp", "/in/b.csv"]
    assert [record.remote_outcome for record in result.imported] == ["deleted from the server", "not finished"]
    assert [record.remote_path for record in result.unfinished] == ["/in/b.csv"]
    assert [(record.error, record.retryable) for record in result.refused] == [("not PGP-encrypted", False)]
    assert [(record.error, record.retryable) for record in result.failed] == [("connection lost", True)]
    assert result.skipped == [("e.csv", "claimed by another run")]
    assert all(record.direction is Direction.DOWNLOAD for record in result.imported + result.refused + result.failed)
    lines = [record.getMessage() for record in caplog.records]
    assert any(
        line.startswith("Connection 'acme', location 'inbound', file 'a.csv.pgp': imported to /landing/a.csv")
        for line in lines
    )
    assert "Connection 'acme', location 'inbound', file 'c.csv': refused: not PGP-encrypted" in lines
    assert "Connection 'acme', location 'inbound', file 'd.csv': failed (a retry may succeed): connection lost" in lines
