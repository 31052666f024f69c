"""The connection's fields, each declared once.

Everything else is derived from :data:`FIELDS`: Airflow's connection form (``conn-fields`` and
``ui-field-behaviour`` in :mod:`~airflow_provider_actito_sftp.get_provider_info`), the parser
(:func:`~airflow_provider_actito_sftp.connection.settings.parse_connection` reads every field through
:meth:`Field.read`), the store's list of secret fields, the secret-free description, the CLI's flags and
the README's field table (:func:`markdown_table`, checked by a test).

One name per concept: a field's ``name`` is its extra key (or its name in this provider when it lives in
an Airflow column), its attribute in the settings, its CLI flag (``--outbound-lock-suffix``) and its key in
JSON output. This module stays import-light: Airflow reads the form while it configures itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from airflow_provider_actito_sftp.exceptions import ConnectionConfigError

CONNECTION_TYPE = "actito_sftp"  # Airflow's conn_type of every connection these fields describe
DEFAULT_CONN_ID = "actito_sftp_default"  # the hook's, operators' and sensor's conn_id when none is given


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

DEFAULT_CIPHERS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes256-ctr",
)
# The weaker algorithms a connection may accept (field legacy_algorithms): ssh/algorithms.py says what each adds.
LEGACY_ALGORITHMS = ("ssh-rsa", "cbc")


class AuthType(StrEnum):
    """How we authenticate to the partner's server: the ``auth_type`` field's choices (flag and JSON values)."""

    SSH_KEY = "ssh_key"
    PASSWORD = "password"  # noqa: S105 - the name of an auth type, not a secret
    # Both, in the order the server asks (sshd's ``AuthenticationMethods publickey,password``: two factors).
    SSH_KEY_AND_PASSWORD = "ssh_key_and_password"  # noqa: S105 - the name of an auth type, not a secret

    @property
    def label(self) -> str:
        return CHOICE_LABELS[self.value]

    @property
    def uses_key(self) -> bool:
        """Whether our SSH key is offered (the connection then needs one)."""
        return self is not AuthType.PASSWORD

    @property
    def uses_password(self) -> bool:
        """Whether the password is sent (the connection then needs one)."""
        return self is not AuthType.SSH_KEY


# How users read a choice (page, CLI text, messages; flags and JSON keep the value), as inside a sentence.
CHOICE_LABELS: Mapping[str, str] = {
    "ssh_key": "SSH key",
    "password": "password",
    "ssh_key_and_password": "SSH key and password",
}


FIELDS: tuple[Field, ...] = (
    # general
    Field("display_name", "Display name", "Human-friendly name shown in the overview; editable at any time "
          "(default: the technical name).", Screen.GENERAL, placeholder="Partner exchange", max_length=200),
    Field("entity", "Entity", "The entity (business unit) this integration belongs to; fixed after creation.",
          Screen.GENERAL, required=True, placeholder="marketing", max_length=100, fixed_after_creation=True),
    # server
    Field("host", "Host", "The partner's SFTP server: a host name or an IP address (an IPv6 one with or without "
          "brackets), without user or port (the Port field).", Screen.SERVER, column="host", required=True,
          placeholder="sftp.partner.example", max_length=255),
    Field("port", "Port", "The server's SSH port.", Screen.SERVER, Kind.INTEGER, column="port", default=22,
          minimum=1, maximum=65535, placeholder="22"),
    Field("username", "Username", "The account on the partner's server.", Screen.SERVER, column="login",
          required=True, placeholder="actito", max_length=255),
    Field("auth_type", "Authentication", "SSH key (recommended: the provider generates the key pair and hands "
          "out the public key), password, or SSH key and password (a server that asks for both, e.g. "
          "AuthenticationMethods publickey,password).", Screen.SERVER, Kind.CHOICE, default="ssh_key",
          choices=tuple(member.value for member in AuthType)),
    Field("password", "Password", "The account's password, for password (or SSH key and password) "
          "authentication.", Screen.SERVER,
          column="password", secret=True, max_length=1024),
    Field("host_key", "Pinned host key", "The server's public host key ('ssh-ed25519 AAAA...'), one per line; "
          "a server presenting any other key is refused. Fetched and pinned on creation.", Screen.SERVER,
          Kind.MULTILINE, generated=True, max_length=16_384),
    Field("legacy_algorithms", "Legacy algorithms (weaker)", "Weaker SSH algorithms to accept from this server "
          "alone, comma-separated, for an old server that offers nothing better (a refusal names the one it "
          "needs): ssh-rsa (its RSA host key signs with SHA-1, whose collisions allow forged signatures), cbc (CBC "
          "ciphers aes128/192/256-cbc, open to plaintext-recovery attacks).", Screen.SERVER, Kind.LIST,
          default=(), choices=LEGACY_ALGORITHMS, max_length=100),
    # locations
    Field("locations", "Locations", 'Named folders on the server, e.g. {"inbound": "/in", "outbound": "/out"}; '
          "absolute paths without '..'.", Screen.LOCATIONS, Kind.LOCATIONS, placeholder='{"inbound": "/in"}'),
    # inbound
    Field("inbound_pgp_required", "Require PGP", "Every downloaded file must be PGP-encrypted to our "
          "inbound public key.", Screen.INBOUND, Kind.BOOLEAN, default=False),
    # outbound
    Field("outbound_lock", "Partial-upload locking", "Upload under a temporary suffix and rename when "
          "complete, so the partner never reads half a file.", Screen.OUTBOUND, Kind.BOOLEAN, default=True),
    Field("outbound_lock_suffix", "Lock suffix", "The temporary suffix used while uploading.",
          Screen.OUTBOUND, default=".part", placeholder=".part", max_length=32),
    Field("outbound_pgp", "Encrypt uploads with PGP", "Encrypt every uploaded file to the partner's "
          "public key.", Screen.OUTBOUND, Kind.BOOLEAN, default=False),
    Field("outbound_pgp_armor", "ASCII armor", "Write ASCII-armored PGP instead of binary "
          "(larger files).", Screen.OUTBOUND, Kind.BOOLEAN, default=False),
    Field("partner_pgp_public_key", "Partner PGP public key", "The partner's PGP public key, used to encrypt "
          "outbound files and check their signatures.", Screen.OUTBOUND, Kind.MULTILINE, max_length=512 * 1024),
    # keys (generated by the provider)
    Field("ssh_private_key", "SSH private key", "Our SSH key; generated by the provider, never shown.",
          Screen.KEYS, Kind.MULTILINE, secret=True, generated=True, max_length=16_384),
    Field("ssh_private_key_passphrase", "SSH private key passphrase", "Only for a passphrase-protected key "
          "of your own.", Screen.KEYS, secret=True, max_length=1024),
    Field("ssh_private_key_pending", "SSH private key (rotation)", "The next SSH key during a rotation; "
          "offered beside the active key until the server accepts it.", Screen.KEYS, Kind.MULTILINE,
          secret=True, generated=True, max_length=16_384),
    Field("inbound_pgp_private_keys", "Inbound PGP secret keys", "Our inbound PGP keys: the newest is handed "
          "out, older ones still decrypt; generated by the provider, never shown.", Screen.KEYS, Kind.MULTILINE,
          secret=True, generated=True, max_length=256 * 1024),
    # advanced
    Field("connect_timeout", "Connect timeout (s)", "Seconds to connect and authenticate, and again to start "
          "SFTP.", Screen.ADVANCED,
          Kind.INTEGER, default=30, minimum=1, maximum=3600),
    Field("keepalive_interval", "Keepalive interval (s)", "Seconds between SSH keepalives; 0 disables them.",
          Screen.ADVANCED, Kind.INTEGER, default=30, minimum=0, maximum=3600),
    Field("transfer_concurrency", "Transfer concurrency", "Files moved at once over the one SSH session (files "
          "up to 256 KiB: 8 times as many).",
          Screen.ADVANCED, Kind.INTEGER, default=8, minimum=1, maximum=64),
    Field("ciphers", "Preferred ciphers", "Comma-separated SSH ciphers in order of preference (default: "
          "AES-GCM first, fastest with AES-NI).", Screen.ADVANCED, Kind.LIST, default=DEFAULT_CIPHERS,
          placeholder="aes128-gcm@openssh.com,chacha20-poly1305@openssh.com", max_length=1000),
    Field("compression", "SSH compression", "Compress the SSH stream; helps only on slow links with text "
          "data.", Screen.ADVANCED, Kind.BOOLEAN, default=False),
)  # fmt: skip

BY_NAME: Mapping[str, Field] = {field.name: field for field in FIELDS}
COLUMN_FIELDS: Mapping[str, Field] = {field.column: field for field in FIELDS if field.column}
SECRET_EXTRA_KEYS: tuple[str, ...] = tuple(field.name for field in FIELDS if field.secret and field.in_extra)


def field_label(name: str) -> str | None:
    """The label of a field named by its name or its Airflow column (``login`` -> "Username"), else None."""
    field = BY_NAME.get(name) or COLUMN_FIELDS.get(name)
    return field.label if field is not None else None


def fields_of(*screens: Screen) -> Iterator[Field]:
    """The fields of these screens, in declaration order."""
    return (field for field in FIELDS if field.screen in screens)


def editable_fields(*screens: Screen, creating: bool = False) -> Iterator[Field]:
    """The fields of these screens a user sets by value and may see (CLI flags, form inputs): no secrets;
    those fixed after creation only when ``creating``."""
    return (
        field
        for field in fields_of(*screens)
        if field.settable and not field.secret and (creating or not field.fixed_after_creation)
    )


def form_fields() -> dict[str, dict[str, Any]]:
    """Airflow's ``conn-fields``: every extra field in form format."""
    return {field.name: field.to_form_field() for field in FIELDS if field.in_extra}


