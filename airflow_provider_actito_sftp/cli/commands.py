"""``actito-sftp``: the platform team's command line for connections, keys, locations and policies.

It works against the configured Airflow metadata DB (like the ``airflow`` CLI). Data commands accept
``--json``. Failures print one line on stderr and exit 1; a change to a connection that lives outside the
DB exits 3 after writing what to store instead to a 0600 file. Secrets are never printed.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any, NoReturn

import click

from airflow_provider_actito_sftp.exceptions import ActitoSftpError
from airflow_provider_actito_sftp.pgp.keys import PgpKeyInfo, PgpKeyType
from airflow_provider_actito_sftp.ssh.keys import SshKeyPair, SshKeyType

log = logging.getLogger("airflow_provider_actito_sftp.cli")

EXIT_FAILURE = 1
EXIT_NOT_SAVED = 3


def _fail(message: str) -> NoReturn:
    click.echo(f"actito-sftp: error: {message}", err=True)
    sys.exit(EXIT_FAILURE)


def _say(text: str) -> None:
    """Print a result on the real stdout (library logging is redirected to stderr while a command runs)."""
    context = click.get_current_context(silent=True)
    stream = context.find_root().obj if context is not None and context.find_root().obj else sys.stdout
    click.echo(text, file=stream)


class _Command(click.Command):
    """Runs with results on stdout and everything else (library logging included) on stderr."""

    def invoke(self, ctx: click.Context) -> Any:
        ctx.find_root().obj = sys.stdout
        with redirect_stdout(sys.stderr):
            return super().invoke(ctx)


class _Group(click.Group):
    """Turns the provider's expected errors into one-line messages and exit code 1."""

    command_class = _Command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ActitoSftpError, ValueError) as e:
            _fail(str(e))


def _store() -> Any:
    from airflow_provider_actito_sftp.connection.store import ConnectionStore

    return ConnectionStore()


@contextmanager
def _editing(conn_id: str, secrets_file: Path | None = None) -> Iterator[Any]:
    """Load a connection, let the command change it, validate and save it (or export it if read-only)."""
    from airflow_provider_actito_sftp import management
    from airflow_provider_actito_sftp.connection.store import export_for_external_store

    record = _store().get(conn_id)
    target = secrets_file or Path(f"{conn_id}.connection.json")
    if not record.in_metadata_db and target.exists():
        _fail(f"{target} exists already (from an earlier run?); move it away or pass --secrets-file")
    yield record
    management.validate(record)
    if record.in_metadata_db:
        _store().save(record)
        return
    public = export_for_external_store(record, target)
    click.echo(
        f"NOT SAVED: connection {conn_id!r} lives in an environment variable or secrets backend, which this "
        "tool cannot write.\nStore the complete connection JSON written to "
        f"{target} (mode 0600, it contains secrets) as AIRFLOW_CONN_{conn_id.upper()} or in your secrets "
        "backend, then delete the file. Its public part:",
        err=True,
    )
    _say(json.dumps(public, indent=2))
    sys.exit(EXIT_NOT_SAVED)


def _emit(data: Any, as_json: bool, render: Callable[[Any], str]) -> None:
    _say(json.dumps(data, indent=2, default=str) if as_json else render(data))


_json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
_secrets_file_option = click.option(
    "--secrets-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the connection JSON (0600) if it lives outside the metadata DB.",
)


@click.group(cls=_Group)
@click.option("-v", "--verbose", is_flag=True, help="Log connection details (never secrets).")
def cli(verbose: bool) -> None:
    """Manage Actito SFTP connections: keys, host key pin, locations, policies."""
    _configure_logging(verbose)


# --- connection -----------------------------------------------------------------------------------


@cli.group(cls=_Group)
def connection() -> None:
    """Create, show, update, test and delete connections."""


