"""The connection model: every field parsed once, every invalid value named with the connection and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from airflow.sdk import Connection

from airflow_provider_actito_sftp.connection.schema import DEFAULT_CIPHERS
from airflow_provider_actito_sftp.connection.settings import (
    AuthType,
    ConnectionSettings,
    parse_connection,
)
from airflow_provider_actito_sftp.exceptions import ConnectionConfigError, UnknownLocationError
from airflow_provider_actito_sftp.pgp.keys import (
    PgpKeyType,
    add_inbound_key,
    export_newest_public_key,
    generate_inbound_key,
)

PRIVATE_KEY = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
HOST_KEY = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()


def _connection(extra: dict[str, Any] | str | None = None, **columns: Any) -> Connection:
    base_extra: dict[str, Any] = {
        "entity": "acme",
        "ssh_private_key": PRIVATE_KEY,
        "host_key": HOST_KEY,
        "locations": {"inbound": "/in", "outbound": "/out"},
    }
    if isinstance(extra, dict):
        base_extra.update(extra)
        base_extra = {key: value for key, value in base_extra.items() if value is not None}
    extra_text = extra if isinstance(extra, str) else json.dumps(base_extra)
    fields: dict[str, Any] = {"host": "sftp.partner.example", "login": "actito", **columns}
    return Connection(conn_id="partner", conn_type="actito_sftp", extra=extra_text, **fields)


def _error(extra: dict[str, Any] | str | None = None, **columns: Any) -> ConnectionConfigError:
    with pytest.raises(ConnectionConfigError) as raised:
        parse_connection(_connection(extra, **columns))
    return raised.value


class TestDefaults:
    def test_minimal_connection_gets_safe_defaults(self):
        settings = parse_connection(_connection())
        assert isinstance(settings, ConnectionSettings)
        assert settings.conn_id == "partner"
        assert settings.display_name == "partner"
        assert settings.port == 22
        assert settings.auth_type is AuthType.SSH_KEY
        assert settings.outbound.lock is True
        assert settings.outbound.lock_suffix == ".part"
        assert settings.outbound.pgp is False
        assert settings.inbound.pgp_required is False
        assert settings.advanced.ciphers == DEFAULT_CIPHERS
        assert settings.advanced.connect_timeout == 30
        assert settings.advanced.transfer_concurrency == 8
        assert settings.advanced.compression is False
        assert len(settings.host_keys) == 1

    def test_every_field_is_read(self):
        settings = parse_connection(
            _connection(
                {
                    "display_name": "ACME (prod)",
                    "entity": "acme-eu",
                    "inbound_pgp_required": True,
                    "outbound_lock": "false",
                    "outbound_lock_suffix": ".filepart",
                    "outbound_pgp": "true",
                    "outbound_pgp_armor": True,
                    "connect_timeout": "12",
                    "keepalive_interval": 0,
                    "transfer_concurrency": 16,
                    "ciphers": "aes256-gcm@openssh.com, aes128-ctr",
                    "compression": True,
                },
                port=2222,
            )
        )
        assert (settings.display_name, settings.entity, settings.port) == ("ACME (prod)", "acme-eu", 2222)
        assert settings.inbound.pgp_required is True
        assert settings.outbound.lock is False
        assert settings.outbound.lock_suffix == ".filepart"
        assert settings.outbound.pgp is True
        assert settings.outbound.pgp_armor is True
        assert settings.advanced.connect_timeout == 12
        assert settings.advanced.keepalive_interval == 0
        assert settings.advanced.transfer_concurrency == 16
        assert settings.advanced.ciphers == ("aes256-gcm@openssh.com", "aes128-ctr")
        assert settings.advanced.compression is True

    def test_settings_are_immutable_and_repr_hides_secrets(self):
        settings = parse_connection(_connection(password="hunter2"))
        with pytest.raises(AttributeError):
            settings.port = 23  # type: ignore[misc]
        with pytest.raises(TypeError):
            settings.locations["x"] = "/x"  # type: ignore[index]
        text = repr(settings)
        assert "hunter2" not in text
        assert "PRIVATE KEY" not in text

    def test_locations_resolve_and_are_normalised(self):
        settings = parse_connection(_connection({"locations": {"inbound": "/data//in/"}}))
        assert settings.location_path("inbound") == "/data/in"
        with pytest.raises(UnknownLocationError, match="known locations: 'inbound'"):
            settings.location_path("outbound")

    def test_locations_may_be_json_text(self):
        settings = parse_connection(_connection({"locations": '{"a": "/x", "b": "/y"}'}))
        assert dict(settings.locations) == {"a": "/x", "b": "/y"}

    def test_password_auth(self):
        settings = parse_connection(_connection({"auth_type": "password", "ssh_private_key": None}, password="pw"))
        assert settings.auth_type is AuthType.PASSWORD
        assert settings.password == "pw"


class TestInvalidFields:
    """Each error names the connection and the field, and says what is expected."""

    def test_a_host_with_its_port_is_refused_naming_the_port_field_and_ipv6_brackets_are_dropped(self):
        """Issue 26.5: the same rule for the CLI, the page and Airflow's form (each reads the host here)."""
        error = _error(host="sftp.partner.example:2222")
        assert str(error) == (
            "Connection 'partner', field 'host': 'sftp.partner.example:2222' holds a port: put the server alone in "
            "Host ('sftp.partner.example') and 2222 in the Port field"
        )
        assert parse_connection(_connection(host="[2001:db8::1]")).host == "2001:db8::1"

    def test_key_and_password_needs_both(self):
        both = {"auth_type": "ssh_key_and_password"}
        assert "SSH key and password authentication needs a password" in str(_error(both))
        no_key = _error({**both, "ssh_private_key": None}, password="pw")
        assert no_key.field == "ssh_private_key"
        assert "SSH key and password authentication needs a private key" in str(no_key)
        settings = parse_connection(_connection(both, password="pw"))
        assert (settings.auth_type.uses_key, settings.auth_type.uses_password) == (True, True)

    @pytest.mark.parametrize("port", [0, 65536, 70000, -1])
    def test_port_out_of_range(self, port: int):
        error = _error(port=port)
        assert (error.conn_id, error.field) == ("partner", "port")
        assert str(error) == f"Connection 'partner', field 'port': expected an integer from 1 to 65535, got {port}"

    @pytest.mark.parametrize("port", [0, "0"])
    def test_port_zero_is_an_error_not_the_default(self, port: object):
        """Port 0 is refused like any out-of-range port; only a missing port means 22."""
        error = _error(port=port)
        assert (error.conn_id, error.field) == ("partner", "port")
        assert str(error) == f"Connection 'partner', field 'port': expected an integer from 1 to 65535, got {port!r}"
        assert parse_connection(_connection(port=None)).port == 22

    def test_port_zero_in_a_connection_uri_is_an_error(self):
        uri_port = Connection.from_uri("actito-sftp://actito@sftp.partner.example:0", conn_id="partner").port
        assert uri_port == 0  # Airflow keeps it: it must not become 22 on our side either
        assert _error(port=uri_port).field == "port"

    def test_unknown_auth_type(self):
        error = _error({"auth_type": "kerberos"})
        assert str(error) == (
            "Connection 'partner', field 'auth_type': expected 'ssh_key', 'password' or 'ssh_key_and_password', "
            "got 'kerberos'"
        )

    def test_ssh_key_without_private_key(self):
        error = _error({"ssh_private_key": None})
        assert error.field == "ssh_private_key"
        assert "SSH key authentication needs a private key" in str(error)
        assert "actito-sftp ssh-key generate partner" in str(error)

    def test_unreadable_private_key_does_not_echo_it(self):
        garbage = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWJ1dC1icm9rZW4=\n-----END OPENSSH PRIVATE KEY-----"
        error = _error({"ssh_private_key": garbage})
        assert error.field == "ssh_private_key"
        assert "c2VjcmV0" not in str(error)
        assert error.__cause__ is None
        assert error.__suppress_context__ is True

    def test_wrong_passphrase_for_private_key(self):
        encrypted = asyncssh.generate_private_key("ssh-ed25519").export_private_key(passphrase="right").decode()
        error = _error({"ssh_private_key": encrypted, "ssh_private_key_passphrase": "wrong"})
        assert error.field == "ssh_private_key_passphrase"

    def test_password_auth_without_password(self):
        error = _error({"auth_type": "password"})
        assert str(error) == "Connection 'partner', field 'password': password authentication needs a password"

    def test_missing_host(self):
        assert _error(host="").field == "host"

    def test_missing_username(self):
        assert _error(login=None).field == "username"

    def test_missing_entity(self):
        assert str(_error({"entity": None})) == "Connection 'partner', field 'entity': is required"

    @pytest.mark.parametrize("path", ["relative/in", "in", "", 42])
    def test_location_path_not_absolute(self, path: object):
        error = _error({"locations": {"inbound": path}})
        assert error.field == "locations"
        assert "location 'inbound': expected an absolute folder path" in str(error)

    @pytest.mark.parametrize("path", ["/data/../etc", "/..", "/in/.."])
    def test_location_path_with_dotdot(self, path: str):
        error = _error({"locations": {"inbound": path}})
        assert str(error) == (
            f"Connection 'partner', field 'locations': location 'inbound': path {path!r} "
            "must not contain '..' or NUL characters"
        )

    def test_location_path_with_nul(self):
        assert "NUL" in str(_error({"locations": {"inbound": "/in\x00/x"}}))

    def test_duplicate_location_names_in_json_text(self):
        error = _error({"locations": '{"inbound": "/a", "inbound": "/b"}'})
        assert str(error) == "Connection 'partner', field 'locations': location name 'inbound' is defined twice"

    def test_duplicate_location_names_in_extra_object(self):
        # The whole extra as raw JSON text, with the duplicate inside the locations object.
        extra = '{"entity": "acme", "auth_type": "password", "locations": {"inbound": "/a", "inbound": "/b"}}'
        error = _error(extra, password="pw")
        assert "'inbound' is defined twice" in str(error)

    @pytest.mark.parametrize("name", ["", "   "])
    def test_empty_location_name(self, name: str):
        assert str(_error({"locations": {name: "/a"}})) == (
            "Connection 'partner', field 'locations': a location name is empty"
        )

    def test_location_name_with_slash(self):
        assert "location name 'in/box' is invalid" in str(_error({"locations": {"in/box": "/a"}}))

    @pytest.mark.parametrize("text", ['{"inbound": "/in",}', "{inbound: /in}", '["/in"]', "not json"])
    def test_malformed_locations_json(self, text: str):
        error = _error({"locations": text})
        assert error.field == "locations"
        assert "JSON" in str(error)

    def test_malformed_extra_json(self):
        assert _error("{not json").field == "extra"

    def test_host_key_that_does_not_parse(self):
        error = _error({"host_key": f"{HOST_KEY}\nssh-ed25519 AAAAnot-base64!!"})
        assert str(error) == (
            "Connection 'partner', field 'host_key': line 2 is not an OpenSSH public key "
            "(expected '<type> <base64>', e.g. 'ssh-ed25519 AAAA...')"
        )

    def test_host_key_private_key_pasted_by_mistake(self):
        error = _error({"host_key": PRIVATE_KEY})
        assert error.field == "host_key"
        assert "BEGIN" not in str(error)

    @pytest.mark.parametrize(("field", "value"), [("outbound_lock", "maybe"), ("inbound_pgp_required", 2)])
    def test_boolean_fields(self, field: str, value: object):
        error = _error({field: value})
        assert str(error) == f"Connection 'partner', field {field!r}: expected true or false, got {value!r}"

    @pytest.mark.parametrize(
        ("field", "value", "bounds"),
        [
            ("connect_timeout", 0, "1 to 3600"),
            ("keepalive_interval", "soon", "0 to 3600"),
            ("transfer_concurrency", 65, "1 to 64"),
        ],
    )
    def test_integer_fields(self, field: str, value: object, bounds: str):
        error = _error({field: value})
        assert str(error) == f"Connection 'partner', field {field!r}: expected an integer from {bounds}, got {value!r}"

    @pytest.mark.parametrize("suffix", ["/tmp", "a/b", ".."])
    def test_lock_suffix_must_be_a_name_suffix(self, suffix: str):
        assert _error({"outbound_lock_suffix": suffix}).field == "outbound_lock_suffix"

    def test_unknown_cipher(self):
        error = _error({"ciphers": "aes128-gcm@openssh.com,rot13"})
        assert error.field == "ciphers"
        assert "unsupported cipher(s) rot13" in str(error)


