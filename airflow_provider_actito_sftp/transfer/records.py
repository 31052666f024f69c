"""The record every transfer returns (pushed to XCom, read by the overview)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol


class Direction(StrEnum):
    DOWNLOAD = "download"
    UPLOAD = "upload"


class Status(StrEnum):
    SUCCESS = "success"
    FAILED = "failed"


class Moved(Protocol):
    """What a finished download or upload reports."""

    @property
    def wire_bytes(self) -> int: ...
    @property
    def plaintext_bytes(self) -> int: ...
    @property
    def sha256(self) -> str: ...
    @property
    def pgp_fingerprint(self) -> str | None: ...


@dataclass(frozen=True)
class TransferRecord:
    """One file moved (or refused). JSON-serialisable through :meth:`as_dict`.

    :param wire_bytes: bytes read from or written to the SFTP server (encrypted size when PGP is on).
    :param plaintext_bytes: bytes of the decrypted / unencrypted content.
    :param sha256: hex digest of the plaintext.
    :param pgp_fingerprint: the primary key that decrypted (import) or was encrypted to (export).
    :param retryable: for a failure, whether it came from the transport (a retry may succeed) rather
        than from the file itself (a refusal, which a retry would meet again).
    :param remote_outcome: what happened on the server afterwards (deleted, archived as ..., kept).
    """

    conn_id: str
    location: str
    remote_path: str
    local_path: str
    direction: Direction
    status: Status
    wire_bytes: int = 0
    plaintext_bytes: int = 0
    sha256: str | None = None
    pgp_fingerprint: str | None = None
    duration_seconds: float = 0.0
    started_at: str = ""
    error: str | None = None
    retryable: bool = False
    remote_outcome: str = ""

    @classmethod
    def finished(
        cls,
        *,
        conn_id: str,
        location: str,
        remote_path: str,
        local_path: str,
        direction: Direction,
        status: Status,
        started: float,
        moved: Moved | None = None,
        error: str | None = None,
        retryable: bool = False,
    ) -> TransferRecord:
        """A record for a transfer that began at ``started`` (``time.monotonic()``) and ends now."""
        duration = time.monotonic() - started
        return cls(
            conn_id=conn_id,
            location=location,
            remote_path=remote_path,
            local_path=local_path,
            direction=direction,
            status=status,
            wire_bytes=moved.wire_bytes if moved else 0,
            plaintext_bytes=moved.plaintext_bytes if moved else 0,
            sha256=moved.sha256 if moved else None,
            pgp_fingerprint=moved.pgp_fingerprint if moved else None,
            duration_seconds=round(duration, 3),
            started_at=(datetime.now(UTC) - timedelta(seconds=duration)).isoformat(),
            error=error,
            retryable=retryable,
        )

    def with_remote_outcome(self, outcome: str) -> TransferRecord:
        return replace(self, remote_outcome=outcome)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["direction"] = self.direction.value
        data["status"] = self.status.value
        return data