def _pin_from_server(
    record: Any, host: str, port: int, accept_host_key: str | None, trust_on_first_use: bool, timeout: float
) -> str:
    from airflow_provider_actito_sftp import management
    from airflow_provider_actito_sftp.ssh.host_keys import fingerprint

    key = management.fetch_server_host_key(host, port, timeout=timeout)
    offered = fingerprint(key)
    click.echo(f"Server {host}:{port} presents host key {offered} ({key.get_algorithm()})", err=True)
    if accept_host_key:
        if accept_host_key.strip() != offered:
            _fail(
                f"host key mismatch: expected {accept_host_key.strip()}, the server presents {offered}; "
                "nothing was saved"
            )
    elif trust_on_first_use:
        log.warning("Trust on first use: pinning host key %s of %s:%s without verification", offered, host, port)
        click.echo(f"WARNING: trusting {offered} on first use, without out-of-band verification", err=True)
    else:
        _fail(
            f"confirm this fingerprint with the partner, then re-run with --accept-host-key {offered} "
            "(or --trust-on-first-use); nothing was saved"
        )
    return management.pin_host_key(record, key)


@connection.command("create")
@click.argument("name")
@click.option("--entity", required=True, help="The entity this integration belongs to.")
@click.option("--host", required=True)
@click.option("--port", type=click.IntRange(1, 65535), default=22, show_default=True)
@click.option("--username", required=True)
@click.option("--auth", "auth_type", type=click.Choice(["ssh_key", "password"]), default="ssh_key", show_default=True)
@click.option("--display-name", help="Human-friendly name (default: NAME).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--ssh-key-type", type=click.Choice([t.value for t in SshKeyType]), default="ed25519", show_default=True)
@click.option("--location", "locations", multiple=True, metavar="NAME=/PATH", help="A location; repeatable.")
@click.option("--accept-host-key", metavar="SHA256:...", help="Pin the server's host key if it has this fingerprint.")
@click.option("--trust-on-first-use", is_flag=True, help="Pin whatever host key the server presents (logged).")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds to reach the server.")
@_json_option
def connection_create(
    name: str,
    entity: str,
    host: str,
    port: int,
    username: str,
    auth_type: str,
    display_name: str | None,
    password_stdin: bool,
    ssh_key_type: str,
    locations: tuple[str, ...],
    accept_host_key: str | None,
    trust_on_first_use: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Create connection NAME, pin the server's host key and (ssh_key auth) generate our key pair."""
    from airflow_provider_actito_sftp import management
    from airflow_provider_actito_sftp.connection.store import ConnectionRecord

    store = _store()
    if store.exists(name):
        _fail(f"connection {name!r} already exists; use `actito-sftp connection update {name}`")
    password = _read_password() if password_stdin else None
    if auth_type == "password" and not password:
        _fail("--auth password needs --password-stdin")
    record = ConnectionRecord(
        conn_id=name,
        host=host,
        port=port,
        login=username,
        password=password,
        extra={"display_name": display_name or name, "entity": entity, "auth_type": auth_type, "locations": {}},
    )
    for spec in locations:
        location_name, _, path = spec.partition("=")
        management.location_set(record, location_name, path, must_exist=False)
    pinned = _pin_from_server(record, host, port, accept_host_key, trust_on_first_use, timeout)
    pair = management.ssh_key_generate(record, SshKeyType(ssh_key_type)) if auth_type == "ssh_key" else None
    management.validate(record)
    store.create(record)
    result = {"created": name, "host_key_fingerprint": pinned}
    if pair:
        result.update(ssh_public_key=pair.public_line, ssh_key_fingerprint=pair.fingerprint)
    _emit(result, as_json, lambda data: _render_created(data))


def _render_created(data: dict[str, Any]) -> str:
    lines = [f"Created connection {data['created']!r}; pinned host key {data['host_key_fingerprint']}."]
    if data.get("ssh_public_key"):
        lines += [
            "Install this public key in the server's authorized_keys:",
            data["ssh_public_key"],
            f"(fingerprint {data['ssh_key_fingerprint']})",
        ]
    return "\n".join(lines)


@connection.command("show")
@click.argument("name")
@_json_option
def connection_show(name: str, as_json: bool) -> None:
    """Show a connection (public keys, fingerprints, locations, policies; never secrets)."""
    from airflow_provider_actito_sftp import management

    _emit(management.describe(_store().get(name)), as_json, _render_description)


def _render_description(data: dict[str, Any]) -> str:
    lines = [
        f"{data['technical_name']}  ({data['display_name']}, entity {data['entity']})",
        f"  server:      {data['username']}@{data['host']}:{data['port']} ({data['auth_type']} auth)",
        f"  host key:    {', '.join(data['host_keys']) or 'NOT PINNED'}",
        f"  stored in:   {data['stored_in']}",
    ]
    if data["ssh_public_key"]:
        lines.append(f"  ssh key:     {data['ssh_key_fingerprint']}")
    if data["ssh_pending_public_key"]:
        lines.append("  ssh key:     a rotated key is pending activation")
    lines.append("  locations:   " + (", ".join(f"{k}={v}" for k, v in data["locations"].items()) or "none"))
    inbound = data["inbound"]
    lines.append(f"  inbound:     PGP {'required' if inbound['pgp_required'] else 'optional'}")
    for key in inbound["pgp_keys"]:
        lines.append(
            f"               key {key['fingerprint']} ({key['algorithm']}, expires {key['expires'] or 'never'})"
        )
    outbound = data["outbound"]
    lock = f"lock {outbound['lock_suffix']}" if outbound["lock"] else "no lock"
    lines.append(f"  outbound:    {lock}, PGP {'on' if outbound['pgp'] else 'off'}")
    partner = outbound["partner_key"]
    if partner:
        lines.append(f"               partner key {partner.get('fingerprint') or partner.get('error')}")
    lines += [f"  WARNING:     {warning}" for warning in data["warnings"]]
    return "\n".join(lines)


@connection.command("update")
@click.argument("name")
@click.option("--display-name")
@click.option("--entity")
@click.option("--host")
@click.option("--port", type=click.IntRange(1, 65535))
@click.option("--username")
@click.option("--auth", "auth_type", type=click.Choice(["ssh_key", "password"]))
@click.option("--password-stdin", is_flag=True, help="Read a new password from the first line of stdin.")
@click.option("--accept-host-key", metavar="SHA256:...", help="Re-pin the host key if it has this fingerprint.")
@click.option("--trust-on-first-use", is_flag=True, help="Re-pin whatever host key the server presents (logged).")
@click.option("--timeout", type=float, default=30.0, show_default=True)
@_secrets_file_option
def connection_update(
    name: str,
    display_name: str | None,
    entity: str | None,
    host: str | None,
    port: int | None,
    username: str | None,
    auth_type: str | None,
    password_stdin: bool,
    accept_host_key: str | None,
    trust_on_first_use: bool,
    timeout: float,
    secrets_file: Path | None,
) -> None:
    """Change connection details; re-pin the host key with --accept-host-key."""
    from airflow_provider_actito_sftp import management

    with _editing(name, secrets_file) as record:
        record.host = host or record.host
        record.port = port or record.port
        record.login = username or record.login
        if password_stdin:
            record.password = _read_password()
        for key, value in (("display_name", display_name), ("entity", entity), ("auth_type", auth_type)):
            if value is not None:
                record.extra[key] = value
        if auth_type == "ssh_key" and not record.extra.get("ssh_private_key"):
            pair = management.ssh_key_generate(record, SshKeyType.ED25519)
            _say(f"Generated an SSH key; install it in authorized_keys:\n{pair.public_line}")
        if accept_host_key or trust_on_first_use:
            _pin_from_server(record, record.host, record.port or 22, accept_host_key, trust_on_first_use, timeout)
        elif host or port:
            _say("Note: host/port changed but the pinned host key was kept; re-pin with --accept-host-key.")
    _say(f"Updated connection {name!r}.")


@connection.command("test")
@click.argument("name")
def connection_test(name: str) -> None:
    """Connect, check the host key, authenticate and check every location."""
    from airflow_provider_actito_sftp.hooks import ActitoSftpHook

    ok, message = ActitoSftpHook(name).test_connection()
    if not ok:
        _fail(message)
    _say(f"OK: {message}")


@connection.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def connection_delete(name: str, yes: bool) -> None:
    """Delete a connection with all its key material."""
    store = _store()
    store.get(name)
    if not yes and not click.confirm(f"Delete connection {name!r} and all its SSH and PGP keys?", default=False):
        _fail("not confirmed; nothing was deleted")
    store.delete(name)
    _say(f"Deleted connection {name!r} and its key material.")


# --- ssh-key --------------------------------------------------------------------------------------


@cli.group("ssh-key", cls=_Group)
def ssh_key() -> None:
    """Our SSH key pair: generate, show the public key, rotate."""


def _ssh_key_type_option() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--type", "key_type", type=click.Choice([t.value for t in SshKeyType]), default="ed25519", show_default=True
    )