class TestReviewRegressions:
    def test_malformed_extra_error_does_not_chain_the_secret_text(self):
        error = _error('{"ssh_private_key": "-----BEGIN OPENSSH PRIVATE KEY----- s3cr3t", oops}')
        assert error.__cause__ is None
        assert error.__suppress_context__ is True
        assert "s3cr3t" not in str(error)

    @pytest.mark.parametrize("port", ["--5", "²", "1e3"])
    def test_odd_port_text_is_a_field_error(self, port: str):
        assert _error(port=port).field == "port"

    def test_location_name_with_trailing_newline(self):
        assert "is invalid" in str(_error({"locations": {"inbound\n": "/in"}}))

    def test_known_hosts_line_whose_host_starts_like_a_key_type(self):
        settings = parse_connection(_connection({"host_key": f"ssh-gw.partner.example {HOST_KEY}"}))
        assert len(settings.host_keys) == 1

    def test_encrypted_key_without_passphrase_says_so(self):
        encrypted = asyncssh.generate_private_key("ssh-ed25519").export_private_key(passphrase="pw").decode()
        error = _error({"ssh_private_key": encrypted})
        assert error.field == "ssh_private_key_passphrase"
        assert "is encrypted: set ssh_private_key_passphrase" in str(error)


@pytest.fixture(scope="module")
def inbound_keys() -> str:
    """Our inbound keys as the provider stores them after a rotation: an ed25519 and an RSA key."""
    keys, _ = generate_inbound_key("partner", PgpKeyType.ED25519)
    return add_inbound_key("partner", keys, PgpKeyType.RSA3072)[0]


