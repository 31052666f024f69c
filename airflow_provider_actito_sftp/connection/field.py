"""A connection field: its kind, the screen it is shown on, how a stored value is read and checked, and how
Airflow's connection form shows it. The fields themselves are declared in
:mod:`~airflow_provider_actito_sftp.connection.schema` (``FIELDS``); this module says what a field is.
It stays import-light: Airflow reads the form while it configures itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from airflow_provider_actito_sftp.exceptions import ConnectionConfigError


class Kind(StrEnum):
    """What a field holds, which decides how it is read, shown and offered as a CLI flag."""

    TEXT = "text"
    MULTILINE = "multiline"
    CHOICE = "choice"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    LOCATIONS = "locations"  # a JSON object name -> absolute folder
    LIST = "list"  # comma-separated words


class Screen(StrEnum):
    """The configuration screen a field belongs to (the reference's sections)."""

    GENERAL = "general"
    SERVER = "server"
    ADVANCED = "advanced"
    LOCATIONS = "locations"
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    KEYS = "keys"


@dataclass(frozen=True)
class Field:
    """One connection field.

    :param name: the one name of the field (extra key, settings attribute, JSON key; CLI flag with dashes).
    :param label: the short label of forms and tables.
    :param help: one sentence for forms, ``--help`` and the README.
    :param screen: the configuration screen it belongs to.
    :param kind: how the value is read and shown.
    :param column: the Airflow connection column holding it (``host``, ``port``, ``login``, ``password``);
        None: an ``extra`` key of the same name.
    :param default: the value when unset (None: no value).
    :param minimum: smallest integer accepted.
    :param maximum: largest integer accepted.
    :param choices: the values a ``CHOICE`` accepts (a ``LIST``: the words it may hold; none: any word).
    :param required: the connection is invalid without it.
    :param secret: key material or a password: hidden by Airflow's masker, never shown or logged.
    :param generated: set by the provider (key generation), never typed in by a user.
    :param placeholder: an example value for forms.
    :param max_length: the most characters a text value may have (a list: all of it, commas included).
    :param fixed_after_creation: set when the connection is created, never changed after (every front end).
    """

    name: str
    label: str
    help: str
    screen: Screen
    kind: Kind = Kind.TEXT
    column: str | None = None
    default: Any = None
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    required: bool = False
    secret: bool = False
    generated: bool = False
    placeholder: str | None = None
    max_length: int | None = None
    fixed_after_creation: bool = False

    @property
    def flag(self) -> str:
        """The CLI flag: ``--`` and the name with dashes."""
        return "--" + self.name.replace("_", "-")

    @property
    def in_extra(self) -> bool:
        return self.column is None

    @property
    def settable(self) -> bool:
        """Typed in by a user and set by value: not generated, not key material or a host key pin (their
        own operations check the key files), not the locations (location add/update/remove)."""
        return not self.generated and self.kind not in (Kind.MULTILINE, Kind.LOCATIONS)

    def read(self, conn_id: str, value: object) -> Any:
        """Check a stored value and return it typed (the default when unset).

        :param conn_id: for the error message.
        :param value: what the connection holds (JSON value, form text or column value).
        :raises ConnectionConfigError: naming the connection and this field.
        """
        if value is None or (isinstance(value, str) and not value.strip()):
            if self.required:
                raise ConnectionConfigError(conn_id, self.name, "is required")
            return self.default
        reader = _READERS.get(self.kind)
        return reader(self, conn_id, value) if reader else value

    def to_form_field(self) -> dict[str, Any]:
        """The field in Airflow's ``conn-fields`` form format: a label and a JSON schema.

        Airflow 3.3's React form (``FlexibleForm``) renders from ``schema``: ``type`` picks the widget and,
        without ``"null"``, marks the field required (asterisk; Save stays disabled while it is empty);
        ``enum`` a drop-down, ``minimum``/``maximum`` the number input's bounds, ``format`` ``multiline`` a
        text area and ``password`` a masked input; ``section`` groups fields into collapsed sections;
        ``description_md`` is shown as Markdown under the field (only when no plain ``description`` is
        given, hence none here); ``examples`` (text inputs) a placeholder and a suggestion list.
        """
        schema: dict[str, Any] = {"type": _JSON_TYPES[self.kind] if self.required else [_JSON_TYPES[self.kind], "null"]}
        if self.default is not None and self.kind is not Kind.LIST:
            schema["default"] = self.default
        if self.kind is Kind.INTEGER:
            schema.update(minimum=self.minimum, maximum=self.maximum)
        if self.max_length is not None and self.kind is not Kind.LOCATIONS:
            schema["maxLength"] = self.max_length
        if self.kind is Kind.CHOICE:
            schema["enum"] = list(self.choices)
        if self.kind is Kind.MULTILINE:
            schema["format"] = "multiline"
        if self.kind is Kind.LOCATIONS:
            schema["additionalProperties"] = {"type": "string", "pattern": LOCATION_PATH_PATTERN}
        if self.secret:
            schema["format"] = "password"  # masked; Airflow's password input is one line
        elif self.placeholder and self.kind in (Kind.TEXT, Kind.LIST) and not self.generated:
            schema["examples"] = [self.placeholder]  # a placeholder in the input, offered as a suggestion
        schema["section"] = SECTIONS[self.screen]
        schema["description_md"] = self.form_description
        return {"label": self.label, "schema": schema}

    @property
    def form_description(self) -> str:
        """The Markdown shown under the field in Airflow's form: the help, an example, where it is managed."""
        text = self.help
        if self.placeholder and self.placeholder != self.default and self.kind is not Kind.LOCATIONS:
            text += f" Example: `{self.placeholder}`."
        if self.generated:
            unchanged = "'***' (unchanged)" if self.secret else "unchanged"
            text += (
                f" Set on the [Actito SFTP page]({PAGE_LINK}) (open the integration), not typed in here: "
                f"leave it empty on a new connection and {unchanged} when editing."
            )
        elif self.kind is Kind.LOCATIONS:
            text += f" Easier on the [Actito SFTP page]({PAGE_LINK}): its Locations tab checks each folder."
        return text


def _read_text(field: Field, conn_id: str, value: object) -> str:
    if not isinstance(value, str):
        raise ConnectionConfigError(conn_id, field.name, f"expected text, got {type(value).__name__}")
    check_length(field, conn_id, value)
    return value if field.secret else value.strip()  # a password may start or end with a space


def check_length(field: Field, conn_id: str, text: str) -> None:
    """Refuse text longer than the field's ``max_length`` (never quoting it: it may be a secret).

    :param field: the field.
    :param conn_id: for the error message.
    :param text: the value.
    :raises ConnectionConfigError: too long.
    """
    if field.max_length is not None and len(text) > field.max_length:
        raise ConnectionConfigError(
            conn_id, field.name, f"is {len(text):,} characters long; at most {field.max_length:,} are allowed"
        )


def _read_choice(field: Field, conn_id: str, value: object) -> str:
    text = str(value).strip()
    if text not in field.choices:
        *others, last = (repr(choice) for choice in field.choices)
        choices = f"{', '.join(others)} or {last}" if others else last
        raise ConnectionConfigError(conn_id, field.name, f"expected {choices}, got {value!r}")
    return text


_BOOLEAN_WORDS = {
    "true": True,
    "yes": True,
    "on": True,
    "1": True,
    "false": False,
    "no": False,
    "off": False,
    "0": False,
}


def _read_boolean(field: Field, conn_id: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str | int) and str(value).strip().lower() in _BOOLEAN_WORDS:
        return _BOOLEAN_WORDS[str(value).strip().lower()]
    raise ConnectionConfigError(conn_id, field.name, f"expected true or false, got {value!r}")


def _read_integer(field: Field, conn_id: str, value: object) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        number = int(value)
    low, high = field.minimum, field.maximum
    if number is None or (low is not None and number < low) or (high is not None and number > high):
        raise ConnectionConfigError(conn_id, field.name, f"expected an integer from {low} to {high}, got {value!r}")
    return number


def _read_list(field: Field, conn_id: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str | list | tuple):
        check_length(field, conn_id, value if isinstance(value, str) else ",".join(map(str, value)))
    words = value.split(",") if isinstance(value, str) else value
    if not isinstance(words, list | tuple) or not all(isinstance(word, str) for word in words):
        raise ConnectionConfigError(conn_id, field.name, "expected a comma-separated list")
    listed = tuple(word.strip() for word in words if word.strip())
    unknown = [word for word in listed if field.choices and word not in field.choices]
    if unknown:
        choices = ", ".join(repr(choice) for choice in field.choices)
        problem = f"expected words among {choices}, got {', '.join(map(repr, unknown))}"
        raise ConnectionConfigError(conn_id, field.name, problem)
    return listed or field.default


_READERS = {
    Kind.TEXT: _read_text,
    Kind.MULTILINE: _read_text,
    Kind.CHOICE: _read_choice,
    Kind.BOOLEAN: _read_boolean,
    Kind.INTEGER: _read_integer,
    Kind.LIST: _read_list,
}
_JSON_TYPES = {
    Kind.TEXT: "string",
    Kind.MULTILINE: "string",
    Kind.CHOICE: "string",
    Kind.BOOLEAN: "boolean",
    Kind.INTEGER: "integer",
    Kind.LOCATIONS: "object",
    Kind.LIST: "string",
}

# Airflow's connection form: one collapsed section per screen, in the plugin's words.
SECTIONS: Mapping[Screen, str] = {
    Screen.GENERAL: "General",
    Screen.SERVER: "Server configuration",
    Screen.ADVANCED: "Server configuration: advanced",
    Screen.LOCATIONS: "Locations",
    Screen.INBOUND: "Inbound",
    Screen.OUTBOUND: "Outbound",
    Screen.KEYS: "Keys (managed on the Actito SFTP page)",
}
# The plugin's page relative to Airflow's UI (its index.html sets <base href> to the API server's base URL):
# the plugin's URL prefix, ``#integrations`` its list of integrations.
PAGE_LINK = "actito/#integrations"
# An absolute folder without a '..' part or NUL (the parser's rule), for the form's JSON schema.
LOCATION_PATH_PATTERN = r"^/(?!(.*/)?\.\.(/|$))[^\x00]*$"