def _pair_dict(pair: SshKeyPair) -> dict[str, str]:
    return {"public_key": pair.public_line, "fingerprint": pair.fingerprint}


@ssh_key.command("generate")
@click.argument("name")
@_ssh_key_type_option()
@click.option("--force", is_flag=True, help="Replace an existing key at once (cuts off the old key).")
@_json_option
@_secrets_file_option
def ssh_key_generate(name: str, key_type: str, force: bool, as_json: bool, secrets_file: Path | None) -> None:
    """Generate the SSH key pair; print the authorized_keys line."""
    from airflow_provider_actito_sftp import management

    with _editing(name, secrets_file) as record:
        pair = management.ssh_key_generate(record, SshKeyType(key_type), force=force)
    _emit(_pair_dict(pair), as_json, lambda data: f"{data['public_key']}\n# fingerprint {data['fingerprint']}")


@ssh_key.command("public")
@click.argument("name")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write a .pub file.")
@_json_option
def ssh_key_public(name: str, output: Path | None, as_json: bool) -> None:
    """Print the public key (an authorized_keys line)."""
    from airflow_provider_actito_sftp import management

    active, pending = management.ssh_public_keys(_store().get(name))
    if active is None:
        _fail(f"connection {name!r} has no SSH key; run `actito-sftp ssh-key generate {name}`")
    if output:
        output.write_text(active.public_line + "\n")
        click.echo(f"Wrote {output}", err=True)
    data = {**_pair_dict(active), "pending": _pair_dict(pending) if pending else None}
    _emit(data, as_json, lambda d: d["public_key"] + (f"\n{d['pending']['public_key']}" if d["pending"] else ""))


