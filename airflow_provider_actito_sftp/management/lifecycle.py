"""A connection's life: created (host key pinned, key generated), edited, checked on the server, deleted.

These are the decisions behind the page's and the CLI's ``connection create``, ``test`` and ``delete``: which ids
are allowed, what a test checks, and what a deletion removes
(the connection with all its key material, and the transfer ledgers kept in Airflow Variables).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from airflow_provider_actito_sftp.connection.store import ConnectionRecord, ConnectionStore
from airflow_provider_actito_sftp.exceptions import (
    ActitoSftpError,
    ConnectionConfigError,
    ConnectionExistsError,
    ConnectionNotWritableError,
)
from airflow_provider_actito_sftp.hooks.actito_sftp import ActitoSftpHook
from airflow_provider_actito_sftp.hooks.server_checks import Check, ServerChecks
from airflow_provider_actito_sftp.management.config import FieldUpdate, location_set, new_connection
from airflow_provider_actito_sftp.management.host_keys import (
    HostKeyOffer,
    HostKeyPin,
    fetch_host_key_offer,
    offered_algorithms,
    pin_host_key,
)
from airflow_provider_actito_sftp.management.keys import pgp_inbound_keys
from airflow_provider_actito_sftp.management.on_server import hook_session, run_on_server, within
from airflow_provider_actito_sftp.management.validation import validate
from airflow_provider_actito_sftp.ssh.key_type import SshKeyType

CONN_ID_MAX_LENGTH = 250  # Airflow's limit


def check_conn_id(conn_id: str) -> str:
    """Return ``conn_id`` if Airflow accepts it as a connection id (its characters, at most 250 of them).

    :param conn_id: the proposed id.
    :raises ConnectionConfigError: field ``conn_id``, with what is allowed.
    """
    from airflow.models.connection import sanitize_conn_id

    if not isinstance(conn_id, str) or sanitize_conn_id(conn_id, CONN_ID_MAX_LENGTH) != conn_id:
        raise ConnectionConfigError(
            str(conn_id),
            "conn_id",
            f"use 1 to {CONN_ID_MAX_LENGTH} letters, digits and the characters _ - . : / \\ # ! ( )",
        )
    return conn_id


@dataclass(frozen=True)
class Created:
    """A new connection, saved.

    :param record: the connection (holds secrets: never return it whole).
    :param pin: the pinned host key.
    :param update: the fields set, with the generated SSH key (public part) if any.
    """

    record: ConnectionRecord
    pin: HostKeyPin
    update: FieldUpdate

    def as_dict(self) -> dict[str, Any]:
        """The public outcome: id, host key fingerprint, the generated SSH public key (or None)."""
        pair = self.update.generated_ssh_key
        return {
            "conn_id": self.record.conn_id,
            "host_key_fingerprint": self.pin.fingerprint,
            "ssh_key": pair.public_view() if pair else None,
        }


def create_connection(
    store: ConnectionStore,
    conn_id: str,
    values: Mapping[str, Any],
    *,
    expected_fingerprint: str | None,
    trust_on_first_use: bool = False,
    ssh_key_type: SshKeyType = SshKeyType.ED25519,
    locations: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    on_offer: Callable[[HostKeyOffer], None] | None = None,
) -> Created:
    """Create a connection: check the id, set the fields, fetch and pin the host key, generate our key, save.

    Nothing is saved if any step is refused.

    :param store: where to save it.
    :param conn_id: the new id (Airflow's characters; unused).
    :param values: field name -> value, as for :func:`update_fields`.
    :param expected_fingerprint: the host key fingerprint the partner gave; the server must present it.
    :param trust_on_first_use: without ``expected_fingerprint``, pin whatever the server presents.
    :param ssh_key_type: the type of our SSH key (SSH key authentication).
    :param locations: location name -> absolute folder (not checked on the server: it may not exist yet).
    :param timeout: seconds to reach the server for its host key.
    :param on_offer: shown every host key the server presents, before one is pinned (the CLI lists them).
    :raises ConnectionExistsError: the id is taken.
    :raises RefusedError: a refused value or an unconfirmed / mismatching host key.
    :raises ConnectionConfigError: an invalid id or value.
    :raises RemoteConnectError: the server's host key could not be fetched.
    """
    check_conn_id(conn_id)
    if store.exists(conn_id):
        raise ConnectionExistsError(
            f"Connection {conn_id!r} already exists; use `actito-sftp connection update {conn_id}`",
            on_page=f"Connection {conn_id!r} already exists; choose another technical name",
        )
    record, update = new_connection(conn_id, values, ssh_key_type=ssh_key_type)
    for name, path in (locations or {}).items():
        location_set(record, name, path, must_exist=False)
    validate_without_host_key(record)
    algorithms = offered_algorithms(record)
    offer = fetch_host_key_offer(record.host or "", record.port or 22, timeout=timeout, algorithms=algorithms)
    if on_offer is not None:
        on_offer(offer)
    pin = pin_host_key(record, offer, expected=expected_fingerprint, trust_on_first_use=trust_on_first_use)
    validate(record)
    store.create(record, details={"trusted_on_first_use": pin.trusted_on_first_use})
    return Created(record, pin, update)


def validate_without_host_key(record: ConnectionRecord) -> None:
    """Validate every field but the host key pin (not fetched yet), so nothing reaches the network in vain.

    :param record: a new connection.
    :raises ConnectionConfigError: a field is missing or invalid.
    """
    try:
        validate(record)
    except ConnectionConfigError as e:
        if e.field != "host_key":
            raise


def repin_host_key(
    record: ConnectionRecord,
    *,
    expected_fingerprint: str | None,
    trust_on_first_use: bool = False,
    timeout: float | None = None,
    on_offer: Callable[[HostKeyOffer], None] | None = None,
) -> HostKeyPin:
    """Fetch the server's host key again and pin it if confirmed (as on creation).

    :param record: the connection to change (in memory).
    :param expected_fingerprint: the fingerprint the partner gave.
    :param trust_on_first_use: pin whatever the server presents.
    :param timeout: seconds to reach the server (default: the connection's connect_timeout, if shorter).
    :param on_offer: shown every host key the server presents, before one is pinned.
    :raises RefusedError: mismatching or unconfirmed.
    :raises RemoteConnectError: the host key could not be fetched.
    """
    settings = within(validate(record), timeout)
    offer = fetch_host_key_offer(
        settings.host, settings.port, timeout=settings.advanced.connect_timeout, algorithms=offered_algorithms(record)
    )
    if on_offer is not None:
        on_offer(offer)
    return pin_host_key(record, offer, expected=expected_fingerprint, trust_on_first_use=trust_on_first_use)


# --- checks on the server -------------------------------------------------------------------------


def check_location(record: ConnectionRecord, name: str, *, timeout: float | None = None) -> None:
    """Check on the server that a location's folder exists and can be listed.

    :param record: the connection (as changed in memory).
    :param name: the location's name.
    :param timeout: seconds for the whole check (None: the connection's own timeouts).
    :raises ActitoSftpError: the folder is missing or unreadable, or the server cannot be used.
    """
    settings = within(validate(record), timeout)

    async def attempt() -> None:
        async with hook_session(settings) as session:
            await session.check_location(name)

    run_on_server(attempt, timeout=timeout, address=f"{settings.host}:{settings.port}")


def connection_checks(record: ConnectionRecord, *, timeout: float | None = None) -> list[Check]:
    """Connect, verify the host key, authenticate and check every location: one line each (the hook's
    :class:`~airflow_provider_actito_sftp.hooks.server_checks.ServerChecks`, bounded in time).

    :param record: the connection.
    :param timeout: seconds for the whole test (None: the connection's own timeouts); a step still running
        then fails with that reason, and the steps after it are not checked.
    :raises ConnectionConfigError: the connection does not validate.
    """
    settings = within(validate(record), timeout)
    checks = ServerChecks(settings)
    hook = ActitoSftpHook.for_settings(settings)
    try:
        return run_on_server(lambda: checks.run(hook), timeout=timeout, address=f"{settings.host}:{settings.port}")
    except ActitoSftpError as e:  # the whole test ran out of time: the step it was on fails with that reason
        return checks.interrupted(e)


# --- deletion -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Removed:
    """What a deletion removed.

    :param connection: the connection id.
    :param ssh_keys: our SSH keys (active and pending, as stored).
    :param pgp_keys: our inbound PGP keys.
    :param ledger_variables: the Airflow Variables of its import ledgers and delivery logs.
    """

    connection: str
    ssh_keys: int
    pgp_keys: int
    ledger_variables: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def delete_connection(store: ConnectionStore, conn_id: str) -> Removed:
    """Delete a connection (all its key material is in it) and the Variables of its transfer state (its
    keep-mode ledgers and export delivery logs, exactly its own), in one transaction, with an audit log entry.

    :param store: the connection store (its session, if it has one, is left for the caller to commit).
    :param conn_id: the connection to delete.
    :raises ConnectionNotFoundError: there is no such connection.
    :raises ConnectionNotWritableError: it lives outside the metadata DB (nothing is deleted).
    """
    with store.transaction() as bound:
        record = bound.get(conn_id)
        if not record.in_metadata_db:
            raise ConnectionNotWritableError(record)
        ssh_keys = sum(1 for name in ("ssh_private_key", "ssh_private_key_pending") if record.stored(name))
        removed = Removed(conn_id, ssh_keys, _count_pgp_keys(record), bound.delete_transfer_state(conn_id))
        bound.delete(conn_id, details={"removed": removed.as_dict()})
    return removed


def _count_pgp_keys(record: ConnectionRecord) -> int:
    """How many inbound PGP keys the record holds; keys gpg cannot read count as one (they go anyway)."""
    if not record.stored("inbound_pgp_private_keys"):
        return 0
    try:
        return len(pgp_inbound_keys(record))
    except ActitoSftpError:
        return 1
