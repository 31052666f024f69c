"""An import's report: one record per file outcome, logged with the connection, location and file; the
JSON Lines file of every record, and reading them back from the operator's bounded XCom."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.ssh.session import RemoteEntry
from airflow_provider_actito_sftp.transfer.import_report import (
    BatchRecords,
    ImportReport,
    report_lines,
    report_records,
)
from airflow_provider_actito_sftp.transfer.records import Direction, Status, TransferRecord


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


def test_a_name_that_is_not_utf8_is_recorded_and_logged_escaped(caplog: pytest.LogCaptureFixture):
    """Issue 21.12: a Latin-1 name (surrogate escapes once decoded) made the records unsavable as JSON."""
    import json

    caplog.set_level(logging.INFO)
    name = b"caf\xe9.csv".decode("utf-8", "surrogateescape")
    report = ImportReport("acme", "inbound")
    report.refuse(_entry(name), "unsafe remote name", time.monotonic())
    [record] = report.result.refused
    assert record.remote_path == "/in/caf\\xe9.csv"
    json.dumps(record.as_dict(), ensure_ascii=False).encode("utf-8")  # what XCom does with it
    assert "file 'caf\\xe9.csv': refused: unsafe remote name" in caplog.text


def _records(count: int) -> list[TransferRecord]:
    report = ImportReport("acme", "inbound")
    for index in range(count):
        report.imported(_entry(f"f{index}.csv"), Moved(), f"/landing/f{index}.csv", "deleted", None, time.monotonic())  # type: ignore[arg-type]
    report.refuse(_entry("bad.csv"), "not PGP-encrypted", time.monotonic())
    return report.result.records


def test_the_records_of_a_result_put_the_files_that_did_not_move_first():
    records = _records(2)
    assert [record.remote_path for record in records] == ["/in/bad.csv", "/in/f0.csv", "/in/f1.csv"]


def test_report_records_reads_the_inline_records_or_the_report_file(tmp_path: Path):
    records = _records(5)
    report = tmp_path / "report.jsonl"
    report.write_bytes(b"".join(report_lines(records)))
    every = [record.as_dict() for record in records]
    assert list(report_records({"records": every, "records_total": 6, "report": None})) == every
    truncated = {"records": every[:2], "records_total": 6, "report": str(report)}
    assert list(report_records(truncated)) == every
    assert list(report_records({**truncated, "report": report.as_uri()})) == every
    lost = {"records": every[:2], "records_total": 6, "report": None, "report_error": "disk full"}
    with pytest.raises(ValueError, match=r"4 record\(s\) are not in the XCom .* \(disk full\)"):
        list(report_records(lost))


def test_a_name_that_is_not_utf8_survives_the_report_file(tmp_path: Path):
    report = ImportReport("acme", "inbound")
    report.refuse(_entry("caf\udce9.csv"), "not PGP-encrypted", time.monotonic())
    [record] = report.result.records
    [line] = list(report_lines([record]))
    line.decode("ascii")  # plain ASCII (JSON escapes what is not)
    assert json.loads(line) == record.as_dict()