@ssh_key.command("rotate")
@click.argument("name")
@_ssh_key_type_option()
@click.option("--force", is_flag=True, help="Activate the pending key without checking the server accepts it.")
@click.option("--restart", is_flag=True, help="Discard a pending key and create a new one.")
@_json_option
@_secrets_file_option
def ssh_key_rotate(
    name: str, key_type: str, force: bool, restart: bool, as_json: bool, secrets_file: Path | None
) -> None:
    """Rotate without cutting off running exchanges.

    The first run creates a pending key: install its public line on the server. Both keys are offered
    meanwhile. The next run activates it once the server accepts it (or at once with --force).
    """
    from airflow_provider_actito_sftp import management

    with _editing(name, secrets_file) as record:
        if restart or not record.extra.get("ssh_private_key_pending"):
            pair = management.ssh_key_rotate_begin(record, SshKeyType(key_type))
            data = {"state": "pending", **_pair_dict(pair)}
            message = (
                "New key pending. Add this line to the server's authorized_keys, then run "
                f"`actito-sftp ssh-key rotate {name}` again to activate it:\n{pair.public_line}"
            )
        elif force or management.pending_key_authenticates(record):
            pair = management.ssh_key_rotate_activate(record)
            data = {"state": "active", **_pair_dict(pair)}
            message = f"Activated {pair.fingerprint}; the old key is no longer used and can be removed from the server."
        else:
            _fail(
                "the server does not accept the pending key yet; install it in authorized_keys "
                f"(`actito-sftp ssh-key public {name}` shows it) or use --force"
            )
    _emit(data, as_json, lambda _: message)


# --- pgp-key --------------------------------------------------------------------------------------


@cli.group("pgp-key", cls=_Group)
def pgp_key() -> None:
    """Our inbound PGP keys: partners encrypt to the public key, we decrypt."""


