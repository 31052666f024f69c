"""``actito-sftp location``: named folders on the partner's server."""

from __future__ import annotations

from pathlib import Path

import click

from airflow_provider_actito_sftp import management
from airflow_provider_actito_sftp.cli import app, render
from airflow_provider_actito_sftp.connection.audit import Change


@app.cli.group()
def location() -> None:
    """Named folders on the partner's server."""


_check_option = click.option(
    "--check/--no-check",
    default=True,
    show_default=True,
    help="Check on the server that the folder exists and can be listed; --no-check e.g. before the partner "
    "has created it.",
)


def _location_arguments(function: app.Function) -> app.Function:
    """CONN_ID LOCATION_NAME PATH, --check/--no-check and --secrets-file."""
    return app.conn_id_argument(
        click.argument("location_name")(click.argument("path")(_check_option(app.secrets_file_option(function))))
    )


def _set_location(
    conn_id: str, location_name: str, path: str, secrets_file: Path | None, *, must_exist: bool, check: bool
) -> None:
    change = Change.LOCATION_UPDATE if must_exist else Change.LOCATION_ADD
    with app.editing(conn_id, secrets_file, change) as record:
        management.location_set(record, location_name, path, must_exist=must_exist)
        if check:  # a missing folder raises here: nothing is saved
            management.check_location(record, location_name)
    checked = "checked on the server" if check else "not checked on the server (--no-check)"
    app.say(f"{'Updated' if must_exist else 'Added'} location {location_name!r} -> {path} ({checked})")


@location.command(
    "add",
    epilog=app.example(
        "actito-sftp location add acme_sftp inbound /upload/in",
        "actito-sftp location add acme_sftp archive /upload/archive --no-check   # not created yet",
    ),
)
@_location_arguments
def location_add(conn_id: str, location_name: str, path: str, check: bool, secrets_file: Path | None) -> None:
    """Add LOCATION_NAME pointing at the absolute remote PATH."""
    _set_location(conn_id, location_name, path, secrets_file, must_exist=False, check=check)


@location.command("update", epilog=app.example("actito-sftp location update acme_sftp inbound /upload/in-v2"))
@_location_arguments
def location_update(conn_id: str, location_name: str, path: str, check: bool, secrets_file: Path | None) -> None:
    """Point LOCATION_NAME at a new PATH."""
    _set_location(conn_id, location_name, path, secrets_file, must_exist=True, check=check)


@location.command("remove", epilog=app.example("actito-sftp location remove acme_sftp archive"))
@app.conn_id_argument
@click.argument("location_name")
@app.secrets_file_option
def location_remove(conn_id: str, location_name: str, secrets_file: Path | None) -> None:
    """Remove LOCATION_NAME."""
    with app.editing(conn_id, secrets_file, Change.LOCATION_REMOVE) as record:
        management.location_remove(record, location_name)
    app.say(f"Removed location {location_name!r}")


@location.command("list", epilog=app.example("actito-sftp location list acme_sftp"))
@app.conn_id_argument
@app.json_option
def location_list(conn_id: str, as_json: bool) -> None:
    """List locations."""
    app.emit(dict(management.validate(app.load(conn_id)).locations), as_json, render.locations)
