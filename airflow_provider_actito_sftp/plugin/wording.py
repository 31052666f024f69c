"""The page's words for errors: the labels the page shows instead of field keys, its buttons instead of flags.

The provider's messages speak the command line's words (``field 'outbound_lock_suffix'``, ``--force``).
Errors that concern a field carry it structurally (:class:`~airflow_provider_actito_sftp.exceptions.
ConnectionConfigError`'s ``field`` and ``problem``; a request body's offending key); refusals whose advice
differs carry the page's wording too (``on_page``). This module renders both as the page says them.
"""

from __future__ import annotations

from collections.abc import Mapping

from airflow_provider_actito_sftp.connection.schema import field_label
from airflow_provider_actito_sftp.exceptions import ActitoSftpError, ConnectionConfigError

# Names the page shows in its own controls rather than as schema fields (static/wizard.js, tab_server.js,
# tab_general.js, tab_files.js).
PAGE_LABELS: Mapping[str, str] = {
    "conn_id": "Technical name",
    "expected_fingerprint": "Fingerprint given by the partner",
    "trust_on_first_use": "Trust on first use",
    "confirm": "Technical name (to confirm)",
    "public_key": "Partner's public key",
    "public_key_base64": "Partner's public key",
    "path": "Path",
    "extra": "Extra",
}


def label_of(name: str) -> str:
    """The label the page shows for a field, Airflow column or request key (readable words otherwise).

    :param name: ``outbound_lock_suffix``, ``login``, ``conn_id``, ...
    """
    return field_label(name) or PAGE_LABELS.get(name) or name.replace("_", " ").capitalize()


def page_message(error: ActitoSftpError) -> str:
    """The error as the page shows it: a field's label and what is wrong, or the page's own advice.

    :param error: a provider error.
    """
    if isinstance(error, ConnectionConfigError):
        return f"{label_of(error.field)}: {error.problem_on_page}"
    return error.for_page()


def invalid_request(location: list[str], problem: str) -> str:
    """A body of the wrong shape, by the label of its offending key (``Port: Input should be ...``).

    :param location: the key's path in the body (``["values", "port"]``); empty: the request as a whole.
    :param problem: what is wrong (pydantic's words).
    """
    names = [part for part in location if not part.isdigit()]  # not a list's index
    return f"{label_of(names[-1]) if names else 'Request'}: {problem}"
