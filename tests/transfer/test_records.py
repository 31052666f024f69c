"""The record each transfer returns: plain JSON for XCom, the values the overview counts, timings."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, fields
from datetime import UTC, datetime

from airflow_provider_actito_sftp.transfer.records import Direction, Status, TransferRecord


@dataclass(frozen=True)
class Moved:
    wire_bytes: int = 120
    plaintext_bytes: int = 100
    sha256: str = "ab" * 32
    pgp_fingerprint: str | None = "F" * 40


def record(**overrides: object) -> TransferRecord:
    values: dict[str, object] = {
        "conn_id": "acme",
        "location": "inbound",
        "remote_path": "/inbound/customers.csv.pgp",
        "local_path": "/data/landing/customers.csv",
        "direction": Direction.DOWNLOAD,
        "status": Status.SUCCESS,
        **overrides,
    }
    return TransferRecord(**values)


def test_status_and_direction_values_are_the_strings_stored_in_xcom() -> None:
    assert [status.value for status in Status] == ["success", "failed"]
    assert [direction.value for direction in Direction] == ["download", "upload"]


def test_as_dict_is_plain_json_with_every_field() -> None:
    data = record(direction=Direction.UPLOAD, status=Status.FAILED, error="permission denied").as_dict()
    assert set(data) == {field.name for field in fields(TransferRecord)}
    assert type(data["direction"]) is str
    assert type(data["status"]) is str
    assert json.loads(json.dumps(data)) == data
    assert (data["direction"], data["status"], data["error"]) == ("upload", "failed", "permission denied")


def test_as_dict_round_trips_to_an_equal_record() -> None:
    original = record(wire_bytes=5, plaintext_bytes=4, sha256="cd" * 32, remote_outcome="deleted")
    data = original.as_dict()
    rebuilt = TransferRecord(**{**data, "direction": Direction(data["direction"]), "status": Status(data["status"])})
    assert rebuilt == original


def test_finished_copies_what_was_moved_and_times_the_transfer() -> None:
    before = datetime.now(UTC)
    finished = TransferRecord.finished(
        conn_id="acme",
        location="inbound",
        remote_path="/inbound/a.csv.pgp",
        local_path="/data/a.csv",
        direction=Direction.DOWNLOAD,
        status=Status.SUCCESS,
        started=time.monotonic() - 2.0,
        moved=Moved(),
    )
    assert (finished.wire_bytes, finished.plaintext_bytes) == (120, 100)
    assert (finished.sha256, finished.pgp_fingerprint) == ("ab" * 32, "F" * 40)
    assert 2.0 <= finished.duration_seconds < 10.0
    started_at = datetime.fromisoformat(finished.started_at)
    assert started_at.tzinfo is not None
    assert abs((before - started_at).total_seconds() - 2.0) < 5.0
    assert (finished.error, finished.retryable, finished.remote_outcome) == (None, False, "")


def test_a_failure_without_moved_data_reports_zeros_and_whether_to_retry() -> None:
    failed = TransferRecord.finished(
        conn_id="acme",
        location="outbound",
        remote_path="/outbound/b.csv",
        local_path="/data/b.csv",
        direction=Direction.UPLOAD,
        status=Status.FAILED,
        started=time.monotonic(),
        error="connection lost",
        retryable=True,
    )
    assert (failed.wire_bytes, failed.plaintext_bytes, failed.sha256, failed.pgp_fingerprint) == (0, 0, None, None)
    assert (failed.status, failed.error, failed.retryable) == (Status.FAILED, "connection lost", True)


def test_with_remote_outcome_returns_a_new_record() -> None:
    original = record()
    archived = original.with_remote_outcome("archived as archive/customers.csv.pgp")
    assert archived.remote_outcome == "archived as archive/customers.csv.pgp"
    assert original.remote_outcome == ""
    assert archived.as_dict() == {**original.as_dict(), "remote_outcome": archived.remote_outcome}
