"""The connection's fields, each declared once.

Everything else is derived from :data:`FIELDS`: Airflow's connection form (``conn-fields`` and
``ui-field-behaviour`` in :mod:`~airflow_provider_actito_sftp.get_provider_info`), the parser
(:func:`~airflow_provider_actito_sftp.connection.settings.parse_connection` reads every field through
:meth:`Field.read`), the store's list of secret fields, the secret-free description, the CLI's flags and
the README's field table (:func:`markdown_table`, checked by a test). What a field is (its kind, how a value is
read, how Airflow's form shows it) is :mod:`~airflow_provider_actito_sftp.connection.field`.

One name per concept: a field's ``name`` is its extra key (or its name in this provider when it lives in
an Airflow column), its attribute in the settings, its CLI flag (``--outbound-lock-suffix``) and its key in
JSON output. This module stays import-light: Airflow reads the form while it configures itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Any

from airflow_provider_actito_sftp.connection.field import (
    Field,
    Kind,
    Screen,
)

CONNECTION_TYPE = "actito_sftp"  # Airflow's conn_type of every connection these fields describe
DEFAULT_CONN_ID = "actito_sftp_default"  # the hook's, operators' and sensor's conn_id when none is given


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