class TestInboundPgpKeys:
    """Issue 21.9: garbage in ``inbound_pgp_private_keys`` is named when the hook starts (by the parser, without
    gpg), not when the first PGP file arrives."""

    @pytest.mark.parametrize(
        ("garbage", "reason"),
        [
            ("(armored keys)", "not an armored PGP key block"),
            ("-----BEGIN PGP PRIVATE KEY BLOCK-----\nc2VjcmV0LWJ1dC1icm9rZW4=\n", "no -----END PGP PRIVATE KEY"),
            (
                "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nc2VjcmV0LWJ1dC1icm9rZW4=\n"
                "-----END PGP PRIVATE KEY BLOCK-----\n",
                "does not hold OpenPGP packets",
            ),
        ],
    )
    def test_garbage_is_an_error_of_the_field_that_never_quotes_it(self, garbage: str, reason: str):
        error = _error({"inbound_pgp_private_keys": garbage})
        assert (error.conn_id, error.field) == ("partner", "inbound_pgp_private_keys")
        assert str(error).startswith("Connection 'partner', field 'inbound_pgp_private_keys': ")
        assert reason in str(error)
        assert "actito-sftp pgp-key generate partner --force" in str(error)
        assert "c2VjcmV0" not in str(error)
        assert error.__cause__ is None

    def test_a_damaged_copy_of_our_keys_is_an_error(self, inbound_keys: str):
        lines = inbound_keys.splitlines()
        lines[len(lines) // 2] = lines[len(lines) // 2][::-1]  # one line of the base64 scrambled
        error = _error({"inbound_pgp_private_keys": "\n".join(lines)})
        assert error.field == "inbound_pgp_private_keys"
        assert "the checksum does not match" in str(error)
        assert lines[len(lines) // 2][:12] not in str(error)

    def test_our_public_key_by_mistake_is_an_error(self, inbound_keys: str):
        public, _ = export_newest_public_key(inbound_keys)
        error = _error({"inbound_pgp_private_keys": public})
        assert "is a PGP PUBLIC KEY BLOCK, not secret keys" in str(error)

    def test_the_keys_we_generate_and_rotate_pass_without_running_gpg(
        self, inbound_keys: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ):
        monkeypatch.setenv("PATH", str(tmp_path))  # no gpg, no program at all: the check starts none
        settings = parse_connection(_connection({"inbound_pgp_private_keys": inbound_keys}))
        assert settings.keys.inbound_pgp_private_keys == inbound_keys