def form_behaviour() -> dict[str, Any]:
    """Airflow's ``ui-field-behaviour``: column fields relabeled, with placeholders; the unused schema hidden.

    Airflow 3.3 reads these for its standard fields only (description, host, port, login, password,
    schema); it always shows the "Extra Fields JSON" editor, so ``extra`` is not listed as hidden.
    """
    columns = COLUMN_FIELDS.values()
    return {
        "hidden-fields": ["schema"],
        "relabeling": {field.column: field.label for field in columns if field.column != field.label.lower()},
        "placeholders": {field.column: field.placeholder for field in columns if field.placeholder and field.column},
    }


def markdown_table() -> str:
    """The README's table of fields (a test keeps the README equal to it)."""
    rows = ["| Field | Stored in | Default | Description |", "|---|---|---|---|"]
    for field in FIELDS:
        stored = f"`{field.column}` column" if field.column else "`extra`"
        if field.secret:
            stored += ", secret"
        default = "required" if field.required else _shown_default(field)
        limit = f" At most {field.max_length:,} characters." if field.max_length else ""
        rows.append(f"| `{field.name}` | {stored} | {default} | {field.help}{limit} |")
    return "\n".join(rows)


def _shown_default(field: Field) -> str:
    if field.default is None:
        return "generated" if field.generated else ""
    if field.default == DEFAULT_CIPHERS:
        return "AES-GCM first"
    if isinstance(field.default, tuple):
        return ", ".join(field.default) or "none"
    if isinstance(field.default, bool):
        return "on" if field.default else "off"
    bounds = f" ({field.minimum} to {field.maximum})" if field.kind is Kind.INTEGER else ""
    return f"`{field.default}`{bounds}"
