"""Key material of a connection: our SSH key pair and its rotation, our inbound PGP keys, the partner's key.

Every function changes the record in memory (the caller validates and saves it) and returns public
material only: public keys, fingerprints, expiry dates.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from airflow_provider_actito_sftp.connection.field import check_length
from airflow_provider_actito_sftp.connection.schema import BY_NAME, AuthType
from airflow_provider_actito_sftp.connection.store import ConnectionRecord
from airflow_provider_actito_sftp.exceptions import AuthenticationError, PgpKeyError, RefusedError
from airflow_provider_actito_sftp.management.on_server import hook_session, run_on_server, within
from airflow_provider_actito_sftp.management.validation import validate
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
from airflow_provider_actito_sftp.ssh.key_type import SshKeyType
from airflow_provider_actito_sftp.ssh.keys import SshKeyPair, describe_ssh_key, generate_ssh_key

# The page's buttons that make keys (plugin/static/tab_server.js, tab_files.js), named in its advice.
PAGE_NEW_SSH_KEY = "Generate a new key pair"
PAGE_NEW_PGP_KEY = "Generate our PGP key pair"
PAGE_ENCRYPT_UPLOADS = "Encrypt uploads with PGP"  # the Outbound tab's toggle of outbound_pgp

# --- SSH client keys ------------------------------------------------------------------------------


def ssh_key_generate(record: ConnectionRecord, key_type: SshKeyType, *, force: bool = False) -> SshKeyPair:
    """Generate the connection's SSH key pair.

    :param record: the connection to change.
    :param key_type: ed25519 or rsa.
    :param force: replace an existing key at once (cuts off the old key).
    :raises RefusedError: a key exists already and ``force`` is not set (use rotation instead, which
        does not cut off running exchanges).
    """
    if record.stored("ssh_private_key") and not force:
        raise RefusedError(
            f"Connection {record.conn_id!r} already has an SSH key; use `ssh-key rotate` (safe for running "
            "exchanges) or `ssh-key generate --force` to replace it at once",
            on_page=f"Connection {record.conn_id!r} already has an SSH key; press “{PAGE_NEW_SSH_KEY}” on the "
            "Server configuration tab (safe for running exchanges)",
        )
    pair = _new_ssh_key(record, key_type)
    record.store("ssh_private_key", pair.private_key)
    record.store("ssh_private_key_passphrase", None)
    record.store("ssh_private_key_pending", None)
    return _public_only(pair)


def ssh_public_keys(record: ConnectionRecord) -> tuple[SshKeyPair | None, SshKeyPair | None]:
    """Return the active and the pending (rotating) public keys, private parts blanked.

    :param record: the connection.
    """
    active_text = record.stored("ssh_private_key")
    pending_text = record.stored("ssh_private_key_pending")
    active = describe_ssh_key(active_text, record.stored("ssh_private_key_passphrase")) if active_text else None
    pending = describe_ssh_key(pending_text) if pending_text else None
    return (_public_only(active) if active else None, _public_only(pending) if pending else None)


class RotationState(StrEnum):
    """Where an SSH key rotation stands after a step."""

    PENDING = "pending"  # a new key is offered beside the active one; install it on the server
    ACTIVE = "active"  # the new key replaced the old one


@dataclass(frozen=True)
class SshKeyRotation:
    """The outcome of one rotation step.

    :param state: pending (a new key was created) or active (the pending key was activated).
    :param key: the new key, public part only.
    """

    state: RotationState
    key: SshKeyPair

    def as_dict(self) -> dict[str, str]:
        return {"state": self.state.value, **self.key.public_view()}


def ssh_key_rotate(
    record: ConnectionRecord,
    key_type: SshKeyType = SshKeyType.ED25519,
    *,
    force: bool = False,
    restart: bool = False,
    timeout: float | None = None,
) -> SshKeyRotation:
    """One step of an SSH key rotation that never cuts off running exchanges.

    Without a pending key (or with ``restart``), a new pending key is created: both keys are offered
    until the rotation completes. With one, it becomes the active key once the server accepts it on its
    own (at once with ``force``) and the old key is dropped.

    :param record: the connection to change.
    :param key_type: the type of a new pending key.
    :param force: activate the pending key without asking the server.
    :param restart: discard a pending key and create a new one.
    :param timeout: seconds to ask the server (None: the connection's own timeouts).
    :raises RefusedError: there is no key to rotate, or the server does not accept the pending key yet.
    """
    if restart or not record.stored("ssh_private_key_pending"):
        return SshKeyRotation(RotationState.PENDING, _begin_rotation(record, key_type))
    if force or pending_key_authenticates(record, timeout=timeout):
        return SshKeyRotation(RotationState.ACTIVE, _activate_pending_key(record))
    raise RefusedError(
        "the server does not accept the pending key yet; install it in authorized_keys "
        f"(`actito-sftp ssh-key public {record.conn_id}` shows it) or use --force",
        on_page="the server does not accept the pending key yet: add the pending key's line (“Copy”) to the "
        "account's authorized_keys on the server, then press “Activate” again",
    )


def pending_key_authenticates(record: ConnectionRecord, *, timeout: float | None = None) -> bool:
    """Whether the server accepts the pending key on its own (the old key is not offered).

    :param record: the connection, with a pending key.
    :param timeout: seconds to ask the server (None: the connection's own timeouts).
    :raises ActitoSftpError: anything but a refused authentication (host key, network).
    """
    pending = record.stored("ssh_private_key_pending")
    if not pending:
        return False
    both = AuthType.SSH_KEY_AND_PASSWORD
    key_auth = both.value if record.extra.get("auth_type") == both else AuthType.SSH_KEY.value  # the password too
    trial = replace(
        record,
        extra={**record.extra, "ssh_private_key": pending, "ssh_private_key_pending": None, "auth_type": key_auth},
    )
    trial.store("ssh_private_key_passphrase", None)
    settings = within(validate(trial), timeout)

    async def attempt() -> None:
        async with hook_session(settings):
            pass

    try:
        run_on_server(attempt, timeout=timeout, address=f"{settings.host}:{settings.port}")
    except AuthenticationError:
        return False
    return True


def _begin_rotation(record: ConnectionRecord, key_type: SshKeyType) -> SshKeyPair:
    if not record.stored("ssh_private_key"):
        raise RefusedError(
            f"Connection {record.conn_id!r} has no SSH key to rotate; use `ssh-key generate`",
            on_page=f"Connection {record.conn_id!r} has no SSH key yet; press “{PAGE_NEW_SSH_KEY}”",
        )
    pair = _new_ssh_key(record, key_type)
    record.store("ssh_private_key_pending", pair.private_key)
    return _public_only(pair)


def _activate_pending_key(record: ConnectionRecord) -> SshKeyPair:
    pending = record.stored("ssh_private_key_pending")
    record.store("ssh_private_key", pending)
    record.store("ssh_private_key_pending", None)
    record.store("ssh_private_key_passphrase", None)
    return _public_only(describe_ssh_key(pending))


def _new_ssh_key(record: ConnectionRecord, key_type: SshKeyType) -> SshKeyPair:
    return generate_ssh_key(key_type, comment=f"actito-sftp:{record.conn_id}")


def _public_only(pair: SshKeyPair) -> SshKeyPair:
    return replace(pair, private_key="")


# --- inbound PGP keys -----------------------------------------------------------------------------


def pgp_key_generate(
    record: ConnectionRecord, key_type: PgpKeyType, *, expires: str, force: bool = False
) -> PgpKeyInfo:
    """Generate the inbound PGP key pair.

    :param record: the connection to change.
    :param key_type: the key type.
    :param expires: gpg expiry (``2y``, ``18m``, ``365d``, ``never``).
    :param force: replace existing keys (files encrypted to them become unreadable).
    :raises RefusedError: keys exist and ``force`` is not set (rotation keeps old keys able to decrypt).
    """
    if record.stored("inbound_pgp_private_keys") and not force:
        raise RefusedError(
            f"Connection {record.conn_id!r} already has inbound PGP keys; use `pgp-key rotate` "
            "(old keys keep decrypting files already encrypted to them)",
            on_page=f"Connection {record.conn_id!r} already has inbound PGP keys; press “Rotate” on the Inbound "
            "tab (old keys keep decrypting files already encrypted to them)",
        )
    armored, info = generate_inbound_key(record.conn_id, key_type, expires=expires)
    record.store("inbound_pgp_private_keys", armored)
    return info


def pgp_key_rotate(record: ConnectionRecord, key_type: PgpKeyType, *, expires: str) -> PgpKeyInfo:
    """Add a new inbound key (handed out from now on); older keys still decrypt until retired.

    :param record: the connection to change.
    :param key_type: the new key's type.
    :param expires: gpg expiry of the new key.
    """
    armored, info = add_inbound_key(
        record.conn_id, record.stored("inbound_pgp_private_keys"), key_type, expires=expires
    )
    record.store("inbound_pgp_private_keys", armored)
    return info


def pgp_key_retire(record: ConnectionRecord, fingerprints: list[str] | None) -> list[PgpKeyInfo]:
    """Remove old inbound keys (all but the newest, or the fingerprints given).

    :param record: the connection to change.
    :param fingerprints: the keys to remove; empty or None: all but the newest.
    :raises RefusedError: the connection has no inbound keys.
    """
    armored = record.stored("inbound_pgp_private_keys")
    if not armored:
        raise RefusedError(f"Connection {record.conn_id!r} has no inbound PGP keys")
    remaining, retired = retire_inbound_keys(armored, fingerprints or None)
    record.store("inbound_pgp_private_keys", remaining)
    return retired


def pgp_inbound_keys(record: ConnectionRecord) -> list[PgpKeyInfo]:
    """Describe the inbound keys, newest (handed out) first.

    :param record: the connection.
    """
    armored = record.stored("inbound_pgp_private_keys")
    return describe_secret_keys(armored) if armored else []


def pgp_public_key(record: ConnectionRecord) -> tuple[str, PgpKeyInfo]:
    """The armored public key partners must encrypt to (the newest inbound key).

    :param record: the connection.
    :raises RefusedError: the connection has no inbound key.
    """
    armored = record.stored("inbound_pgp_private_keys")
    if not armored:
        none = f"Connection {record.conn_id!r} has no inbound PGP key"
        raise RefusedError(
            f"{none}; run `actito-sftp pgp-key generate {record.conn_id}`",
            on_page=f"{none}; press “{PAGE_NEW_PGP_KEY}” on the Inbound tab",
        )
    return export_newest_public_key(armored)


# --- partner key ----------------------------------------------------------------------------------


def partner_key_set(record: ConnectionRecord, armored_public_key: str) -> tuple[PgpKeyInfo, str | None]:
    """Validate and store the partner's public key; return its description and an expiry warning.

    :param record: the connection to change.
    :param armored_public_key: exactly one armored public key that can encrypt.
    :raises PgpKeyError: a secret key, several keys, an expired, revoked or sign-only key, or garbage.
    :raises ConnectionConfigError: a text larger than the field allows (before gpg reads it).
    """
    check_length(BY_NAME["partner_pgp_public_key"], record.conn_id, armored_public_key)
    info = validate_partner_key(armored_public_key)
    record.store("partner_pgp_public_key", armored_public_key.strip() + "\n")
    return info, expiry_warning(info)


def partner_key_remove(record: ConnectionRecord) -> str | None:
    """Remove the partner's public key; return its fingerprint (None for a key that no longer validates, e.g.
    expired: it is removed all the same).

    Refused while outbound PGP encryption is on: that setting is never switched off here, so removing a key
    never makes uploads go out unencrypted; the user turns it off first, knowingly.

    :param record: the connection to change.
    :raises RefusedError: there is no partner key, or outbound PGP encryption is on.
    """
    armored = record.stored("partner_pgp_public_key")
    if not armored:
        raise RefusedError(f"Connection {record.conn_id!r} has no partner key to remove")
    if BY_NAME["outbound_pgp"].read(record.conn_id, record.stored("outbound_pgp")):
        refused = f"Connection {record.conn_id!r} encrypts uploads to the partner key: turn off"
        raise RefusedError(
            f"{refused} outbound PGP encryption first (`actito-sftp policy {record.conn_id} --no-outbound-pgp`); "
            "nothing was removed",
            on_page=f"{refused} “{PAGE_ENCRYPT_UPLOADS}” on the Outbound tab first; nothing was removed",
        )
    record.store("partner_pgp_public_key", None)
    try:
        return validate_partner_key(armored).fingerprint
    except PgpKeyError:
        return None


def partner_key_info(record: ConnectionRecord) -> PgpKeyInfo | None:
    """Describe the stored partner key (None if none is set).

    :param record: the connection.
    """
    armored = record.stored("partner_pgp_public_key")
    return validate_partner_key(armored) if armored else None
