"""``actito-sftp ssh-key``, ``pgp-key`` and ``partner-key``: the connection's key material.

Public parts only are ever printed: authorized_keys lines, armored public keys, fingerprints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import BinaryIO

import click

from airflow_provider_actito_sftp import management
from airflow_provider_actito_sftp.cli import app, render
from airflow_provider_actito_sftp.connection.audit import Change
from airflow_provider_actito_sftp.connection.schema import BY_NAME
from airflow_provider_actito_sftp.pgp.keys import PgpKeyType, expiry_warning
from airflow_provider_actito_sftp.ssh.key_type import PublicKeyFormat, SshKeyType


def _public_key_options(output_help: str) -> Callable[[app.Function], app.Function]:
    """CONN_ID, --output and --json: the common ground of commands that hand out a public key.

    :param output_help: the help of --output.
    """
    output = click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help=output_help)
    return lambda function: app.conn_id_argument(output(app.json_option(function)))


def _edit_options(function: app.Function) -> app.Function:
    """CONN_ID, --json and --secrets-file: the common ground of key changes."""
    return app.conn_id_argument(app.json_option(app.secrets_file_option(function)))


# --- ssh-key --------------------------------------------------------------------------------------


@app.cli.group("ssh-key")
def ssh_key() -> None:
    """Our SSH key pair: generate, show the public key, rotate."""


def _key_type_option(types: Iterable[StrEnum], help_text: str) -> Callable[[app.Function], app.Function]:
    """``--type``: the kind of key to generate (the enum's values), ed25519 by default."""
    choice = click.Choice([key_type.value for key_type in types])
    return click.option("--type", "key_type", type=choice, default="ed25519", show_default=True, help=help_text)


_ssh_key_type_option = _key_type_option(SshKeyType, "ed25519, or rsa (4096 bits) for servers that predate ed25519.")


@ssh_key.command("generate", epilog=app.example("actito-sftp ssh-key generate acme_sftp --type rsa"))
@_edit_options
@_ssh_key_type_option
@click.option("--force", is_flag=True, help="Replace an existing key at once (cuts off the old key).")
def ssh_key_generate(conn_id: str, key_type: str, force: bool, as_json: bool, secrets_file: Path | None) -> None:
    """Generate the SSH key pair; print the authorized_keys line."""
    with app.editing(conn_id, secrets_file, Change.SSH_KEY_GENERATE) as record:
        pair = management.ssh_key_generate(record, SshKeyType(key_type), force=force)
    app.emit(pair.public_view(), as_json, render.ssh_key)


@ssh_key.command(
    "public",
    epilog=app.example(
        "actito-sftp ssh-key public acme_sftp --output acme_sftp.pub",
        "actito-sftp ssh-key public acme_sftp --format rfc4716 --output acme_sftp.rfc4716.pub   # ProFTPD",
    ),
)
@_public_key_options("Write the key to this file.")
@click.option(
    "--format",
    "key_format",
    type=click.Choice([key_format.value for key_format in PublicKeyFormat]),
    default="openssh",
    show_default=True,
    help="openssh: an authorized_keys line (OpenSSH, most servers); rfc4716: the SSH2 block ProFTPD needs.",
)
def ssh_key_public(conn_id: str, output: Path | None, as_json: bool, key_format: str) -> None:
    """Print the public key to install on the partner's server (an authorized_keys line by default)."""
    from airflow_provider_actito_sftp.ssh.keys import public_key_text

    active, pending = management.ssh_public_keys(app.load(conn_id))
    if active is None:
        app.fail(f"connection {conn_id!r} has no SSH key; run `actito-sftp ssh-key generate {conn_id}`")
    chosen = PublicKeyFormat(key_format)
    text = public_key_text(active.public_line, chosen)
    if output:
        output.write_text(text)
        app.note(f"Wrote {output} ({chosen.value})")
    if chosen is PublicKeyFormat.RFC4716 and not as_json:
        app.say(text.rstrip("\n"))
        return
    rfc4716 = (
        text if chosen is PublicKeyFormat.RFC4716 else public_key_text(active.public_line, PublicKeyFormat.RFC4716)
    )
    pending_view = pending.public_view() if pending else None
    data = {**active.public_view(), "public_key_rfc4716": rfc4716, "pending": pending_view}
    app.emit(data, as_json, render.ssh_public_keys)


@ssh_key.command(
    "rotate",
    epilog=app.example(
        "actito-sftp ssh-key rotate acme_sftp    # 1st: new key pending, give it to the partner",
        "actito-sftp ssh-key rotate acme_sftp    # 2nd: once installed, it is tested and activated",
    ),
)
@_edit_options
@_ssh_key_type_option
@click.option("--force", is_flag=True, help="Activate the pending key without checking the server accepts it.")
@click.option("--restart", is_flag=True, help="Discard a pending key and create a new one.")
def ssh_key_rotate(
    conn_id: str, key_type: str, force: bool, restart: bool, as_json: bool, secrets_file: Path | None
) -> None:
    """Rotate without cutting off running exchanges.

    The first run creates a pending key: install its public line on the server. Both keys are offered
    meanwhile. The next run activates it once the server accepts it (or at once with --force).
    """
    with app.editing(conn_id, secrets_file, Change.SSH_KEY_ROTATE) as record:
        rotation = management.ssh_key_rotate(record, SshKeyType(key_type), force=force, restart=restart)
    app.emit(rotation.as_dict(), as_json, partial(render.rotation, conn_id))


# --- pgp-key --------------------------------------------------------------------------------------


@app.cli.group("pgp-key")
def pgp_key() -> None:
    """Our inbound PGP keys: partners encrypt to the public key, we decrypt."""


def _pgp_options(function: app.Function) -> app.Function:
    function = click.option("--expires", default="2y", show_default=True, help="gpg expiry (2y, 18m, 365d, never).")(
        function
    )
    return _key_type_option(
        PgpKeyType, "ed25519 (with a Curve25519 encryption subkey), or rsa3072 / rsa4096 for partners needing RSA."
    )(function)


@pgp_key.command("generate", epilog=app.example("actito-sftp pgp-key generate acme_sftp --expires 2y"))
@_edit_options
@_pgp_options
@click.option("--force", is_flag=True, help="Replace existing keys (files encrypted to them become unreadable).")
def pgp_key_generate(
    conn_id: str, key_type: str, expires: str, force: bool, as_json: bool, secrets_file: Path | None
) -> None:
    """Generate the inbound PGP key pair."""
    with app.editing(conn_id, secrets_file, Change.PGP_KEY_GENERATE) as record:
        info = management.pgp_key_generate(record, PgpKeyType(key_type), expires=expires, force=force)
    message = f"\nGive partners: actito-sftp pgp-key public {conn_id}"
    app.emit(info.as_dict(), as_json, lambda data: f"Generated {render.pgp_key(data)}{message}")


@pgp_key.command("public", epilog=app.example("actito-sftp pgp-key public acme_sftp --output acme_sftp-inbound.asc"))
@_public_key_options("Write an .asc file.")
def pgp_key_public(conn_id: str, output: Path | None, as_json: bool) -> None:
    """Print the armored public key partners must encrypt to (the newest key)."""
    armored, info = management.pgp_public_key(app.load(conn_id))
    if output:
        output.write_text(armored)
        app.note(f"Wrote {output} ({info.fingerprint})")
    app.emit({**info.as_dict(), "public_key": armored}, as_json, lambda data: str(data["public_key"]).rstrip())


@pgp_key.command("list", epilog=app.example("actito-sftp pgp-key list acme_sftp --json"))
@app.conn_id_argument
@app.json_option
def pgp_key_list(conn_id: str, as_json: bool) -> None:
    """List inbound keys, newest (handed out) first."""
    infos = management.pgp_inbound_keys(app.load(conn_id))
    app.emit([info.as_dict() for info in infos], as_json, render.pgp_keys)


@pgp_key.command("rotate", epilog=app.example("actito-sftp pgp-key rotate acme_sftp"))
@_edit_options
@_pgp_options
def pgp_key_rotate(conn_id: str, key_type: str, expires: str, as_json: bool, secrets_file: Path | None) -> None:
    """Add a new inbound key; older keys keep decrypting files in flight until retired."""
    with app.editing(conn_id, secrets_file, Change.PGP_KEY_ROTATE) as record:
        info = management.pgp_key_rotate(record, PgpKeyType(key_type), expires=expires)
    message = (
        f"\nOlder keys still decrypt; retire them with `actito-sftp pgp-key retire {conn_id}` "
        "once partners use the new key."
    )
    app.emit(info.as_dict(), as_json, lambda data: f"New key {render.pgp_key(data)}{message}")


@pgp_key.command(
    "retire", epilog=app.example("actito-sftp pgp-key retire acme_sftp 8BA649883828E16120EC2E8C6ED5F20909705DD1")
)
@_edit_options
@click.argument("fingerprints", nargs=-1)
def pgp_key_retire(conn_id: str, fingerprints: tuple[str, ...], as_json: bool, secrets_file: Path | None) -> None:
    """Remove old inbound keys (all but the newest, or the FINGERPRINTS given)."""
    with app.editing(conn_id, secrets_file, Change.PGP_KEY_RETIRE) as record:
        retired = management.pgp_key_retire(record, list(fingerprints))
    data = [info.as_dict() for info in retired]
    app.emit(data, as_json, partial(render.pgp_keys, prefix="Retired ", empty="No key to retire."))


# --- partner-key ----------------------------------------------------------------------------------


@app.cli.group("partner-key")
def partner_key() -> None:
    """The partner's PGP public key, used to encrypt outbound files."""


@partner_key.command(
    "set",
    epilog=app.example(
        "actito-sftp partner-key set acme_sftp acme-public.asc",
        "actito-sftp partner-key set acme_sftp acme-public.gpg   # binary, as `gpg --export` writes it",
    ),
)
@_edit_options
@click.argument("file", type=click.File("rb"))
def partner_key_set(conn_id: str, file: BinaryIO, as_json: bool, secrets_file: Path | None) -> None:
    """Validate and store the partner's public key from FILE (armored or binary; - for stdin)."""
    from airflow_provider_actito_sftp.pgp.armor import key_file_text

    limit = BY_NAME["partner_pgp_public_key"].max_length or 0
    data = file.read(limit + 1)  # never more: a file of 50 MB is no partner key
    if len(data) > limit:
        app.fail(f"{file.name} is larger than {limit // 1024} KiB: not one partner public key")
    text = key_file_text(data)
    with app.editing(conn_id, secrets_file, Change.PARTNER_KEY_SET) as record:
        info, warning = management.partner_key_set(record, text)
    if warning:
        app.note(f"WARNING: {warning}; ask the partner for a renewed key")
    app.emit(info.as_dict(), as_json, lambda data: f"Partner key set: {render.pgp_key(data)}")


@partner_key.command("remove", epilog=app.example("actito-sftp partner-key remove acme_sftp"))
@_edit_options
def partner_key_remove(conn_id: str, as_json: bool, secrets_file: Path | None) -> None:
    """Remove the partner's public key; refused while outbound PGP is on (turn it off first: never plaintext)."""
    with app.editing(conn_id, secrets_file, Change.PARTNER_KEY_REMOVE) as record:
        fingerprint = management.partner_key_remove(record)
    shown = f" ({fingerprint})" if fingerprint else ""
    app.emit({"fingerprint": fingerprint}, as_json, lambda data: f"Partner key removed{shown}.")


@partner_key.command("show", epilog=app.example("actito-sftp partner-key show acme_sftp"))
@app.conn_id_argument
@app.json_option
def partner_key_show(conn_id: str, as_json: bool) -> None:
    """Show the partner key's fingerprint and expiry."""
    info = management.partner_key_info(app.load(conn_id))
    if info is None:
        app.fail(f"connection {conn_id!r} has no partner key; run `actito-sftp partner-key set {conn_id} FILE`")
    warning = expiry_warning(info)
    if warning:
        app.note(f"WARNING: {warning}")
    app.emit(info.as_dict(), as_json, render.pgp_key)