def _pgp_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option(
        "--type", "key_type", type=click.Choice([t.value for t in PgpKeyType]), default="ed25519", show_default=True
    )(function)
    return click.option("--expires", default="2y", show_default=True, help="gpg expiry (2y, 18m, 365d, never).")(
        function
    )


def _render_pgp(info: PgpKeyInfo) -> str:
    expires = f"{info.expires:%Y-%m-%d}" if info.expires else "never"
    return f"{info.fingerprint}  {info.algorithm}  created {info.created:%Y-%m-%d}  expires {expires}"


@pgp_key.command("generate")
@click.argument("name")
@_pgp_options
@click.option("--force", is_flag=True, help="Replace existing keys (files encrypted to them become unreadable).")
@_json_option
@_secrets_file_option
def pgp_key_generate(
    name: str, key_type: str, expires: str, force: bool, as_json: bool, secrets_file: Path | None
) -> None:
    """Generate the inbound PGP key pair."""
    from airflow_provider_actito_sftp import management

    with _editing(name, secrets_file) as record:
        info = management.pgp_key_generate(record, PgpKeyType(key_type), expires=expires, force=force)
    _emit(
        info.as_dict(),
        as_json,
        lambda _: f"Generated {_render_pgp(info)}\nGive partners: actito-sftp pgp-key public {name}",
    )


@pgp_key.command("public")
@click.argument("name")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write an .asc file.")
@_json_option
def pgp_key_public(name: str, output: Path | None, as_json: bool) -> None:
    """Print the armored public key partners must encrypt to (the newest key)."""
    from airflow_provider_actito_sftp import management

    armored, info = management.pgp_public_key(_store().get(name))
    if output:
        output.write_text(armored)
        click.echo(f"Wrote {output} ({info.fingerprint})", err=True)
    _emit({**info.as_dict(), "public_key": armored}, as_json, lambda _: armored.rstrip())


@pgp_key.command("list")
@click.argument("name")
@_json_option
def pgp_key_list(name: str, as_json: bool) -> None:
    """List inbound keys, newest (handed out) first."""
    from airflow_provider_actito_sftp import management

    infos = management.pgp_inbound_keys(_store().get(name))
    _emit([info.as_dict() for info in infos], as_json, lambda _: "\n".join(_render_pgp(i) for i in infos) or "none")


@pgp_key.command("rotate")
@click.argument("name")
@_pgp_options
@_json_option
@_secrets_file_option
def pgp_key_rotate(name: str, key_type: str, expires: str, as_json: bool, secrets_file: Path | None) -> None:
    """Add a new inbound key; older keys keep decrypting files in flight until retired."""
    from airflow_provider_actito_sftp import management

    with _editing(name, secrets_file) as record:
        info = management.pgp_key_rotate(record, PgpKeyType(key_type), expires=expires)
    _emit(
        info.as_dict(),
        as_json,
        lambda _: (
            f"New key {_render_pgp(info)}\nOlder keys still decrypt; retire them with "
            f"`actito-sftp pgp-key retire {name}` once partners use the new key."
        ),
    )


@pgp_key.command("retire")
@click.argument("name")
@click.argument("fingerprints", nargs=-1)
@_json_option
@_secrets_file_option
def pgp_key_retire(name: str, fingerprints: tuple[str, ...], as_json: bool, secrets_file: Path | None) -> None:
    """Remove old inbound keys (all but the newest, or the FINGERPRINTS given)."""
    from airflow_provider_actito_sftp import management

    with _editing(name, secrets_file) as record:
        retired = management.pgp_key_retire(record, list(fingerprints))
    _emit(
        [info.as_dict() for info in retired],
        as_json,
        lambda _: "\n".join(f"Retired {_render_pgp(info)}" for info in retired) or "No key to retire.",
    )


# --- partner-key ----------------------------------------------------------------------------------


@cli.group("partner-key", cls=_Group)
def partner_key() -> None:
    """The partner's PGP public key, used to encrypt outbound files."""


