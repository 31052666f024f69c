"""The plugin API's response models: what each JSON route answers, as the OpenAPI document (``/actito/docs``)
describes it. Request bodies are in :mod:`.bodies`.

The routes build their answers from :mod:`airflow_provider_actito_sftp.management` and
:mod:`airflow_provider_actito_sftp.metrics` (dicts, dataclasses); a model only checks and documents them. So
that no model changes what a route sends, every model allows extra keys (none is dropped) and every field is
required (none is added with a default). No model declares a secret field: a connection's public values pass
as they are, documented from :data:`~airflow_provider_actito_sftp.connection.schema.FIELDS`.
"""

from __future__ import annotations

from typing import Annotated, Any, Union, cast

from pydantic import BaseModel, ConfigDict, Discriminator, Tag
from pydantic.config import JsonDict

from airflow_provider_actito_sftp.connection.field import Kind, Screen
from airflow_provider_actito_sftp.connection.schema import FIELDS
from airflow_provider_actito_sftp.management import Removed, RotationState
from airflow_provider_actito_sftp.metrics import DayPoint


class ResponseModel(BaseModel):
    """A response as a route builds it: extra keys kept, nothing added."""

    model_config = ConfigDict(extra="allow")


class ErrorResponse(BaseModel):
    """Every 4xx answer: ``detail`` in the page's words and, where one field is at fault, that ``field`` (a body
    key, a connection field). Airflow's own refusals (401, 403) and the limits' (415, 429) have no ``field``."""

    detail: str
    field: str | None = None


# --- rights and schema ------------------------------------------------------------------------------


class GeneralRights(ResponseModel):
    """What the user may do in general: ``create`` connections."""

    create: bool


class ConnectionRights(ResponseModel):
    """What the user may do with one connection."""

    edit: bool
    delete: bool


class FieldDescription(ResponseModel):
    """One connection field, for forms (:class:`~airflow_provider_actito_sftp.connection.schema.Field`)."""

    name: str
    label: str
    help: str
    screen: Screen
    kind: Kind
    default: Any
    minimum: int | None
    maximum: int | None
    choices: list[str]
    choice_labels: dict[str, str]
    required: bool
    secret: bool
    generated: bool
    placeholder: str | None


class ConnectionSchema(ResponseModel):
    fields: list[FieldDescription]


# --- keys ---------------------------------------------------------------------------------------------


class SshPublicKey(ResponseModel):
    """Our SSH public key: the ``authorized_keys`` line and its ``SHA256:`` fingerprint."""

    public_key: str
    fingerprint: str


class SshKeyRotated(SshPublicKey):
    """One rotation step: the new key, ``pending`` (install it on the server) or ``active``."""

    state: RotationState


class PgpKey(ResponseModel):
    """A PGP public key (``created``, ``expires``: ISO 8601; ``expires`` null: never)."""

    fingerprint: str
    user_id: str
    algorithm: str
    created: str
    expires: str | None
    can_encrypt: bool
    expired: bool
    revoked: bool


class PartnerKey(PgpKey):
    """The partner's key, with a ``warning`` when it expires soon."""

    warning: str | None


class PartnerKeyUnreadable(ResponseModel):
    """The stored partner key no longer validates: why."""

    error: str


class PartnerKeyConfigured(ResponseModel):
    """A partner key is stored (a connection list describes no key: no gpg call per row)."""

    configured: bool


class PgpKeysRetired(ResponseModel):
    retired: list[PgpKey]


class PartnerKeyRemoved(ResponseModel):
    """The removed key's fingerprint (null if it no longer validated)."""

    fingerprint: str | None


# --- connections ----------------------------------------------------------------------------------------


def _public_fields(schema: JsonDict) -> None:
    """Document every public connection field by its label and help (a field the model does not declare, which
    passes as it is, without a type)."""
    properties = cast("JsonDict", schema.setdefault("properties", {}))
    for field in FIELDS:
        if not field.secret:
            documented = cast("JsonDict", properties.setdefault(field.name, {}))
            documented.update(title=field.label, description=field.help)


class Connection(ResponseModel):
    """A connection without its secrets (``management.describe``): every public field under its own name with
    its parsed value, which secret fields are set, the public keys and warnings."""

    model_config = ConfigDict(json_schema_extra=_public_fields)

    conn_id: str
    id: int | None
    host_key: list[str] | None
    locations: dict[str, str]
    partner_pgp_public_key: PartnerKey | PartnerKeyUnreadable | PartnerKeyConfigured | None
    secrets_set: list[str]
    stored_in: str
    ssh_key: SshPublicKey | None
    ssh_pending_key: SshPublicKey | None
    inbound_pgp_keys: list[PgpKey]
    warnings: list[str]


