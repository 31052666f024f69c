"""The connection model: an Airflow connection of type ``actito_sftp`` parsed once into typed settings.

Fields live in the Airflow columns (host, port, login, password) and in ``extra`` under bare names, as
declared once in :mod:`airflow_provider_actito_sftp.connection.schema`. Secret material is
kept only in extra keys whose names the Airflow secrets masker hides (``*private_key*``, ``*passphrase*``).
Every invalid value raises :class:`~airflow_provider_actito_sftp.exceptions.ConnectionConfigError`
naming the connection and the field.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

import asyncssh

from airflow_provider_actito_sftp.connection.schema import FIELDS, AuthType
from airflow_provider_actito_sftp.exceptions import ConnectionConfigError, PgpKeyError, UnknownLocationError
from airflow_provider_actito_sftp.pgp.armor import check_secret_keys
from airflow_provider_actito_sftp.ssh.host_keys import parse_host_keys
from airflow_provider_actito_sftp.ssh.targets import checked_host

__all__ = ["AuthType", "ConnectionSettings", "parse_connection", "parse_locations"]

LOCATION_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_LOCATIONS = 100
MAX_LOCATION_PATH = 1024


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


_Group = TypeVar("_Group")


@dataclass(frozen=True)
class InboundPolicy:
    """Rules for files we download (fields ``inbound_*``; defaults in the schema).

    :param pgp_required: every downloaded file must be PGP-encrypted to our inbound key.
    """

    pgp_required: bool


@dataclass(frozen=True)
class OutboundPolicy:
    """Rules for files we upload (fields ``outbound_*``; defaults in the schema).

    :param lock: upload under ``<name><lock_suffix>`` and rename when complete.
    :param lock_suffix: the temporary suffix used while an upload is in progress.
    :param pgp: encrypt every upload to the partner's public key.
    :param pgp_armor: write ASCII-armored PGP instead of binary.
    """

    lock: bool
    lock_suffix: str
    pgp: bool
    pgp_armor: bool


@dataclass(frozen=True)
class AdvancedSettings:
    """Transport tuning (the advanced fields; safe defaults in the schema).

    :param connect_timeout: seconds allowed to connect and authenticate.
    :param keepalive_interval: seconds between SSH keepalives (0 disables them).
    :param transfer_concurrency: files moved at once over one session.
    :param ciphers: SSH ciphers in order of preference.
    :param compression: enable SSH compression (helps only on slow links with compressible data).
    :param legacy_algorithms: the weaker algorithms accepted for this server (``ssh-rsa``, ``cbc``; usually none).
    """

    connect_timeout: int
    keepalive_interval: int
    transfer_concurrency: int
    ciphers: tuple[str, ...]
    compression: bool
    legacy_algorithms: tuple[str, ...] = ()


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

    Every field of :data:`~airflow_provider_actito_sftp.connection.schema.FIELDS` is read through
    :meth:`~airflow_provider_actito_sftp.connection.schema.Field.read`; the checks that need more than a
    type (locations, host keys, ciphers, the lock suffix, key material) follow.

    :param conn: an Airflow connection of type ``actito_sftp``.
    :raises ConnectionConfigError: a field is missing or invalid.
    """
    conn_id = conn.conn_id
    values = read_fields(conn_id, raw_values(conn_id, conn))
    auth_type = AuthType(values["auth_type"])
    keys = _group(KeyMaterial, values)
    if auth_type.uses_password and not values["password"]:
        raise ConnectionConfigError(conn_id, "password", f"{auth_type.label} authentication needs a password")
    if auth_type.uses_key:
        if not keys.ssh_private_key:
            raise ConnectionConfigError(
                conn_id,
                "ssh_private_key",
                f"{auth_type.label} authentication needs a private key; generate one with "
                f"`actito-sftp ssh-key generate {conn_id}` or switch to password authentication",
                on_page=f"{auth_type.label} authentication needs our key pair: press “Generate a new key pair” on "
                "the Server configuration tab, or switch Authentication to Password",
            )
        _import_private_key(conn_id, keys.ssh_private_key, keys.ssh_private_key_passphrase)
        if keys.ssh_private_key_pending:
            _import_private_key(conn_id, keys.ssh_private_key_pending, None, "ssh_private_key_pending")
    if keys.inbound_pgp_private_keys:
        _check_inbound_pgp_keys(conn_id, keys.inbound_pgp_private_keys)
    values["host"] = checked_host(conn_id, values["host"])
    values["locations"] = parse_locations(conn_id, values["locations"])
    values["host_key"] = _parse_host_key_field(conn_id, values["host_key"])
    values["ciphers"] = _check_ciphers(conn_id, values["ciphers"])
    values["outbound_lock_suffix"] = _check_lock_suffix(conn_id, values["outbound_lock_suffix"])
    return ConnectionSettings(
        conn_id=conn_id,
        display_name=values["display_name"] or conn_id,
        entity=values["entity"],
        host=values["host"],
        port=values["port"],
        username=values["username"],
        auth_type=auth_type,
        password=values["password"],
        host_keys=values["host_key"],
        locations=values["locations"],
        inbound=_group(InboundPolicy, values, "inbound_"),
        outbound=_group(OutboundPolicy, values, "outbound_"),
        advanced=_group(AdvancedSettings, values),
        keys=keys,
    )