@partner_key.command("set")
@click.argument("name")
@click.argument("file", type=click.File("r"))
@_json_option
@_secrets_file_option
def partner_key_set(name: str, file: Any, as_json: bool, secrets_file: Path | None) -> None:
    """Validate and store the partner's public key from FILE (armored; - for stdin)."""
    from airflow_provider_actito_sftp import management

    with _editing(name, secrets_file) as record:
        info, warning = management.partner_key_set(record, file.read())
    if warning:
        click.echo(f"WARNING: {warning}; ask the partner for a renewed key", err=True)
    _emit(info.as_dict(), as_json, lambda _: f"Partner key set: {_render_pgp(info)}")


@partner_key.command("show")
@click.argument("name")
@_json_option
def partner_key_show(name: str, as_json: bool) -> None:
    """Show the partner key's fingerprint and expiry."""
    from airflow_provider_actito_sftp import management
    from airflow_provider_actito_sftp.pgp.keys import expiry_warning

    info = management.partner_key_info(_store().get(name))
    if info is None:
        _fail(f"connection {name!r} has no partner key; run `actito-sftp partner-key set {name} FILE`")
    warning = expiry_warning(info)
    if warning:
        click.echo(f"WARNING: {warning}", err=True)
    _emit(info.as_dict(), as_json, lambda _: _render_pgp(info))


# --- location -------------------------------------------------------------------------------------


@cli.group(cls=_Group)
def location() -> None:
    """Named folders on the partner's server."""


@location.command("add")
@click.argument("name")
@click.argument("location_name")
@click.argument("path")
@_secrets_file_option
def location_add(name: str, location_name: str, path: str, secrets_file: Path | None) -> None:
    """Add LOCATION_NAME pointing at the absolute remote PATH."""
    from airflow_provider_actito_sftp import management

    with _editing(name, secrets_file) as record:
        management.location_set(record, location_name, path, must_exist=False)
    _say(f"Added location {location_name!r} -> {path}")


@location.command("update")
@click.argument("name")
@click.argument("location_name")
@click.argument("path")
@_secrets_file_option
def location_update(name: str, location_name: str, path: str, secrets_file: Path | None) -> None:
    """Point LOCATION_NAME at a new PATH."""
    from airflow_provider_actito_sftp import management

    with _editing(name, secrets_file) as record:
        management.location_set(record, location_name, path, must_exist=True)
    _say(f"Updated location {location_name!r} -> {path}")


@location.command("remove")
@click.argument("name")
@click.argument("location_name")
@_secrets_file_option
def location_remove(name: str, location_name: str, secrets_file: Path | None) -> None:
    """Remove LOCATION_NAME."""
    from airflow_provider_actito_sftp import management

    with _editing(name, secrets_file) as record:
        management.location_remove(record, location_name)
    _say(f"Removed location {location_name!r}")


@location.command("list")
@click.argument("name")
@_json_option
def location_list(name: str, as_json: bool) -> None:
    """List locations."""
    from airflow_provider_actito_sftp import management

    locations = dict(management.validate(_store().get(name)).locations)
    _emit(locations, as_json, lambda data: "\n".join(f"{k}\t{v}" for k, v in data.items()) or "none")


# --- policy ---------------------------------------------------------------------------------------


@cli.command(cls=_Command)
@click.argument("name")
@click.option("--inbound-pgp-required/--no-inbound-pgp-required", default=None)
@click.option("--outbound-lock/--no-outbound-lock", default=None)
@click.option("--lock-suffix")
@click.option("--outbound-pgp/--no-outbound-pgp", default=None)
@click.option("--outbound-pgp-armor/--no-outbound-pgp-armor", default=None)
@_json_option
@_secrets_file_option
def policy(
    name: str,
    inbound_pgp_required: bool | None,
    outbound_lock: bool | None,
    lock_suffix: str | None,
    outbound_pgp: bool | None,
    outbound_pgp_armor: bool | None,
    as_json: bool,
    secrets_file: Path | None,
) -> None:
    """Show or change the inbound and outbound file policies."""
    from airflow_provider_actito_sftp import management

    with _editing(name, secrets_file) as record:
        management.set_policy(
            record,
            inbound_pgp_required=inbound_pgp_required,
            outbound_lock=outbound_lock,
            lock_suffix=lock_suffix,
            outbound_pgp=outbound_pgp,
            outbound_pgp_armor=outbound_pgp_armor,
        )
        settings = management.validate(record)
    data = {
        "inbound_pgp_required": settings.inbound.pgp_required,
        "outbound_lock": settings.outbound.lock,
        "outbound_lock_suffix": settings.outbound.lock_suffix,
        "outbound_pgp": settings.outbound.pgp,
        "outbound_pgp_armor": settings.outbound.pgp_armor,
    }
    _emit(data, as_json, lambda d: "\n".join(f"{k}: {v}" for k, v in d.items()))


