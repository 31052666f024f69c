"""The record every transfer returns (pushed to XCom, read by the overview)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Direction(StrEnum):
    DOWNLOAD = "download"
    UPLOAD = "upload"


class Status(StrEnum):
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class TransferRecord:
    """One file moved (or refused). JSON-serialisable through :meth:`as_dict`.

    :param wire_bytes: bytes read from or written to the SFTP server (encrypted size when PGP is on).
    :param plaintext_bytes: bytes of the decrypted / unencrypted content.
    :param sha256: hex digest of the plaintext.
    :param pgp_fingerprint: the primary key that decrypted (import) or was encrypted to (export).
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

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["direction"] = self.direction.value
        data["status"] = self.status.value
        return data
