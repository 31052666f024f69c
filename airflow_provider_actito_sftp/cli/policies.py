"""``actito-sftp policy``: show or change the inbound and outbound file policies.

Its flags are the inbound and outbound fields of the schema. Without one it only reads the connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow_provider_actito_sftp import management
from airflow_provider_actito_sftp.cli import app, render
from airflow_provider_actito_sftp.connection.audit import Change
from airflow_provider_actito_sftp.connection.commands import POLICY_SCREENS
from airflow_provider_actito_sftp.connection.schema import editable_fields
from airflow_provider_actito_sftp.connection.store import ConnectionRecord


@app.cli.command(
    cls=app.Command,
    epilog=app.example(
        "actito-sftp policy acme_sftp", "actito-sftp policy acme_sftp --inbound-pgp-required --outbound-pgp"
    ),
)
@app.conn_id_argument
@app.field_options(editable_fields(*POLICY_SCREENS))
@app.json_option
@app.secrets_file_option
def policy(conn_id: str, as_json: bool, secrets_file: Path | None, **values: Any) -> None:
    """Show or change the inbound and outbound file policies.

    Inbound PGP needs our key pair (pgp-key generate); outbound PGP needs the partner's key (partner-key set).
    """
    changes = app.given(values)
    if changes:
        with app.editing(conn_id, secrets_file, Change.POLICY_UPDATE) as record:
            management.update_fields(record, changes)
    else:
        record = app.load(conn_id)
    app.emit(policies(record), as_json, render.fields)


def policies(record: ConnectionRecord) -> dict[str, Any]:
    """The policy fields of the connection's description.

    :param record: the connection.
    """
    view = management.describe(record, key_details=False)
    return {field.name: view[field.name] for field in editable_fields(*POLICY_SCREENS)}