# --- metrics --------------------------------------------------------------------------------------


@cli.command(cls=_Command)
@click.argument("name", required=False)
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True)
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Last day of the range (default: today).")
@click.option("--entity", help="Only connections of this entity.")
@_json_option
def metrics(name: str | None, days: int, until: datetime | None, entity: str | None, as_json: bool) -> None:
    """Transfer overview of connection NAME (or all connections) from Airflow's task history.

    The range is the DAYS days ending with UNTIL (default: the last 30 days up to now).
    """
    from airflow.utils.session import create_session

    from airflow_provider_actito_sftp.metrics import overview

    if name:
        _store().get(name)
    end = None if until is None else datetime.combine(until.date(), time.max, tzinfo=UTC)
    with create_session() as session:
        result = overview(session, conn_id=name, entity=entity, days=days, now=end)
    _emit(result.as_dict(), as_json, _render_metrics)


def _render_metrics(data: dict[str, Any]) -> str:
    rate = "-" if data["success_rate"] is None else f"{data['success_rate'] * 100:.1f} %"
    by_type = data["by_type_status"]
    lines = [
        f"Transfers of {data['conn_id'] or 'all connections'}"
        + (f" (entity {data['entity']})" if data["entity"] else "")
        + f", {data['since']} to {data['until'][:10]}",
        f"  total requests  {data['total_requests']}",
        f"  success rate    {rate}",
        f"  downloads       {data['downloads']} ({by_type['download']['succeeded']} ok, "
        f"{by_type['download']['failed']} failed)",
        f"  uploads         {data['uploads']} ({by_type['upload']['succeeded']} ok, "
        f"{by_type['upload']['failed']} failed)",
        f"  data down / up  {_bytes(data['bytes_down'])} / {_bytes(data['bytes_up'])}",
        "",
        f"  {'day':<10}  {'requests':>8}  {'ok':>5}  {'failed':>6}  {'down':>10}  {'up':>10}",
    ]
    for point in data["per_day"]:
        lines.append(
            f"  {point['day']:<10}  {point['requests']:>8}  {point['succeeded']:>5}  {point['failed']:>6}  "
            f"{_bytes(point['bytes_down']):>10}  {_bytes(point['bytes_up']):>10}"
        )
    return "\n".join(lines)


def _bytes(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


# --- entry point ----------------------------------------------------------------------------------


def _read_password() -> str:
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        _fail("no password on stdin")
    return password


def _configure_logging(verbose: bool) -> None:
    """Keep stdout for results: library chatter goes to stderr, and only warnings unless --verbose."""
    level = logging.INFO if verbose else logging.WARNING
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.__stdout__:
            handler.setStream(sys.stderr)
    for name in ("asyncssh", "gnupg", "airflow_provider_actito_sftp"):
        logging.getLogger(name).setLevel(level)
    logging.getLogger("airflow_provider_actito_sftp.cli").setLevel(logging.WARNING)


def main() -> None:
    """Console-script entry point."""
    # Read connections from the metadata DB as Airflow's own server-side processes do.
    os.environ.setdefault("_AIRFLOW_PROCESS_CONTEXT", "server")
    import airflow  # noqa: F401  - configures logging; _configure_logging then moves it to stderr

    cli(prog_name="actito-sftp")


if __name__ == "__main__":
    main()
