"""Configuration operations shared by the CLI and the UI plugin: keys, locations, policies, description.

Each function changes a :class:`~airflow_provider_actito_sftp.connection.store.ConnectionRecord` in memory and
validates the result with the same parser the hook uses; the caller saves it with the store. Results
carry public material only (public keys, fingerprints, expiry dates), never a secret.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

import asyncssh

from airflow_provider_actito_sftp.connection.schema import FIELDS
from airflow_provider_actito_sftp.connection.settings import (
    AuthType,
    ConnectionSettings,
    parse_connection,
    parse_locations,
    raw_values,
    read_fields,
)
from airflow_provider_actito_sftp.connection.store import ConnectionRecord
from airflow_provider_actito_sftp.exceptions import (
    ActitoSftpError,
    AuthenticationError,
    ConnectionConfigError,
    RefusedError,
)
from airflow_provider_actito_sftp.pgp.keys import (
    PgpKeyInfo,
    PgpKeyType,
    add_inbound_key,
    describe_secret_keys,
    expiry_warning,
    export_newest_public_key,
    generate_inbound_key,
    retire_inbound_keys,
    validate_partner_key,
)
from airflow_provider_actito_sftp.ssh.host_keys import export_host_key, fetch_host_key, fingerprint, parse_host_keys
from airflow_provider_actito_sftp.ssh.keys import SshKeyPair, SshKeyType, describe_ssh_key, generate_ssh_key
from airflow_provider_actito_sftp.ssh.session import open_session


@dataclass(frozen=True)
class _RecordConnection:
    """Adapts a record to what :func:`parse_connection` reads."""

    conn_id: str
    host: str | None
    port: int | None
    login: str | None
    password: str | None
    extra: str | None

    @classmethod
    def of(cls, record: ConnectionRecord) -> _RecordConnection:
        return cls(record.conn_id, record.host, record.port, record.login, record.password, record.extra_json())


def validate(record: ConnectionRecord) -> ConnectionSettings:
    """Parse the record exactly as the hook will; raises ``ConnectionConfigError`` if anything is invalid."""
    return parse_connection(_RecordConnection.of(record))


# --- host keys -----------------------------------------------------------------------------------


def fetch_server_host_key(host: str, port: int, *, timeout: float = 30.0) -> asyncssh.SSHKey:
    """Fetch the key a server presents (no authentication). Compare its fingerprint before pinning it."""
    return asyncio.run(fetch_host_key(host, port, timeout=timeout))


def pin_host_key(record: ConnectionRecord, key: asyncssh.SSHKey) -> str:
    """Pin ``key`` as the connection's only trusted host key; return its fingerprint."""
    record.extra["host_key"] = export_host_key(key)
    return fingerprint(key)


# --- SSH client keys ------------------------------------------------------------------------------


def ssh_key_generate(record: ConnectionRecord, key_type: SshKeyType, *, force: bool = False) -> SshKeyPair:
    """Generate the connection's SSH key pair.

    :raises RefusedError: a key exists already and ``force`` is not set (use rotation instead, which
        does not cut off running exchanges).
    """
    if record.extra.get("ssh_private_key") and not force:
        raise RefusedError(
            f"Connection {record.conn_id!r} already has an SSH key; use `ssh-key rotate` (safe for running "
            "exchanges) or `ssh-key generate --force` to replace it at once"
        )
    pair = generate_ssh_key(key_type, comment=f"actito-sftp:{record.conn_id}")
    record.extra["ssh_private_key"] = pair.private_key
    record.extra.pop("ssh_private_key_passphrase", None)
    record.extra.pop("ssh_private_key_pending", None)
    return _public_only(pair)


def ssh_public_keys(record: ConnectionRecord) -> tuple[SshKeyPair | None, SshKeyPair | None]:
    """Return the active and the pending (rotating) public keys, private parts blanked."""
    active_text = record.extra.get("ssh_private_key")
    pending_text = record.extra.get("ssh_private_key_pending")
    active = describe_ssh_key(active_text, record.extra.get("ssh_private_key_passphrase")) if active_text else None
    pending = describe_ssh_key(pending_text) if pending_text else None
    return (_public_only(active) if active else None, _public_only(pending) if pending else None)


def ssh_key_rotate_begin(record: ConnectionRecord, key_type: SshKeyType) -> SshKeyPair:
    """Create a pending key beside the active one; both are offered until the rotation completes."""
    if not record.extra.get("ssh_private_key"):
        raise RefusedError(f"Connection {record.conn_id!r} has no SSH key to rotate; use `ssh-key generate`")
    pair = generate_ssh_key(key_type, comment=f"actito-sftp:{record.conn_id}")
    record.extra["ssh_private_key_pending"] = pair.private_key
    return _public_only(pair)


