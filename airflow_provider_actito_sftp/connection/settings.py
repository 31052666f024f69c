"""The connection model: an Airflow connection of type ``actito_sftp`` parsed once into typed settings.

Fields live in the Airflow columns (host, port, login, password) and in ``extra`` under bare names, as
declared in :func:`airflow_provider_actito_sftp.get_provider_info.get_provider_info`. Secret material is
kept only in extra keys whose names the Airflow secrets masker hides (``*private_key*``, ``*passphrase*``).
Every invalid value raises :class:`~airflow_provider_actito_sftp.exceptions.ConnectionConfigError`
naming the connection and the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any, Protocol

import asyncssh

from airflow_provider_actito_sftp.exceptions import ConnectionConfigError, UnknownLocationError
from airflow_provider_actito_sftp.ssh.host_keys import parse_host_keys

DEFAULT_PORT = 22
DEFAULT_LOCK_SUFFIX = ".part"
DEFAULT_CIPHERS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes256-ctr",
)
LOCATION_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class AuthType(StrEnum):
    """How we authenticate to the partner's server."""

    SSH_KEY = "ssh_key"
    PASSWORD = "password"  # noqa: S105 - the name of an auth type, not a secret


class ConnectionLike(Protocol):
    """What we read from an Airflow connection (``airflow.sdk.Connection`` or the ORM model)."""

    @property
    def conn_id(self) -> str: ...
    @property
    def host(self) -> str | None: ...
    @property
    def port(self) -> int | None: ...
    @property
    def login(self) -> str | None: ...
    @property
    def password(self) -> str | None: ...
    @property
    def extra(self) -> str | None: ...


@dataclass(frozen=True)
class InboundPolicy:
    """Rules for files we download.

    :param pgp_required: every downloaded file must be PGP-encrypted to our inbound key.
    """

    pgp_required: bool = False


@dataclass(frozen=True)
class OutboundPolicy:
    """Rules for files we upload.

    :param lock: upload under ``<name><lock_suffix>`` and rename when complete.
    :param lock_suffix: the temporary suffix used while an upload is in progress.
    :param pgp: encrypt every upload to the partner's public key.
    :param pgp_armor: write ASCII-armored PGP instead of binary.
    """

    lock: bool = True
    lock_suffix: str = DEFAULT_LOCK_SUFFIX
    pgp: bool = False
    pgp_armor: bool = False


@dataclass(frozen=True)
class AdvancedSettings:
    """Transport tuning, all with safe defaults.

    :param connect_timeout: seconds allowed to connect and authenticate.
    :param keepalive_interval: seconds between SSH keepalives (0 disables them).
    :param transfer_concurrency: files moved at once over one session.
    :param ciphers: SSH ciphers in order of preference.
    :param compression: enable SSH compression (helps only on slow links with compressible data).
    """

    connect_timeout: int = 30
    keepalive_interval: int = 30
    transfer_concurrency: int = 8
    ciphers: tuple[str, ...] = DEFAULT_CIPHERS
    compression: bool = False


