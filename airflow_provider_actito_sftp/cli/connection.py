"""``actito-sftp connection``: create, show, update, test and delete connections.

The flags of the connection's own fields are generated from the schema (general and server screens;
``update`` adds the advanced screen). The secret password is read from stdin, never from a flag.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from airflow_provider_actito_sftp import management
from airflow_provider_actito_sftp.cli import app, render
from airflow_provider_actito_sftp.connection.audit import Change
from airflow_provider_actito_sftp.connection.commands import CREATE_SCREENS, UPDATE_SCREENS
from airflow_provider_actito_sftp.connection.schema import AuthType, editable_fields
from airflow_provider_actito_sftp.exceptions import ConnectionConfigError
from airflow_provider_actito_sftp.ssh.key_type import SshKeyType

if TYPE_CHECKING:
    from airflow_provider_actito_sftp.management import HostKeyOffer, HostKeyPin


_password_stdin_option = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password (--auth-type password or ssh_key_and_password) from the first line of stdin.",
)


def _host_key_options(verb: str) -> Callable[[app.Function], app.Function]:
    """--accept-host-key, --trust-on-first-use and --timeout, for commands that (re-)pin the host key.

    :param verb: "Pin" or "Re-pin", for the help texts.
    """
    accept = click.option(
        "--accept-host-key",
        metavar="SHA256:...",
        help=f"{verb} the server's host key if it has this fingerprint (the SHA256: prefix may be left out).",
    )
    trust = click.option(
        "--trust-on-first-use", is_flag=True, help=f"{verb} whatever host key the server presents (logged)."
    )
    timeout = click.option(
        "--timeout", type=float, default=30.0, show_default=True, help="Seconds to reach the server for its host key."
    )
    return lambda function: accept(trust(timeout(function)))


@app.cli.group()
def connection() -> None:
    """Create, show, update, test and delete connections."""


@connection.command(
    "create",
    epilog=app.example(
        "actito-sftp connection create acme_sftp --entity acme --host sftp.acme.example --username actito \\",
        "    --location inbound=/upload/in --accept-host-key SHA256:<fingerprint the partner gave you>",
    ),
)
@app.conn_id_argument
@app.field_options(editable_fields(*CREATE_SCREENS, creating=True), create=True)
@_password_stdin_option
@click.option(
    "--ssh-key-type",
    type=click.Choice([t.value for t in SshKeyType]),
    default="ed25519",
    show_default=True,
    help="Our key pair (SSH key authentication): ed25519, or rsa (4096 bits) for servers that predate ed25519.",
)
@click.option("--location", "locations", multiple=True, metavar="NAME=/PATH", help="A location; repeatable.")
@_host_key_options("Pin")
@app.json_option
def connection_create(
    conn_id: str,
    password_stdin: bool,
    ssh_key_type: str,
    locations: tuple[str, ...],
    accept_host_key: str | None,
    trust_on_first_use: bool,
    timeout: float,
    as_json: bool,
    **values: Any,
) -> None:
    """Create connection CONN_ID, pin the server's host key and (SSH key authentication) generate our key pair."""
    fields = app.given(values)
    if password_stdin:
        fields["password"] = app.read_password()
    if AuthType(fields["auth_type"]).uses_password and not fields.get("password"):
        app.fail(f"--auth-type {fields['auth_type']} needs --password-stdin")
    created = management.create_connection(
        app.store(),
        conn_id,
        fields,
        expected_fingerprint=accept_host_key,
        trust_on_first_use=trust_on_first_use,
        ssh_key_type=SshKeyType(ssh_key_type),
        locations=dict(_location_spec(spec) for spec in locations),
        timeout=timeout,
        on_offer=_list_host_keys,
    )
    _warn_trusted(created.pin)
    app.emit(created.as_dict(), as_json, render.created)


def _location_spec(spec: str) -> tuple[str, str]:
    """``--location NAME=/PATH`` as (name, path)."""
    name, _, path = spec.partition("=")
    return name, path


