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

from airflow_provider_actito_sftp.connection.settings import (
    AuthType,
    ConnectionSettings,
    parse_connection,
    parse_locations,
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
from airflow_provider_actito_sftp.ssh.host_keys import export_host_key, fetch_host_key, fingerprint
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


def validate(record: ConnectionRecord) -> ConnectionSettings:
    """Parse the record exactly as the hook will; raises ``ConnectionConfigError`` if anything is invalid."""
    return parse_connection(
        _RecordConnection(
            conn_id=record.conn_id,
            host=record.host,
            port=record.port,
            login=record.login,
            password=record.password,
            extra=record.extra_json(),
        )
    )


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


def describe(record: ConnectionRecord) -> dict[str, Any]:
    """Everything worth showing about a connection, without secrets."""
    settings = validate(record)
    active, pending = ssh_public_keys(record) if settings.auth_type is AuthType.SSH_KEY else (None, None)
    inbound_keys = pgp_inbound_keys(record)
    warnings = [text for text in [expiry_warning(inbound_keys[0]) if inbound_keys else None] if text]
    try:
        partner_info = partner_key_info(record)
    except ActitoSftpError as e:
        partner: dict[str, Any] | None = {"error": str(e)}
    else:
        partner = partner_info.as_dict() if partner_info else None
        if partner_info and (text := expiry_warning(partner_info)):
            warnings.append(f"partner {text}")
    return {
        "technical_name": settings.conn_id,
        "display_name": settings.display_name,
        "entity": settings.entity,
        "host": settings.host,
        "port": settings.port,
        "username": settings.username,
        "auth_type": settings.auth_type.value,
        "stored_in": "metadata DB" if record.in_metadata_db else "environment/secrets backend (read only)",
        "host_keys": [fingerprint(key) for key in settings.host_keys],
        "ssh_public_key": active.public_line if active else None,
        "ssh_key_fingerprint": active.fingerprint if active else None,
        "ssh_pending_public_key": pending.public_line if pending else None,
        "locations": dict(settings.locations),
        "inbound": {
            "pgp_required": settings.inbound.pgp_required,
            "pgp_keys": [info.as_dict() for info in inbound_keys],
        },
        "outbound": {
            "lock": settings.outbound.lock,
            "lock_suffix": settings.outbound.lock_suffix,
            "pgp": settings.outbound.pgp,
            "pgp_armor": settings.outbound.pgp_armor,
            "partner_key": partner,
        },
        "advanced": {
            "connect_timeout": settings.advanced.connect_timeout,
            "keepalive_interval": settings.advanced.keepalive_interval,
            "transfer_concurrency": settings.advanced.transfer_concurrency,
            "ciphers": list(settings.advanced.ciphers),
            "compression": settings.advanced.compression,
        },
        "warnings": warnings,
    }


__all__ = [
    "ConnectionConfigError",
    "RefusedError",
    "describe",
    "validate",
]
