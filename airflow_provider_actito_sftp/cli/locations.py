"""``actito-sftp location``: named folders on the partner's server."""

from __future__ import annotations

from pathlib import Path

import click

from airflow_provider_actito_sftp import management
from airflow_provider_actito_sftp.cli import app, render


@app.cli.group()
def location() -> None:
    """Named folders on the partner's server."""


def _location_arguments(function: app.Function) -> app.Function:
    """CONN_ID LOCATION_NAME PATH and --secrets-file."""
    return app.conn_id_argument(
        click.argument("location_name")(click.argument("path")(app.secrets_file_option(function)))
    )


def _set_location(conn_id: str, location_name: str, path: str, secrets_file: Path | None, *, must_exist: bool) -> None:
    with app.editing(conn_id, secrets_file) as record:
        management.location_set(record, location_name, path, must_exist=must_exist)
    app.say(f"{'Updated' if must_exist else 'Added'} location {location_name!r} -> {path}")


@location.command("add")
@_location_arguments
def location_add(conn_id: str, location_name: str, path: str, secrets_file: Path | None) -> None:
    """Add LOCATION_NAME pointing at the absolute remote PATH."""
    _set_location(conn_id, location_name, path, secrets_file, must_exist=False)


@location.command("update")
@_location_arguments
def location_update(conn_id: str, location_name: str, path: str, secrets_file: Path | None) -> None:
    """Point LOCATION_NAME at a new PATH."""
    _set_location(conn_id, location_name, path, secrets_file, must_exist=True)


@location.command("remove")
@app.conn_id_argument
@click.argument("location_name")
@app.secrets_file_option
def location_remove(conn_id: str, location_name: str, secrets_file: Path | None) -> None:
    """Remove LOCATION_NAME."""
    with app.editing(conn_id, secrets_file) as record:
        management.location_remove(record, location_name)
    app.say(f"Removed location {location_name!r}")


@location.command("list")
@app.conn_id_argument
@app.json_option
def location_list(conn_id: str, as_json: bool) -> None:
    """List locations."""
    app.emit(dict(management.validate(app.load(conn_id)).locations), as_json, render.locations)