def _warn_trusted(pin: HostKeyPin) -> None:
    if pin.trusted_on_first_use:
        app.note(f"WARNING: trusting {pin.fingerprint} on first use, without out-of-band verification")


def _list_host_keys(offer: HostKeyOffer) -> None:
    """Show every host key the server holds, before the confirmed one is pinned (or all are refused)."""
    keys = "host key" if len(offer.keys) == 1 else "host keys"
    app.note(f"Server {offer.host}:{offer.port} presents {keys} {offer.listing()}")


@connection.command("show", epilog=app.example("actito-sftp connection show acme_sftp --json"))
@app.conn_id_argument
@app.json_option
def connection_show(conn_id: str, as_json: bool) -> None:
    """Show a connection (public keys, fingerprints, locations, policies; never secrets)."""
    app.emit(management.describe(app.load(conn_id)), as_json, render.description)


@connection.command(
    "update", epilog=app.example("actito-sftp connection update acme_sftp --display-name 'ACME (prod)' --port 2222")
)
@app.conn_id_argument
@app.field_options(editable_fields(*UPDATE_SCREENS))
@_password_stdin_option
@_host_key_options("Re-pin")
@app.secrets_file_option
def connection_update(
    conn_id: str,
    password_stdin: bool,
    accept_host_key: str | None,
    trust_on_first_use: bool,
    timeout: float,
    secrets_file: Path | None,
    **values: Any,
) -> None:
    """Change connection details; re-pin the host key with --accept-host-key.

    Switching to SSH key authentication (--auth-type ssh_key) removes the stored password; to ssh_key or
    ssh_key_and_password, on a connection without an SSH key, generates one.
    """
    fields = app.given(values)
    details: dict[str, Any] = {}
    try:
        with app.editing(conn_id, secrets_file, Change.UPDATE, details) as record:
            if password_stdin:
                fields["password"] = app.read_password()
            update = management.update_fields(record, fields)
            if update.password_removed:
                app.say("The password was removed: SSH key authentication does not use it.")
            if update.generated_ssh_key:
                pair = update.generated_ssh_key
                app.say(f"Generated an SSH key; install it in authorized_keys:\n{pair.public_line}")
            if accept_host_key or trust_on_first_use:
                pin = management.repin_host_key(
                    record,
                    expected_fingerprint=accept_host_key,
                    trust_on_first_use=trust_on_first_use,
                    timeout=timeout,
                    on_offer=_list_host_keys,
                )
                _warn_trusted(pin)
                details["trusted_on_first_use"] = pin.trusted_on_first_use
            elif {"host", "port"} & set(update.changed):
                app.say("Note: host/port changed but the pinned host key was kept; re-pin with --accept-host-key.")
    except ConnectionConfigError as e:
        if e.field != "password":
            raise
        app.fail(f"{e}: pass it with --password-stdin")  # a stored password never follows a move on its own
    app.say(f"Updated connection {conn_id!r}.")


@connection.command("test", epilog=app.example("actito-sftp connection test acme_sftp"))
@app.conn_id_argument
def connection_test(conn_id: str) -> None:
    """Connect, check the host key, authenticate and check every location."""
    from airflow_provider_actito_sftp.hooks import ActitoSftpHook  # imports Airflow's hook machinery

    ok, message = ActitoSftpHook(conn_id).test_connection()
    if not ok:
        app.fail(message)
    app.say(f"OK: {message}")


@connection.command("delete", epilog=app.example("actito-sftp connection delete acme_sftp --yes"))
@app.conn_id_argument
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def connection_delete(conn_id: str, yes: bool) -> None:
    """Delete a connection with all its key material and its import ledger / delivery log Variables."""
    app.load(conn_id)
    if not yes and not click.confirm(f"Delete connection {conn_id!r} and all its SSH and PGP keys?", default=False):
        app.fail("not confirmed; nothing was deleted")
    removed = management.delete_connection(app.store(), conn_id)
    app.say(
        f"Deleted connection {conn_id!r} with {removed.ssh_keys} SSH key(s) and {removed.pgp_keys} inbound PGP "
        f"key(s), and {removed.ledger_variables} ledger Variable(s)."
    )