class InvalidConnection(ResponseModel):
    """A connection that does not validate: ``error`` says why (its public values as stored, on its page)."""

    model_config = ConfigDict(json_schema_extra=_public_fields)

    conn_id: str
    error: str


class _Writable(ResponseModel):
    writable: bool
    read_only_reason: str | None


class _WithRights(ResponseModel):
    rights: ConnectionRights


class _PasswordRemoved(ResponseModel):
    password_removed: bool


class ConnectionDetail(_Writable, Connection):
    """The connection, and whether it may be changed here (``read_only_reason`` if not)."""


class InvalidConnectionDetail(_Writable, InvalidConnection):
    """A connection that does not validate, its public values and the field at fault (``error_field``)."""

    error_field: str | None


class ConnectionShown(_WithRights, ConnectionDetail):
    """The connection and what this user may do with it."""


class InvalidConnectionShown(_WithRights, InvalidConnectionDetail):
    """A connection that does not validate, and what this user may do with it."""


class ConnectionUpdated(_PasswordRemoved, ConnectionDetail):
    """The changed connection; ``password_removed``: the switch to SSH key authentication removed the password."""


class InvalidConnectionUpdated(_PasswordRemoved, InvalidConnectionDetail):
    """The changed connection, should it not validate."""


def _validity(value: Any) -> str:
    keys = value if isinstance(value, dict) else dict(value)  # the answer, or the model it was read into
    return "invalid" if "error" in keys else "valid"


def _valid_or_invalid(valid: type[ResponseModel], invalid: type[ResponseModel]) -> Any:
    """One of two models, told apart by an ``error`` key (a connection that does not validate has one)."""
    return Annotated[
        Union[Annotated[valid, Tag("valid")], Annotated[invalid, Tag("invalid")]],  # noqa: UP007 - a runtime union
        Discriminator(_validity),
    ]


ConnectionRows: Any = list[_valid_or_invalid(Connection, InvalidConnection)]  # type: ignore[misc]
ConnectionView: Any = _valid_or_invalid(ConnectionDetail, InvalidConnectionDetail)
ConnectionWithRights: Any = _valid_or_invalid(ConnectionShown, InvalidConnectionShown)
ConnectionAfterUpdate: Any = _valid_or_invalid(ConnectionUpdated, InvalidConnectionUpdated)


class ConnectionCreated(ResponseModel):
    """The new connection's id, its pinned host key, and our generated SSH public key (null with a password)."""

    conn_id: str
    host_key_fingerprint: str
    ssh_key: SshPublicKey | None


class CheckLine(ResponseModel):
    """One line of a connection test: ``host key``, ``authentication``, ``SFTP`` or ``location <name>``."""

    name: str
    ok: bool
    message: str


class ConnectionTested(ResponseModel):
    ok: bool
    checks: list[CheckLine]


class ConnectionDeleted(ResponseModel):
    """What went with the connection: its keys and its ledger Variables."""

    removed: Removed


class AirflowConnectionJson(ResponseModel):
    """A connection in Airflow's JSON connection format, without any secret field."""

    conn_type: str
    host: str | None
    port: int | None
    login: str | None
    extra: dict[str, Any]


class ConnectionJson(ResponseModel):
    """A read-only connection with the change applied (not saved), to store where it is defined;
    ``cli_command`` makes the same change (null when no one command can)."""

    conn_id: str
    connection: AirflowConnectionJson
    secrets_left_out: list[str]
    instructions: str
    cli_command: str | None


# --- host keys -----------------------------------------------------------------------------------------


class HostKey(ResponseModel):
    algorithm: str
    fingerprint: str


class HostKeysOffered(HostKey):
    """The host key the server presents (its preferred one among every type offered, ed25519 first):
    ``algorithm`` and ``fingerprint``, and ``keys``, that one (its other keys are fetched on creation only if the
    partner's fingerprint is of one of them)."""

    host: str
    port: int
    keys: list[HostKey]


class HostKeyPinned(ResponseModel):
    fingerprint: str
    trusted_on_first_use: bool


# --- overview -------------------------------------------------------------------------------------------


class TransferOverview(ResponseModel):
    """Requests (file transfers) that succeeded and failed, bytes each way, by direction and by day
    (:class:`~airflow_provider_actito_sftp.metrics.Overview`; ``success_rate`` null without requests)."""

    conn_id: str | None
    entity: str | None
    since: str
    until: str
    succeeded: int
    failed: int
    bytes_down: int
    bytes_up: int
    total_requests: int
    downloads: int
    uploads: int
    by_type_status: dict[str, dict[str, int]]
    per_day: list[DayPoint]
    success_rate: float | None
