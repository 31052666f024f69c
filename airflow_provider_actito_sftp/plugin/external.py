"""Changes to a connection defined outside the metadata DB: the updated connection JSON, without secrets.

The plugin cannot write an environment variable or a secrets backend. As the CLI does for such a
connection (:func:`~airflow_provider_actito_sftp.cli.app.editing`), the change is applied in memory and
validated, never saved; the answer (``POST /api/connections/{id}/connection-json``,
:class:`~.models.ConnectionJson`) is the updated connection in Airflow's JSON connection format. Unlike
the CLI's 0600 file it leaves every secret field out (no secret reaches the browser): the user merges it
into the stored definition, keeping those values, or runs the equivalent CLI command (``cli_command``)
where the definition is readable, which writes the complete JSON server-side.

Changes that would have to carry a secret are refused with 400: a new password (it could not be handed
back) and a switch to SSH-key authentication that generates a key pair.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from airflow_provider_actito_sftp import management
from airflow_provider_actito_sftp.connection.commands import command_line
from airflow_provider_actito_sftp.connection.schema import CONNECTION_TYPE, FIELDS
from airflow_provider_actito_sftp.connection.store import ConnectionRecord
from airflow_provider_actito_sftp.plugin.bodies import ApiError


def connection_json(record: ConnectionRecord, values: Mapping[str, Any]) -> dict[str, Any]:
    """The connection with these changes, as JSON to store where it is defined (secrets left out); not saved.

    ``{"conn_id", "connection": {conn_type, host, port, login, extra}, "secrets_left_out": [names],
    "instructions", "cli_command"}``; ``cli_command`` is None when the CLI cannot express the change.

    :param record: the connection (changed in memory only).
    :param values: field name -> value, as accepted by :func:`management.update_fields`.
    :raises ApiError: 409 the connection is in the metadata DB; 400 the change would have to carry a secret.
    """
    connection_id = record.conn_id
    if record.in_metadata_db:
        raise ApiError(409, f"Connection {connection_id!r} is saved in the metadata DB: change it with PATCH")
    if "password" in values:
        raise ApiError(
            400,
            "a password cannot go through the browser for a connection defined outside the metadata DB: set it "
            f"in the stored definition, or run `actito-sftp connection update {connection_id} --password-stdin` "
            "where that definition is readable",
            "password",
        )
    update = management.update_fields(record, values)
    if update.generated_ssh_key:
        raise ApiError(
            400,
            "switching to SSH key authentication generates a key pair, a secret that never reaches the browser: "
            f"run `actito-sftp connection update {connection_id} --auth-type ssh_key` where the connection is "
            "defined",
            "auth_type",
        )
    management.validate(record)
    left_out = [field.name for field in FIELDS if field.secret and record.stored(field.name)]
    left_out += [key for key in record.hidden_extra_keys() if key not in left_out]  # keys the masker hides
    command = cli_command(connection_id, values)
    return {
        "conn_id": connection_id,
        "connection": public_connection_json(record),
        "secrets_left_out": left_out,
        "instructions": _instructions(connection_id, left_out, command),
        "cli_command": command,
    }


def public_connection_json(record: ConnectionRecord) -> dict[str, Any]:
    """The connection in Airflow's JSON connection format without any secret field (column or extra key).

    :param record: the connection.
    """
    columns = {"host": record.host, "port": record.port, "login": record.login, "password": record.password}
    secret_columns = {field.column for field in FIELDS if field.secret and field.column}
    public_columns = {name: value for name, value in columns.items() if name not in secret_columns}
    return {"conn_type": CONNECTION_TYPE, **public_columns, "extra": record.public_extra()}


def cli_command(conn_id: str, values: Mapping[str, Any]) -> str | None:
    """The ``actito-sftp`` command making the same change, shell-quoted; None if no one command can.

    The command and its flags come from :mod:`~airflow_provider_actito_sftp.connection.commands`, which the CLI
    generates its options from: ``connection update``, else ``policy``.

    :param conn_id: the connection id.
    :param values: field name -> value, as accepted by :func:`management.update_fields`.
    """
    words = command_line(conn_id, values)
    if words is None:
        return None
    return shlex.join(["actito-sftp", *words, "--secrets-file", f"{conn_id}.connection.json"])


def _instructions(conn_id: str, left_out: list[str], command: str | None) -> str:
    where = f"AIRFLOW_CONN_{conn_id.upper()} or your secrets backend"
    if left_out:
        names = ", ".join(left_out)
        store = (
            f"Nothing was saved. Merge this JSON into the connection's stored definition ({where}), keeping the "
            f"values of {names} from it: secrets never reach the browser, so they are left out here."
        )
    else:
        store = f"Nothing was saved. Store this JSON as the connection's definition ({where}): it holds no secret."
    if command is None:
        return store + " (The CLI cannot make this change in one command: some values are cleared.)"
    return (
        f"{store} Or make the same change with the CLI (cli_command) where that definition is readable: it "
        f"writes the complete connection JSON, secrets included, to {conn_id}.connection.json (mode 0600) to "
        "store instead; then delete the file."
    )