def pending_key_authenticates(record: ConnectionRecord) -> bool:
    """Whether the server accepts the pending key on its own (the old key is not offered)."""
    pending = record.extra.get("ssh_private_key_pending")
    if not pending:
        return False
    trial = replace(
        record,
        extra={**record.extra, "ssh_private_key": pending, "ssh_private_key_pending": None, "auth_type": "ssh_key"},
    )
    trial.extra.pop("ssh_private_key_passphrase", None)
    settings = validate(trial)

    async def attempt() -> None:
        async with open_session(settings):
            pass

    try:
        asyncio.run(attempt())
    except AuthenticationError:
        return False  # anything else (host key, network) is a real error and propagates
    return True


def ssh_key_rotate_activate(record: ConnectionRecord) -> SshKeyPair:
    """Make the pending key the active one and drop the old key."""
    pending = record.extra.get("ssh_private_key_pending")
    if not pending:
        raise RefusedError(f"Connection {record.conn_id!r} has no pending SSH key")
    record.extra["ssh_private_key"] = pending
    record.extra.pop("ssh_private_key_pending", None)
    record.extra.pop("ssh_private_key_passphrase", None)
    return _public_only(describe_ssh_key(pending))


def _public_only(pair: SshKeyPair) -> SshKeyPair:
    return replace(pair, private_key="")


# --- inbound PGP keys -----------------------------------------------------------------------------


def pgp_key_generate(
    record: ConnectionRecord, key_type: PgpKeyType, *, expires: str, force: bool = False
) -> PgpKeyInfo:
    """Generate the inbound PGP key pair.

    :raises RefusedError: keys exist and ``force`` is not set (rotation keeps old keys able to decrypt).
    """
    if record.extra.get("inbound_pgp_private_keys") and not force:
        raise RefusedError(
            f"Connection {record.conn_id!r} already has inbound PGP keys; use `pgp-key rotate` "
            "(old keys keep decrypting files already encrypted to them)"
        )
    armored, info = generate_inbound_key(record.conn_id, key_type, expires=expires)
    record.extra["inbound_pgp_private_keys"] = armored
    return info


def pgp_key_rotate(record: ConnectionRecord, key_type: PgpKeyType, *, expires: str) -> PgpKeyInfo:
    """Add a new inbound key (handed out from now on); older keys still decrypt until retired."""
    armored, info = add_inbound_key(
        record.conn_id, record.extra.get("inbound_pgp_private_keys"), key_type, expires=expires
    )
    record.extra["inbound_pgp_private_keys"] = armored
    return info


def pgp_key_retire(record: ConnectionRecord, fingerprints: list[str] | None) -> list[PgpKeyInfo]:
    """Remove old inbound keys (all but the newest, or the fingerprints given)."""
    armored = record.extra.get("inbound_pgp_private_keys")
    if not armored:
        raise RefusedError(f"Connection {record.conn_id!r} has no inbound PGP keys")
    remaining, retired = retire_inbound_keys(armored, fingerprints or None)
    record.extra["inbound_pgp_private_keys"] = remaining
    return retired


def pgp_inbound_keys(record: ConnectionRecord) -> list[PgpKeyInfo]:
    """Describe the inbound keys, newest (handed out) first."""
    armored = record.extra.get("inbound_pgp_private_keys")
    return describe_secret_keys(armored) if armored else []


def pgp_public_key(record: ConnectionRecord) -> tuple[str, PgpKeyInfo]:
    """The armored public key partners must encrypt to (the newest inbound key)."""
    armored = record.extra.get("inbound_pgp_private_keys")
    if not armored:
        raise RefusedError(
            f"Connection {record.conn_id!r} has no inbound PGP key; run `actito-sftp pgp-key generate {record.conn_id}`"
        )
    return export_newest_public_key(armored)


# --- partner key ----------------------------------------------------------------------------------


def partner_key_set(record: ConnectionRecord, armored_public_key: str) -> tuple[PgpKeyInfo, str | None]:
    """Validate and store the partner's public key; return its description and an expiry warning."""
    info = validate_partner_key(armored_public_key)
    record.extra["partner_pgp_public_key"] = armored_public_key.strip() + "\n"
    return info, expiry_warning(info)


def partner_key_info(record: ConnectionRecord) -> PgpKeyInfo | None:
    """Describe the stored partner key (None if none is set)."""
    armored = record.extra.get("partner_pgp_public_key")
    return validate_partner_key(armored) if armored else None


# --- locations and policies -----------------------------------------------------------------------


def location_set(record: ConnectionRecord, name: str, path: str, *, must_exist: bool) -> None:
    """Add (``must_exist=False``) or update (``must_exist=True``) a location, validated."""
    locations = dict(parse_locations(record.conn_id, record.extra.get("locations")))
    if must_exist and name not in locations:
        raise RefusedError(f"Connection {record.conn_id!r} has no location {name!r}; use `location add`")
    if not must_exist and name in locations:
        raise RefusedError(f"Connection {record.conn_id!r} already has location {name!r}; use `location update`")
    locations[name] = path
    record.extra["locations"] = dict(parse_locations(record.conn_id, locations))


