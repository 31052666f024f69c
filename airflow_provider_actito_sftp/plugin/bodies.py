"""The request bodies of the plugin's API (:mod:`.routes`), and the error response they and the routes raise:
``{"detail": ..., "field": ...}`` with a status (answered by :mod:`.errors`)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pydantic import BaseModel, Field

from airflow_provider_actito_sftp.pgp.keys import PgpKeyType
from airflow_provider_actito_sftp.ssh.key_type import SshKeyType


class ApiError(Exception):
    """An error response: ``{"detail": ..., "field": ...}`` with this status."""

    def __init__(self, status: int, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.field = status, detail, field


class HostKeyConfirmation(BaseModel):
    """How the server's host key is confirmed: the partner's fingerprint, or trust on first use."""

    expected_fingerprint: str | None = None
    trust_on_first_use: bool = False


class RepinBody(HostKeyConfirmation):
    """A new pin; ``password``: the connection's password, entered again when the pinned key changes (a stored
    password is only sent to the server it was entered for)."""

    password: str | None = None


class HostKeyFetch(BaseModel):
    """A server whose host key to fetch; ``legacy_algorithms``: the weaker algorithms the connection accepts from
    it (the field's words, a list or comma-separated as the form holds them; none: nothing weaker is offered)."""

    host: str
    port: int = Field(22, ge=1, le=65535)
    legacy_algorithms: list[str] | str = []


class CreateBody(BaseModel):
    conn_id: str
    values: dict[str, Any] = {}
    host_key: HostKeyConfirmation = HostKeyConfirmation()
    ssh_key_type: SshKeyType = SshKeyType.ED25519


class ValuesBody(BaseModel):
    values: dict[str, Any]


class LocationBody(BaseModel):
    path: str
    check: bool = False


class SshGenerateBody(BaseModel):
    key_type: SshKeyType = SshKeyType.ED25519
    force: bool = False


class SshRotateBody(BaseModel):
    force: bool = False
    restart: bool = False


class PgpGenerateBody(BaseModel):
    key_type: PgpKeyType = PgpKeyType.ED25519
    expires: str = "2y"
    force: bool = False


class PgpRotateBody(BaseModel):
    key_type: PgpKeyType = PgpKeyType.ED25519
    expires: str = "2y"


class PgpRetireBody(BaseModel):
    fingerprints: list[str] = []


class PartnerKeyBody(BaseModel):
    """The partner's key: ``public_key`` (armored text), or ``public_key_base64`` (the key file's bytes,
    armored or binary as ``gpg --export`` writes them, base64-encoded: what the page uploads)."""

    public_key: str | None = None
    public_key_base64: str | None = None

    def text(self) -> str:
        from airflow_provider_actito_sftp.pgp.armor import key_file_text

        if self.public_key_base64 is not None:
            try:
                data = base64.b64decode(self.public_key_base64, validate=True)
            except binascii.Error:
                raise ApiError(400, "the key file did not arrive intact (not base64)", "public_key_base64") from None
            return key_file_text(data)
        if self.public_key is None:
            raise ApiError(400, "give public_key (armored text) or public_key_base64 (the key file)", "public_key")
        return self.public_key.removeprefix("\ufeff")  # pasted from a file a Windows tool saved with its mark


class DeleteBody(BaseModel):
    confirm: str