@dataclass(frozen=True)
class KeyMaterial:
    """Secret and public key material held by the connection. Never logged; ``repr`` hides it."""

    ssh_private_key: str | None = field(default=None, repr=False)
    ssh_private_key_passphrase: str | None = field(default=None, repr=False)
    ssh_private_key_pending: str | None = field(default=None, repr=False)
    inbound_pgp_private_keys: str | None = field(default=None, repr=False)
    partner_pgp_public_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything the provider needs from one ``actito_sftp`` connection, validated."""

    conn_id: str
    display_name: str
    entity: str
    host: str
    port: int
    username: str
    auth_type: AuthType
    password: str | None = field(repr=False)
    host_keys: tuple[asyncssh.SSHKey, ...] = field(repr=False)
    locations: Mapping[str, str]
    inbound: InboundPolicy
    outbound: OutboundPolicy
    advanced: AdvancedSettings
    keys: KeyMaterial

    @property
    def address(self) -> str:
        """``user@host:port``, for messages."""
        return f"{self.username}@{self.host}:{self.port}"

    def location_path(self, location: str) -> str:
        """Return the remote folder of a named location.

        :raises UnknownLocationError: the name is not configured; the error lists the known names.
        """
        try:
            return self.locations[location]
        except KeyError:
            raise UnknownLocationError(self.conn_id, location, self.locations) from None

    def client_private_keys(self) -> list[asyncssh.SSHKey]:
        """Return the SSH keys to offer, in order: the active key, then a pending rotated key if any.

        Offering the pending key too means a partner who already swapped the old key for the new one
        in ``authorized_keys`` keeps receiving files while the rotation is completed.
        """
        keys = [_import_private_key(self.conn_id, self.keys.ssh_private_key, self.keys.ssh_private_key_passphrase)]
        if self.keys.ssh_private_key_pending:
            keys.append(
                _import_private_key(self.conn_id, self.keys.ssh_private_key_pending, None, "ssh_private_key_pending")
            )
        return keys


def parse_connection(conn: ConnectionLike) -> ConnectionSettings:
    """Validate an Airflow connection and return its settings.

    :param conn: an Airflow connection of type ``actito_sftp``.
    :raises ConnectionConfigError: a field is missing or invalid.
    """
    conn_id = conn.conn_id
    extra = _parse_extra(conn_id, conn.extra)
    reader = _ExtraReader(conn_id, extra)
    auth_type = _parse_auth_type(conn_id, extra.get("auth_type"))
    password = conn.password or None
    keys = KeyMaterial(
        ssh_private_key=reader.text("ssh_private_key"),
        ssh_private_key_passphrase=reader.text("ssh_private_key_passphrase"),
        ssh_private_key_pending=reader.text("ssh_private_key_pending"),
        inbound_pgp_private_keys=reader.text("inbound_pgp_private_keys"),
        partner_pgp_public_key=reader.text("partner_pgp_public_key"),
    )
    if auth_type is AuthType.PASSWORD and not password:
        raise ConnectionConfigError(conn_id, "password", "auth_type 'password' needs a password")
    if auth_type is AuthType.SSH_KEY:
        if not keys.ssh_private_key:
            raise ConnectionConfigError(
                conn_id,
                "ssh_private_key",
                "auth_type 'ssh_key' needs a private key; generate one with "
                f"`actito-sftp ssh-key generate {conn_id}` or switch auth_type to 'password'",
            )
        _import_private_key(conn_id, keys.ssh_private_key, keys.ssh_private_key_passphrase)
        if keys.ssh_private_key_pending:
            _import_private_key(conn_id, keys.ssh_private_key_pending, None, "ssh_private_key_pending")
    return ConnectionSettings(
        conn_id=conn_id,
        display_name=reader.text("display_name") or conn_id,
        entity=_required(conn_id, "entity", reader.text("entity")),
        host=_required(conn_id, "host", (conn.host or "").strip() or None),
        port=_parse_port(conn_id, conn.port),
        username=_required(conn_id, "login", (conn.login or "").strip() or None),
        auth_type=auth_type,
        password=password,
        host_keys=_parse_host_key_field(conn_id, reader.text("host_key")),
        locations=parse_locations(conn_id, extra.get("locations")),
        inbound=InboundPolicy(pgp_required=reader.boolean("inbound_pgp_required", False)),
        outbound=OutboundPolicy(
            lock=reader.boolean("outbound_lock", True),
            lock_suffix=_parse_lock_suffix(conn_id, reader.text("outbound_lock_suffix")),
            pgp=reader.boolean("outbound_pgp", False),
            pgp_armor=reader.boolean("outbound_pgp_armor", False),
        ),
        advanced=AdvancedSettings(
            connect_timeout=reader.integer("connect_timeout", 30, 1, 3600),
            keepalive_interval=reader.integer("keepalive_interval", 30, 0, 3600),
            transfer_concurrency=reader.integer("transfer_concurrency", 8, 1, 64),
            ciphers=_parse_ciphers(conn_id, extra.get("ciphers")),
            compression=reader.boolean("compression", False),
        ),
        keys=keys,
    )


def parse_locations(conn_id: str, value: object) -> Mapping[str, str]:
    """Parse the ``locations`` field: a JSON object mapping a location name to an absolute remote folder.

    :param conn_id: for error messages.
    :param value: a mapping, or its JSON text, or None for no locations.
    :raises ConnectionConfigError: malformed JSON, duplicate or invalid names, or unsafe paths.
    """
    if value is None or value == "":
        return MappingProxyType({})
    pairs: list[tuple[str, object]]
    if isinstance(value, str):
        try:
            decoded = json.loads(value, object_pairs_hook=_PairList)
        except json.JSONDecodeError as e:
            raise ConnectionConfigError(
                conn_id,
                "locations",
                f"malformed JSON ({e.msg} at line {e.lineno} column {e.colno}); "
                'expected an object like {"inbound": "/in", "outbound": "/out"}',
            ) from e
        if not isinstance(decoded, _PairList):
            raise ConnectionConfigError(conn_id, "locations", "expected a JSON object of name -> folder path")
        pairs = list(decoded)
    elif isinstance(value, _PairList):
        pairs = list(value)
    elif isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        raise ConnectionConfigError(conn_id, "locations", "expected a JSON object of name -> folder path")
    locations: dict[str, str] = {}
    for name, path in pairs:
        _check_location_name(conn_id, name, locations)
        locations[name] = _check_location_path(conn_id, name, path)
    return MappingProxyType(locations)


class _PairList(list[tuple[str, Any]]):
    """A JSON object kept as its list of pairs, so that duplicate keys stay visible."""


def _parse_extra(conn_id: str, extra: str | None) -> dict[str, Any]:
    if not extra:
        return {}
    try:
        decoded = json.loads(extra, object_pairs_hook=_PairList)
    except json.JSONDecodeError as e:
        # never chain: the decode error holds the whole extra, secrets included
        raise ConnectionConfigError(conn_id, "extra", f"malformed JSON: {e.msg}") from None
    if not isinstance(decoded, _PairList):
        raise ConnectionConfigError(conn_id, "extra", "expected a JSON object")
    return _to_dict_keep_locations(decoded)


def _to_dict_keep_locations(pairs: _PairList) -> dict[str, Any]:
    """Turn the top-level pairs into a dict; nested objects other than ``locations`` become dicts too."""

    def convert(value: Any) -> Any:
        if isinstance(value, _PairList):
            return dict((key, convert(item)) for key, item in value)
        if isinstance(value, list):
            return [convert(item) for item in value]
        return value

    result: dict[str, Any] = {}
    for key, value in pairs:
        result[key] = value if key == "locations" else convert(value)
    return result


class _ExtraReader:
    """Typed access to extra fields with errors that name the field."""

    def __init__(self, conn_id: str, extra: Mapping[str, Any]) -> None:
        self._conn_id = conn_id
        self._extra = extra

    def text(self, name: str) -> str | None:
        value = self._extra.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ConnectionConfigError(self._conn_id, name, f"expected text, got {type(value).__name__}")
        return value.strip() or None

    def boolean(self, name: str, default: bool) -> bool:
        value = self._extra.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _BOOLEAN_WORDS:
            return _BOOLEAN_WORDS[value.strip().lower()]
        raise ConnectionConfigError(self._conn_id, name, f"expected true or false, got {value!r}")

    def integer(self, name: str, default: int, minimum: int, maximum: int) -> int:
        value = self._extra.get(name)
        if value is None or value == "":
            return default
        return _bounded_int(self._conn_id, name, value, minimum, maximum)


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


def _bounded_int(conn_id: str, name: str, value: object, minimum: int, maximum: int) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        number = int(value)
    if number is None or not minimum <= number <= maximum:
        raise ConnectionConfigError(conn_id, name, f"expected an integer from {minimum} to {maximum}, got {value!r}")
    return number


def _parse_port(conn_id: str, port: object) -> int:
    if port is None or port == "":
        return DEFAULT_PORT
    return _bounded_int(conn_id, "port", port, 1, 65535)


def _parse_auth_type(conn_id: str, value: object) -> AuthType:
    if value is None or value == "":
        return AuthType.SSH_KEY
    try:
        return AuthType(str(value).strip())
    except ValueError:
        choices = " or ".join(repr(member.value) for member in AuthType)
        raise ConnectionConfigError(conn_id, "auth_type", f"expected {choices}, got {value!r}") from None


def _required(conn_id: str, name: str, value: str | None) -> str:
    if not value:
        raise ConnectionConfigError(conn_id, name, "is required")
    return value


def _parse_host_key_field(conn_id: str, text: str | None) -> tuple[asyncssh.SSHKey, ...]:
    if not text:
        return ()
    try:
        return parse_host_keys(text)
    except ValueError as e:
        raise ConnectionConfigError(conn_id, "host_key", str(e)) from e


def _parse_lock_suffix(conn_id: str, suffix: str | None) -> str:
    if suffix is None:
        return DEFAULT_LOCK_SUFFIX
    if "/" in suffix or "\x00" in suffix or suffix in {".", ".."}:
        raise ConnectionConfigError(
            conn_id, "outbound_lock_suffix", f"expected a file-name suffix such as '.part', got {suffix!r}"
        )
    return suffix


def _parse_ciphers(conn_id: str, value: object) -> tuple[str, ...]:
    if value is None or value == "" or value == []:
        return DEFAULT_CIPHERS
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not all(isinstance(name, str) for name in names):
        raise ConnectionConfigError(conn_id, "ciphers", "expected a comma-separated list of cipher names")
    ciphers = tuple(name.strip() for name in names if name.strip())
    supported = {name.decode("ascii") for name in asyncssh.encryption.get_encryption_algs()}
    unknown = [name for name in ciphers if name not in supported]
    if unknown:
        raise ConnectionConfigError(
            conn_id, "ciphers", f"unsupported cipher(s) {', '.join(unknown)}; supported: {', '.join(sorted(supported))}"
        )
    return ciphers


def _check_location_name(conn_id: str, name: object, seen: Mapping[str, str]) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ConnectionConfigError(conn_id, "locations", "a location name is empty")
    if name in seen:
        raise ConnectionConfigError(conn_id, "locations", f"location name {name!r} is defined twice")
    if not LOCATION_NAME_PATTERN.fullmatch(name):
        raise ConnectionConfigError(
            conn_id,
            "locations",
            f"location name {name!r} is invalid; use 1-64 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit",
        )


def _check_location_path(conn_id: str, name: str, path: object) -> str:
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConnectionConfigError(
            conn_id,
            "locations",
            f"location {name!r}: expected an absolute folder path such as '/inbound', got {path!r}",
        )
    if "\x00" in path or ".." in PurePosixPath(path).parts:
        raise ConnectionConfigError(
            conn_id, "locations", f"location {name!r}: path {path!r} must not contain '..' or NUL characters"
        )
    normalized = str(PurePosixPath(path))
    return normalized


def _import_private_key(
    conn_id: str, key_text: str | None, passphrase: str | None, field_name: str = "ssh_private_key"
) -> asyncssh.SSHKey:
    if not key_text:
        raise ConnectionConfigError(conn_id, field_name, "no SSH private key is stored")
    try:
        return asyncssh.import_private_key(key_text, passphrase)
    except (asyncssh.KeyEncryptionError, asyncssh.KeyImportError) as e:
        if "passphrase must be specified" in str(e).lower():
            problem = f"{field_name} is encrypted: set ssh_private_key_passphrase"
        elif isinstance(e, asyncssh.KeyEncryptionError):
            problem = f"the passphrase does not decrypt {field_name}"
        else:
            raise ConnectionConfigError(
                conn_id, field_name, "not a readable private key (OpenSSH or PEM format expected)"
            ) from None  # never chain: the cause could quote key material
        raise ConnectionConfigError(conn_id, "ssh_private_key_passphrase", problem) from None
    except Exception:  # asyncssh raises several types on damaged keys; none may escape with key bytes
        raise ConnectionConfigError(
            conn_id, field_name, "not a readable private key (OpenSSH or PEM format expected)"
        ) from None  # never chain: the cause could quote key material