def location_remove(record: ConnectionRecord, name: str) -> None:
    locations = dict(parse_locations(record.conn_id, record.extra.get("locations")))
    if name not in locations:
        raise RefusedError(f"Connection {record.conn_id!r} has no location {name!r}")
    del locations[name]
    record.extra["locations"] = locations


def set_policy(
    record: ConnectionRecord,
    *,
    inbound_pgp_required: bool | None = None,
    outbound_lock: bool | None = None,
    lock_suffix: str | None = None,
    outbound_pgp: bool | None = None,
    outbound_pgp_armor: bool | None = None,
) -> None:
    """Change inbound/outbound policies; refuses settings the keys cannot support."""
    if inbound_pgp_required and not record.extra.get("inbound_pgp_private_keys"):
        raise RefusedError(
            f"Connection {record.conn_id!r}: cannot require inbound PGP without an inbound key pair; "
            f"run `actito-sftp pgp-key generate {record.conn_id}` and give the partner the public key first"
        )
    if outbound_pgp and not record.extra.get("partner_pgp_public_key"):
        raise RefusedError(
            f"Connection {record.conn_id!r}: cannot encrypt outbound files without the partner's public key; "
            f"run `actito-sftp partner-key set {record.conn_id} FILE` first"
        )
    changes = {
        "inbound_pgp_required": inbound_pgp_required,
        "outbound_lock": outbound_lock,
        "outbound_lock_suffix": lock_suffix,
        "outbound_pgp": outbound_pgp,
        "outbound_pgp_armor": outbound_pgp_armor,
    }
    record.extra.update({key: value for key, value in changes.items() if value is not None})


# --- description ----------------------------------------------------------------------------------


def describe(record: ConnectionRecord, *, key_details: bool = True) -> dict[str, Any]:
    """A connection without its secrets: the one view the CLI, the UI plugin and the API show.

    Every non-secret schema field appears under its own name with its parsed value (a pinned host key as
    its fingerprints, the partner key as its description); secret fields appear only by name in
    ``secrets_set``. ``key_details=False`` skips the gpg calls (the partner key is then only
    ``{"configured": True}``; no inbound key list), for lists of many connections.

    :raises ConnectionConfigError: the connection does not validate.
    """
    validate(record)
    values = read_fields(record.conn_id, raw_values(record.conn_id, _RecordConnection.of(record)))
    view: dict[str, Any] = {"conn_id": record.conn_id}
    for item in FIELDS:
        if not item.secret:
            view[item.name] = _public_value(item.name, values[item.name], key_details)
    view["display_name"] = values["display_name"] or record.conn_id
    view["secrets_set"] = [item.name for item in FIELDS if item.secret and values[item.name]]
    view["stored_in"] = "metadata DB" if record.in_metadata_db else "environment/secrets backend (read only)"
    active, pending = ssh_public_keys(record) if values["auth_type"] == AuthType.SSH_KEY else (None, None)
    view["ssh_key"] = {"public_key": active.public_line, "fingerprint": active.fingerprint} if active else None
    view["ssh_pending_key"] = (
        {"public_key": pending.public_line, "fingerprint": pending.fingerprint} if pending else None
    )
    inbound_keys = pgp_inbound_keys(record) if key_details else []
    view["inbound_pgp_keys"] = [info.as_dict() for info in inbound_keys]
    view["warnings"] = _warnings(inbound_keys, view["partner_pgp_public_key"])
    return view


def _public_value(name: str, value: Any, key_details: bool) -> Any:
    if value is None:
        return None
    if name == "host_key":
        return [fingerprint(key) for key in parse_host_keys(value)]
    if name == "partner_pgp_public_key":
        return _partner_key_view(value) if key_details else {"configured": True}
    return list(value) if isinstance(value, tuple) else dict(value) if isinstance(value, dict) else value


def _partner_key_view(armored: str) -> dict[str, Any]:
    try:
        info = validate_partner_key(armored)
    except ActitoSftpError as e:
        return {"error": str(e)}
    return {**info.as_dict(), "warning": expiry_warning(info)}


def _warnings(inbound_keys: list[PgpKeyInfo], partner: dict[str, Any] | None) -> list[str]:
    warnings = [text for text in [expiry_warning(inbound_keys[0]) if inbound_keys else None] if text]
    if partner and (problem := partner.get("error") or partner.get("warning")):
        warnings.append(f"partner {problem}")
    return warnings


__all__ = [
    "ConnectionConfigError",
    "RefusedError",
    "describe",
    "validate",
]
