"""Which ``actito-sftp`` command sets which fields by value, and a value's flags: declared once.

The CLI generates its options from it (``connection create``/``update``, ``policy``); the plugin tells the
user of a connection outside the metadata DB the one command making the same change (:func:`command_line`).
Neither front end imports the other for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_actito_sftp.connection.field import Field, Kind, Screen
from airflow_provider_actito_sftp.connection.schema import editable_fields

CREATE_SCREENS = (Screen.GENERAL, Screen.SERVER)  # connection create
UPDATE_SCREENS = (Screen.GENERAL, Screen.SERVER, Screen.ADVANCED)  # connection update
POLICY_SCREENS = (Screen.INBOUND, Screen.OUTBOUND)  # policy
CHANGE_COMMANDS = ((("connection", "update"), UPDATE_SCREENS), (("policy",), POLICY_SCREENS))


def command_line(conn_id: str, values: Mapping[str, Any]) -> list[str] | None:
    """The words after ``actito-sftp`` of the one command setting all these values, or None if none can.

    A cleared value (None, or a blank number) has no flag; neither has a secret or a field fixed after
    creation.

    :param conn_id: the connection id.
    :param values: field name -> value, as accepted by ``management.update_fields``.
    """
    for words, screens in CHANGE_COMMANDS:
        settable = {field.name: field for field in editable_fields(*screens)}
        flags = [value_flags(conn_id, settable.get(name), value) for name, value in values.items()]
        if all(flag is not None for flag in flags):
            return [*words, conn_id, *(word for flag in flags if flag is not None for word in flag)]
    return None


def value_flags(conn_id: str, field: Field | None, value: Any) -> list[str] | None:
    """The flag words setting this value (``--port 2222``, ``--compression``/``--no-compression``), or None
    if the flag cannot express it (no such field on the command, or a cleared value).

    :param conn_id: the connection id (named in a refusal of the value).
    :param field: the field, None if the command has no flag for it.
    :param value: the value, typed or as text.
    """
    if field is None or value is None:
        return None
    typed = value if field.kind is Kind.TEXT and isinstance(value, str) else field.read(conn_id, value)
    if typed is None:
        return None
    if field.kind is Kind.BOOLEAN:
        return [field.flag] if typed is True else ["--no-" + field.flag.removeprefix("--")]
    text = ",".join(typed) if isinstance(typed, tuple | list) else str(typed)
    return [field.flag, text]