def raw_values(conn_id: str, conn: ConnectionLike) -> dict[str, Any]:
    """Each field's stored value, by field name: Airflow columns and ``extra`` keys alike."""
    extra = _parse_extra(conn_id, conn.extra)
    columns = {"host": conn.host, "port": conn.port, "login": conn.login, "password": conn.password}
    return {field.name: columns[field.column] if field.column else extra.get(field.name) for field in FIELDS}


def read_fields(conn_id: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Each field's typed value (or default), by field name; raises on the first invalid field."""
    return {field.name: field.read(conn_id, raw.get(field.name)) for field in FIELDS}


def _group(cls: type[_Group], values: Mapping[str, Any], prefix: str = "") -> _Group:
    """Build one settings group from the fields named ``<prefix><attribute>``."""
    return cls(**{item.name: values[prefix + item.name] for item in dataclasses.fields(cls)})  # type: ignore[arg-type]


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
    if len(pairs) > MAX_LOCATIONS:
        problem = f"{len(pairs)} locations; at most {MAX_LOCATIONS} are allowed"
        raise ConnectionConfigError(conn_id, "locations", problem)
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


def _parse_host_key_field(conn_id: str, text: str | None) -> tuple[asyncssh.SSHKey, ...]:
    if not text:
        return ()
    try:
        return parse_host_keys(text)
    except ValueError as e:
        raise ConnectionConfigError(conn_id, "host_key", str(e)) from e


def _check_lock_suffix(conn_id: str, suffix: str) -> str:
    if "/" in suffix or "\x00" in suffix or suffix in {".", ".."}:
        raise ConnectionConfigError(
            conn_id, "outbound_lock_suffix", f"expected a file-name suffix such as '.part', got {suffix!r}"
        )
    return suffix


def _check_ciphers(conn_id: str, ciphers: tuple[str, ...]) -> tuple[str, ...]:
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
    if len(path) > MAX_LOCATION_PATH:
        problem = f"location {name!r}: the path has {len(path):,} characters; at most {MAX_LOCATION_PATH}"
        raise ConnectionConfigError(conn_id, "locations", problem)
    if "\x00" in path or ".." in PurePosixPath(path).parts:
        raise ConnectionConfigError(
            conn_id, "locations", f"location {name!r}: path {path!r} must not contain '..' or NUL characters"
        )
    normalized = str(PurePosixPath(path))
    return normalized


def _check_inbound_pgp_keys(conn_id: str, armored: str) -> None:
    """Our inbound PGP keys, checked without gpg (armor, checksum, packets): garbage is named when the hook
    starts, not when the first PGP file arrives."""
    try:
        check_secret_keys(armored)
    except PgpKeyError as e:
        raise ConnectionConfigError(
            conn_id,
            "inbound_pgp_private_keys",
            f"{e}; restore the keys, or generate new ones (`actito-sftp pgp-key generate {conn_id} --force`) "
            "and give partners the new public key",
        ) from None  # never chain: nothing of the key text may travel with the error


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
