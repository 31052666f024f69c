"""The Test button of Airflow's connection form (and ``actito-sftp connection test``): one short sentence.

On success: the host key matches the pin, we authenticated, every location can be listed; the details
(address, paths) go to the log. On failure: what is wrong, naming the form's fields by their labels, every
invalid field at once.

Airflow tests an unsaved form under a random temporary connection id, held in an ``AIRFLOW_CONN_<ID>``
variable only while the test runs. Messages therefore never start with the connection's id, and a value
Airflow cannot even turn into a connection (a port of 70000) is read back from that variable to say which
field it is.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any, Protocol
from urllib.parse import urlsplit

from airflow_provider_actito_sftp.connection.schema import BY_NAME, FIELDS, field_label
from airflow_provider_actito_sftp.connection.settings import ConnectionSettings, parse_connection, raw_values
from airflow_provider_actito_sftp.exceptions import ActitoSftpError, ConnectionConfigError
from airflow_provider_actito_sftp.hooks.server_checks import ServerChecks

log = logging.getLogger(__name__)

TEMPORARY_ID = re.compile(r"[A-Za-z0-9]{8}")  # Airflow's get_random_string(): the id of an unsaved form
TEMPORARY_NAME = "<technical name>"


class CheckedHook(Protocol):
    """What the check needs of the hook (``ActitoSftpHook``, which calls it: this module never imports it)."""

    conn_id: str

    @property
    def settings(self) -> ConnectionSettings: ...

    def get_connection(self, conn_id: str) -> Any: ...

    def check_on_server(self) -> ServerChecks: ...


def check_connection(hook: CheckedHook) -> tuple[bool, str]:
    """Check the form's fields, then test on the server (:class:`ServerChecks`: host key, authentication, every
    location), and say it in one sentence: the first step that failed, or every location that did.

    :param hook: the hook Airflow made for the connection (or the form) under test.
    :return: ``(True, sentence)`` or ``(False, what is wrong)``.
    """
    conn_id = hook.conn_id
    try:
        connection = hook.get_connection(conn_id)
    except Exception as e:  # Airflow's not-found error: the form's values may not even parse
        return False, _unreadable(conn_id, e)
    problems = field_problems(conn_id, connection)
    if problems:
        return False, _without_id("; ".join(problems), conn_id)
    try:
        checks = hook.check_on_server()
    except ActitoSftpError as e:
        return False, _without_id(str(e), conn_id)
    except Exception as e:  # the UI shows this text; keep the type for diagnosis
        return False, _without_id(f"unexpected {type(e).__name__}: {e}", conn_id)
    if checks.problems:
        return False, _without_id("; ".join(checks.problems), conn_id)
    fingerprint = checks.fingerprint
    settings = hook.settings
    paths = ", ".join(f"{name} ({path})" for name, path in settings.locations.items()) or "none configured"
    log.info(
        "Connected to %s as %s; host key %s; locations: %s", settings.address, settings.username, fingerprint, paths
    )
    count = len(settings.locations)
    return True, (
        f"Host key {fingerprint} matches the pin; authenticated as {settings.username}; "
        f"{count} location{'' if count == 1 else 's'} OK."
    )


def field_problems(conn_id: str, connection: Any) -> list[str]:
    """Every invalid field as ``"<label>: <problem>"``; then, if each is valid alone, what they lack together.

    :param conn_id: the connection's id (for the parser's messages).
    :param connection: an Airflow connection.
    """
    try:
        raw = raw_values(conn_id, connection)
    except ConnectionConfigError as e:  # the Extra JSON itself does not parse
        return [_labelled(e)]
    problems = []
    for field in FIELDS:
        try:
            field.read(conn_id, raw.get(field.name))
        except ConnectionConfigError as e:
            problems.append(_labelled(e))
    if problems:
        return problems
    try:
        parse_connection(connection)
    except ConnectionConfigError as e:
        return [_labelled(e)]
    return []


def _labelled(error: ConnectionConfigError) -> str:
    return f"{field_label(error.field) or error.field}: {error.problem}"


def _unreadable(conn_id: str, error: Exception) -> str:
    """Why Airflow could not make a connection of the form (or that it does not exist)."""
    uri = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if uri is None:
        return f"Connection {conn_id!r} does not exist"
    parts = urlsplit(uri)
    try:
        _ = parts.port  # raises for a port out of range
    except ValueError:
        port = parts.netloc.rpartition(":")[2]
        return f"{BY_NAME['port'].label}: {port!r} is not a port number from 1 to 65535"
    return f"Airflow could not read the connection's values: {error}"


def _without_id(message: str, conn_id: str) -> str:
    """``message`` without the leading connection id (known to whoever tests it, random for a form)."""
    quoted = repr(conn_id)
    prefixes = {
        f"Connection {quoted}, ": "",
        f"Connection {quoted}: ": "",
        f"Connection {quoted} to ": "Connecting to ",
    }
    for prefix, replacement in prefixes.items():
        message = message.replace(prefix, replacement)
    if TEMPORARY_ID.fullmatch(conn_id) and f"AIRFLOW_CONN_{conn_id.upper()}" in os.environ:
        message = message.replace(conn_id, TEMPORARY_NAME)
    return message[:1].upper() + message[1:]
