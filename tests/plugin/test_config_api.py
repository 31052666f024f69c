"""The configuration API on a real Airflow API server: an integration configured end to end, and who may."""

from __future__ import annotations

import base64
import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet

from airflow_provider_actito_sftp.connection.schema import FIELDS
from airflow_provider_actito_sftp.connection.variable_keys import StateKind, state_key
from airflow_provider_actito_sftp.ssh.keys import generate_ssh_key
from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.sshd import SshServer, chown_tree
from tests.cli.support import fingerprint_of
from tests.plugin.conftest import plugin_stack, serve

ENV_PASSWORD = "env-only-password-nobody-may-see"  # must never be shown
WRONG_FINGERPRINT = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
RESPONSES: list[str] = []  # every response body, checked for secrets at the end
ENV_SSH_KEY = generate_ssh_key(comment="env-keyed")  # the private key of the read-only ``env_keyed``


@pytest.fixture(scope="module")
def api(sshd: SshServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """An API server with the plugin, an ``acme_cfg`` connection and a read-only ``env_only`` one (env var)."""
    base = tmp_path_factory.mktemp("config_api")
    (base / "dags").mkdir()
    stack = plugin_stack(base / "airflow", base / "dags")
    folder = sshd.make_folder("config_api/in")
    chown_tree(folder, sshd.user)
    stack.actito_sftp(
        *("connection", "create", "acme_cfg", "--entity", "acme", "--host", sshd.host, "--port", str(sshd.port)),
        *("--username", sshd.user.name, f"--location=inbound={folder}", "--trust-on-first-use"),
    )
    extra = {"entity": "acme", "auth_type": "password", "host_key": sshd.host_key_line, "locations": {}}
    stack.env["AIRFLOW_CONN_ENV_ONLY"] = json.dumps(
        {"conn_type": "actito_sftp", "host": sshd.host, "port": sshd.port, "login": "u", "password": ENV_PASSWORD}
        | {"extra": extra}
    )
    keyed = {**extra, "auth_type": "ssh_key", "display_name": "Keyed", "ssh_private_key": ENV_SSH_KEY.private_key}
    stack.env["AIRFLOW_CONN_ENV_KEYED"] = json.dumps(
        {"conn_type": "actito_sftp", "host": sshd.host, "port": sshd.port, "login": "u", "password": ENV_PASSWORD}
        | {"extra": keyed}
    )
    server = serve(stack)
    yield {**server, "sshd": sshd, "folder": folder}
    stack.stop()


def _call(
    api: dict[str, Any],
    method: str,
    path: str,
    user: str | None = "admin",
    body: Any = None,
    *,
    origin: str | None = None,
    form: bool = False,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api['tokens'][user]}"} if user else {}
    if origin is not None:
        headers["Origin"] = origin
    content: dict[str, Any] = {"data": {"confirm": "yes"}} if form else {"json": {} if body is None else body}
    if method == "GET":
        content = {}
    response = httpx.request(method, f"{api['url']}/actito{path}", headers=headers, timeout=120, **content)
    RESPONSES.append(response.text)
    return response


def _fingerprint(api: dict[str, Any]) -> str:
    return fingerprint_of(api["sshd"].host_key_line)


def _secrets(api: dict[str, Any], conn_id: str) -> list[str]:
    """The connection's secret fields as stored (decrypted with the stack's Fernet key)."""
    rows = api["stack"].query("SELECT extra, is_extra_encrypted FROM connection WHERE conn_id = ?", conn_id)
    if not rows:
        return []
    extra_text, encrypted = rows[0]
    if encrypted:
        fernet = Fernet(api["stack"].env["AIRFLOW__CORE__FERNET_KEY"].encode())
        extra_text = fernet.decrypt(extra_text.encode()).decode()
    extra = json.loads(extra_text)
    secrets = ("ssh_private_key", "ssh_private_key_pending", "inbound_pgp_private_keys")
    return [extra[name] for name in secrets if extra.get(name)]


def _assert_never_shown(secret: str) -> None:
    lines = [line for line in secret.splitlines() if len(line) > 20 and not line.startswith("-----")]
    assert lines
    for text in RESPONSES:
        assert not any(line in text for line in lines)
        assert "PRIVATE KEY" not in text


def test_schema_lists_every_field(api):
    response = _call(api, "GET", "/api/schema", "reader")
    assert response.status_code == 200, response.text
    fields = {field["name"]: field for field in response.json()["fields"]}
    assert list(fields) == [field.name for field in FIELDS]
    assert fields["port"] | {"help": ""} == {
        "name": "port",
        "label": "Port",
        "help": "",
        "screen": "server",
        "kind": "integer",
        "default": 22,
        "minimum": 1,
        "maximum": 65535,
        "choices": [],
        "choice_labels": {},
        "required": False,
        "secret": False,
        "generated": False,
        "placeholder": "22",
    }
    assert fields["ciphers"]["default"][0] == "aes128-gcm@openssh.com"
    assert fields["auth_type"]["choices"] == ["ssh_key", "password", "ssh_key_and_password"]
    assert fields["auth_type"]["choice_labels"] == {  # as users read them
        "ssh_key": "SSH key",
        "password": "password",
        "ssh_key_and_password": "SSH key and password",
    }
    assert (fields["password"]["secret"], fields["ssh_private_key"]["generated"]) == (True, True)


def test_host_key_fetch(api):
    sshd = api["sshd"]
    offer = _call(api, "POST", "/api/host-key/fetch", body={"host": sshd.host, "port": sshd.port})
    assert offer.status_code == 200, offer.text
    assert offer.json() == {
        "host": sshd.host,
        "port": sshd.port,
        "algorithm": "ssh-ed25519",
        "fingerprint": _fingerprint(api),
        "keys": [{"algorithm": "ssh-ed25519", "fingerprint": _fingerprint(api)}],  # the one the server presents
    }
    for weaker in (["cbc"], "ssh-rsa, cbc"):  # a list, or the form's text: accepting more changes nothing here
        body = {"host": sshd.host, "port": sshd.port, "legacy_algorithms": weaker}
        accepting = _call(api, "POST", "/api/host-key/fetch", body=body)
        assert (accepting.status_code, accepting.json()["fingerprint"]) == (200, _fingerprint(api)), accepting.text
    unknown = _call(api, "POST", "/api/host-key/fetch", body={"host": sshd.host, "legacy_algorithms": "cbc,md5"})
    assert (unknown.status_code, unknown.json()["field"]) == (400, "legacy_algorithms"), unknown.text
    assert unknown.json()["detail"] == "Legacy algorithms (weaker): expected words among 'ssh-rsa', 'cbc', got 'md5'"
    unreachable = _call(api, "POST", "/api/host-key/fetch", body={"host": "127.0.0.1", "port": 1})
    assert unreachable.status_code == 400
    assert unreachable.json()["detail"].startswith("could not fetch the host key of 127.0.0.1:1")
    assert unreachable.json()["field"] is None
    malformed = _call(api, "POST", "/api/host-key/fetch", body={"host": sshd.host, "port": "ssh"})
    assert (malformed.status_code, malformed.json()["field"]) == (400, "port")
    assert _call(api, "POST", "/api/host-key/fetch", body={"port": 22}).json()["field"] == "host"


def test_an_integration_configured_end_to_end(api):
    sshd, conn_id = api["sshd"], "cfg_e2e"
    values = {"entity": "marketing", "display_name": "E2E", "host": sshd.host, "port": sshd.port}
    creation = {"conn_id": conn_id, "values": {**values, "username": sshd.user.name}}

    wrong_pin = {**creation, "host_key": {"expected_fingerprint": WRONG_FINGERPRINT}}
    mismatch = _call(api, "POST", "/api/connections", body=wrong_pin)
    assert mismatch.status_code == 400, mismatch.text
    assert WRONG_FINGERPRINT in mismatch.json()["detail"]
    assert _fingerprint(api) in mismatch.json()["detail"]
    assert _call(api, "GET", f"/api/connections/{conn_id}").status_code == 404
    unconfirmed = _call(api, "POST", "/api/connections", body=creation)
    assert unconfirmed.status_code == 400
    assert "confirm one of these fingerprints with the partner" in unconfirmed.json()["detail"]
    invalid = _call(api, "POST", "/api/connections", body={**creation, "conn_id": "has space"})
    assert (invalid.status_code, invalid.json()["field"]) == (400, "conn_id")
    missing = _call(api, "POST", "/api/connections", body={"conn_id": "x_missing", "values": values})
    assert (missing.status_code, missing.json()["field"]) == (400, "username")

    confirmed = {**creation, "host_key": {"expected_fingerprint": _fingerprint(api)}}
    created = _call(api, "POST", "/api/connections", body=confirmed)
    assert created.status_code == 201, created.text
    assert created.json()["conn_id"] == conn_id
    assert created.json()["host_key_fingerprint"] == _fingerprint(api)
    public_key = created.json()["ssh_key"]["public_key"]
    assert public_key.startswith("ssh-ed25519 ")
    again = _call(api, "POST", "/api/connections", body=confirmed)
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]
    sshd.add_authorized_key(public_key)

    folder = sshd.make_folder("config_api/e2e_in")
    chown_tree(folder, sshd.user)
    inbound = f"/api/connections/{conn_id}/locations/inbound"
    absent = _call(api, "PUT", inbound, body={"path": "/nowhere", "check": True})
    assert absent.status_code == 400, absent.text
    assert "/nowhere" in absent.json()["detail"]
    located = _call(api, "PUT", inbound, body={"path": str(folder), "check": True})
    assert located.status_code == 200, located.text
    assert located.json()["locations"] == {"inbound": str(folder)}
    extra = _call(api, "PUT", f"/api/connections/{conn_id}/locations/later", body={"path": "/later"})
    assert extra.json()["locations"] == {"inbound": str(folder), "later": "/later"}
    removed = _call(api, "DELETE", f"/api/connections/{conn_id}/locations/later")
    assert removed.json()["locations"] == {"inbound": str(folder)}

    require_pgp = {"values": {"inbound_pgp_required": True}}
    refused = _call(api, "PATCH", f"/api/connections/{conn_id}", body=require_pgp)
    assert refused.status_code == 400
    assert "cannot require inbound PGP without an inbound key pair" in refused.json()["detail"]
    generated = _call(api, "POST", f"/api/connections/{conn_id}/pgp-key/generate", body={"expires": "1y"})
    assert generated.status_code == 200, generated.text
    assert len(generated.json()["fingerprint"]) == 40
    required = _call(api, "PATCH", f"/api/connections/{conn_id}", body=require_pgp)
    assert required.status_code == 200, required.text
    assert required.json()["inbound_pgp_required"] is True
    assert required.json()["inbound_pgp_keys"][0]["fingerprint"] == generated.json()["fingerprint"]
    entity = _call(api, "PATCH", f"/api/connections/{conn_id}", body={"values": {"entity": "other"}})
    assert (entity.status_code, entity.json()["field"]) == (400, "entity")
    assert "Entity: is fixed after creation" in entity.json()["detail"]  # the CLI's rule too (tests/cli)
    port = _call(api, "PATCH", f"/api/connections/{conn_id}", body={"values": {"port": "not a port"}})
    assert (port.status_code, port.json()["field"]) == (400, "port")

    with PartnerGpg() as partner:
        fingerprint = partner.generate()
        secret_key, public_key_text = partner.export_secret(fingerprint), partner.export_public(fingerprint)
    secret = _call(api, "PUT", f"/api/connections/{conn_id}/partner-key", body={"public_key": secret_key})
    assert secret.status_code == 400, secret.text
    assert "secret" in secret.json()["detail"].lower()
    partner_key = _call(api, "PUT", f"/api/connections/{conn_id}/partner-key", body={"public_key": public_key_text})
    assert partner_key.status_code == 200, partner_key.text
    assert partner_key.json()["fingerprint"] == fingerprint
    assert partner_key.json()["warning"] is None
    # the page uploads the key file's bytes (armored or binary) as base64
    binary = base64.b64decode("".join(public_key_text.strip().splitlines()[2:-2]))  # the key without its armor
    path = f"/api/connections/{conn_id}/partner-key"
    uploaded = _call(api, "PUT", path, body={"public_key_base64": base64.b64encode(binary).decode()})
    assert (uploaded.status_code, uploaded.json()["fingerprint"]) == (200, fingerprint), uploaded.text
    pasted = _call(api, "PUT", path, body={"public_key": "\ufeff" + public_key_text})  # from a Windows-saved file
    assert (pasted.status_code, pasted.json()["fingerprint"]) == (200, fingerprint), pasted.text
    windows_file = public_key_text.encode("utf-16")  # PowerShell's Out-File, Notepad's "Unicode"
    uploaded = _call(api, "PUT", path, body={"public_key_base64": base64.b64encode(windows_file).decode()})
    assert (uploaded.status_code, uploaded.json()["fingerprint"]) == (200, fingerprint), uploaded.text
    mangled = _call(api, "PUT", path, body={"public_key_base64": "not base64!"})
    assert (mangled.status_code, mangled.json()["field"]) == (400, "public_key_base64")
    assert (_call(api, "PUT", path, body={}).status_code, _call(api, "PUT", path, body={}).json()["field"]) == (
        400,
        "public_key",
    )

    tested = _call(api, "POST", f"/api/connections/{conn_id}/test")
    assert tested.status_code == 200, tested.text
    assert tested.json()["ok"] is True, tested.text
    assert [check["name"] for check in tested.json()["checks"]] == ["host key", "authentication", "location inbound"]

    pending = _call(api, "POST", f"/api/connections/{conn_id}/ssh-key/rotate", body={})
    assert (pending.status_code, pending.json()["state"]) == (200, "pending")
    not_yet = _call(api, "POST", f"/api/connections/{conn_id}/ssh-key/rotate", body={})
    assert not_yet.status_code == 400
    assert "does not accept the pending key yet" in not_yet.json()["detail"]
    sshd.add_authorized_key(pending.json()["public_key"])
    active = _call(api, "POST", f"/api/connections/{conn_id}/ssh-key/rotate", body={})
    assert (active.status_code, active.json()["state"]) == (200, "active")

    shown = _call(api, "GET", f"/api/connections/{conn_id}", "reader")
    assert shown.status_code == 200
    view = shown.json()
    assert (view["writable"], view["read_only_reason"], view["entity"]) == (True, None, "marketing")
    assert view["ssh_key"]["fingerprint"] == active.json()["fingerprint"]
    assert view["ssh_pending_key"] is None
    assert view["partner_pgp_public_key"]["fingerprint"] == fingerprint
    for secret_text in _secrets(api, conn_id):
        _assert_never_shown(secret_text)

    digest = "ef" * 20
    ledger = [
        state_key(StateKind.LEDGER, conn_id, "inbound", digest),
        state_key(StateKind.DELIVERED, conn_id, "out", digest),
    ]
    other = state_key(StateKind.LEDGER, f"{conn_id}_other", "inbound", digest)
    for key in [*ledger, other]:
        api["stack"].query("INSERT INTO variable (key, val, is_encrypted) VALUES (?, '{}', 0)", key)
    wrong = _call(api, "DELETE", f"/api/connections/{conn_id}", body={"confirm": "cfg"})
    assert (wrong.status_code, wrong.json()["field"]) == (400, "confirm")
    assert _call(api, "GET", f"/api/connections/{conn_id}").status_code == 200
    deleted = _call(api, "DELETE", f"/api/connections/{conn_id}", body={"confirm": conn_id})
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"removed": {"connection": conn_id, "ssh_keys": 1, "pgp_keys": 1, "ledger_variables": 2}}
    assert _call(api, "GET", f"/api/connections/{conn_id}").status_code == 404
    left = api["stack"].query("SELECT key FROM variable WHERE key LIKE 'actito_sftp_%'")
    assert [row[0] for row in left] == [other]


def test_the_partner_key_is_removed_only_once_outbound_pgp_is_off(api):
    """DELETE .../partner-key never makes uploads go out unencrypted: refused while outbound PGP is on."""
    sshd, conn_id = api["sshd"], "cfg_drop_key"
    values = {"entity": "acme", "host": sshd.host, "port": sshd.port, "username": sshd.user.name}
    confirmed = {"conn_id": conn_id, "values": values, "host_key": {"expected_fingerprint": _fingerprint(api)}}
    assert _call(api, "POST", "/api/connections", body=confirmed).status_code == 201
    path = f"/api/connections/{conn_id}/partner-key"
    nothing = _call(api, "DELETE", path)
    assert nothing.status_code == 400, nothing.text
    assert nothing.json()["detail"] == f"Connection {conn_id!r} has no partner key to remove"
    with PartnerGpg() as partner:
        fingerprint = partner.generate()
        public_key_text = partner.export_public(fingerprint)
    assert _call(api, "PUT", path, body={"public_key": public_key_text}).status_code == 200
    encrypt = _call(api, "PATCH", f"/api/connections/{conn_id}", body={"values": {"outbound_pgp": True}})
    assert encrypt.status_code == 200, encrypt.text

    assert _call(api, "DELETE", path, "reader").status_code == 403
    refused = _call(api, "DELETE", path)
    assert refused.status_code == 400, refused.text
    assert "turn off “Encrypt uploads with PGP” on the Outbound tab first" in refused.json()["detail"]  # its label
    kept = _call(api, "GET", f"/api/connections/{conn_id}").json()
    assert (kept["outbound_pgp"], kept["partner_pgp_public_key"]["fingerprint"]) == (True, fingerprint)

    plain = _call(api, "PATCH", f"/api/connections/{conn_id}", body={"values": {"outbound_pgp": False}})
    assert plain.status_code == 200, plain.text
    removed = _call(api, "DELETE", path)
    assert (removed.status_code, removed.json()) == (200, {"fingerprint": fingerprint}), removed.text
    view = _call(api, "GET", f"/api/connections/{conn_id}").json()
    assert (view["outbound_pgp"], view["partner_pgp_public_key"]) == (False, None)
    rows = api["stack"].query("SELECT event, extra FROM log WHERE event LIKE 'actito_sftp_%' ORDER BY id")
    audited = [(event, json.loads(str(extra))) for event, extra in rows if json.loads(str(extra))["conn_id"] == conn_id]
    assert audited[-1][0] == "actito_sftp_partner_key_remove"
    assert audited[-1][1]["changes"]["partner_pgp_public_key"] == {"from": fingerprint, "to": None}
    assert _call(api, "DELETE", f"/api/connections/{conn_id}", body={"confirm": conn_id}).status_code == 200


def test_password_is_write_only(api):
    conn_id = "acme_cfg"
    changed = _call(api, "PATCH", f"/api/connections/{conn_id}", body={"values": {"display_name": "ACME cfg"}})
    assert changed.status_code == 200, changed.text
    secret = "a-write-only-password"
    written = _call(api, "PATCH", f"/api/connections/{conn_id}", body={"values": {"password": secret}})
    assert written.status_code == 200, written.text
    assert "password" in written.json()["secrets_set"]
    assert secret not in written.text
    cleared = _call(api, "PATCH", f"/api/connections/{conn_id}", body={"values": {"password": None}})
    assert "password" not in cleared.json()["secrets_set"]
    unknown = _call(api, "PATCH", f"/api/connections/{conn_id}", body={"values": {"ssh_private_key": "x"}})
    assert unknown.status_code == 400


def _created_with(api: dict[str, Any], conn_id: str, fingerprint: str) -> httpx.Response:
    """Create ``conn_id`` (SSH key authentication) confirming the host key with ``fingerprint`` as typed."""
    sshd = api["sshd"]
    values = {"entity": "acme", "host": sshd.host, "port": sshd.port, "username": sshd.user.name}
    body = {"conn_id": conn_id, "values": values, "host_key": {"expected_fingerprint": fingerprint}}
    return _call(api, "POST", "/api/connections", body=body)


def test_a_fingerprint_is_confirmed_without_its_prefix_and_a_wrong_one_refused(api):
    """The fingerprint as the partner reads it out (no ``SHA256:``, blanks, padding), in the wizard and on Re-pin."""
    conn_id, bare = "cfg_bare_pin", _fingerprint(api).removeprefix("SHA256:")
    wrong = _created_with(api, conn_id, WRONG_FINGERPRINT.removeprefix("SHA256:"))
    assert wrong.status_code == 400, wrong.text
    assert wrong.json()["detail"].startswith(f"host key mismatch: expected {WRONG_FINGERPRINT}, the server presents")
    created = _created_with(api, conn_id, f" {bare[:10]} {bare[10:]}= ")
    assert created.status_code == 201, created.text
    assert created.json()["host_key_fingerprint"] == _fingerprint(api)
    path = f"/api/connections/{conn_id}/host-key"
    refused = _call(api, "POST", path, body={"expected_fingerprint": WRONG_FINGERPRINT.removeprefix("SHA256:")})
    assert (refused.status_code, "host key mismatch" in refused.json()["detail"]) == (400, True), refused.text
    repinned = _call(api, "POST", path, body={"expected_fingerprint": bare})
    assert repinned.json() == {"fingerprint": _fingerprint(api), "trusted_on_first_use": False}, repinned.text
    unconfirmed = _call(api, "POST", path, body={"expected_fingerprint": " "})
    assert unconfirmed.status_code == 400, unconfirmed.text
    assert "“Fingerprint given by the partner”" in unconfirmed.json()["detail"]  # the page's field, not the flag
    assert "--accept-host-key" not in unconfirmed.json()["detail"]
    assert _call(api, "DELETE", f"/api/connections/{conn_id}", body={"confirm": conn_id}).status_code == 200


def test_errors_speak_the_pages_labels_and_buttons(api):
    """A field by the label the page shows (``field`` keeps the key for placing it), advice by its buttons."""
    conn_id = "cfg_words"
    assert _created_with(api, conn_id, _fingerprint(api)).status_code == 201
    path = f"/api/connections/{conn_id}"
    suffix = _call(api, "PATCH", path, body={"values": {"outbound_lock_suffix": "a/b"}})
    assert (suffix.status_code, suffix.json()["field"]) == (400, "outbound_lock_suffix"), suffix.text
    assert suffix.json()["detail"] == "Lock suffix: expected a file-name suffix such as '.part', got 'a/b'"
    location = _call(api, "PUT", f"{path}/locations/in", body={"path": "relative"})
    assert (location.status_code, location.json()["field"]) == (400, "locations"), location.text
    assert location.json()["detail"].startswith("Locations: location 'in': expected an absolute folder path")
    port = _call(api, "PATCH", path, body={"values": {"port": 0}})
    assert port.json()["detail"] == "Port: expected an integer from 1 to 65535, got 0"
    shape = _call(api, "POST", "/api/host-key/fetch", body={"host": "h.example", "port": "ssh"})
    assert (shape.json()["field"], shape.json()["detail"].split(":")[0]) == ("port", "Port"), shape.text
    nameless = _call(api, "POST", "/api/connections", body={"values": {}})
    assert nameless.json()["detail"].startswith("Technical name: "), nameless.text
    for refusal in (suffix, location, port, shape, nameless):
        assert "field '" not in refusal.json()["detail"]

    rotation = f"{path}/ssh-key/rotate"
    assert _call(api, "POST", rotation, body={}).json()["state"] == "pending"
    not_yet = _call(api, "POST", rotation, body={})  # the partner has not installed the new key
    assert not_yet.status_code == 400, not_yet.text
    assert "press “Activate” again" in not_yet.json()["detail"]
    assert "--force" not in not_yet.json()["detail"]
    assert "actito-sftp" not in not_yet.json()["detail"]
    generated = _call(api, "POST", f"{path}/pgp-key/generate", body={})
    assert generated.status_code == 200, generated.text
    again = _call(api, "POST", f"{path}/pgp-key/generate", body={})
    assert "press “Rotate” on the Inbound tab" in again.json()["detail"], again.text
    assert "`pgp-key rotate`" not in again.json()["detail"]
    assert _call(api, "DELETE", path, body={"confirm": conn_id}).status_code == 200


def test_switching_to_ssh_key_authentication_removes_the_password(api):
    """A password left in the connection would still be offered to the server: the switch removes it, and says so."""
    conn_id, secret = "cfg_switch", "a-password-before-the-switch"
    assert _created_with(api, conn_id, _fingerprint(api)).status_code == 201
    path = f"/api/connections/{conn_id}"
    to_password = _call(api, "PATCH", path, body={"values": {"auth_type": "password", "password": secret}})
    assert to_password.status_code == 200, to_password.text
    assert ("password" in to_password.json()["secrets_set"], to_password.json()["password_removed"]) == (True, False)
    switched = _call(api, "PATCH", path, body={"values": {"auth_type": "ssh_key"}})
    assert switched.status_code == 200, switched.text
    assert (switched.json()["auth_type"], switched.json()["password_removed"]) == ("ssh_key", True)
    assert "password" not in switched.json()["secrets_set"]
    stored = api["stack"].query("SELECT password FROM connection WHERE conn_id = ?", conn_id)
    assert stored[0][0] in (None, ""), "the password is still stored"
    assert secret not in switched.text
    assert _call(api, "DELETE", path, body={"confirm": conn_id}).status_code == 200


def test_connections_outside_the_db_are_read_only(api):
    shown = _call(api, "GET", "/api/connections/env_only", "reader")
    assert shown.status_code == 200, shown.text
    assert shown.json()["writable"] is False
    assert "environment variable" in shown.json()["read_only_reason"]
    for method, path, body in [
        ("PATCH", "/api/connections/env_only", {"values": {"display_name": "x"}}),
        ("POST", "/api/connections/env_only/pgp-key/generate", {}),
        ("DELETE", "/api/connections/env_only", {"confirm": "env_only"}),
    ]:
        refused = _call(api, method, path, body=body)
        assert refused.status_code == 409, refused.text
        assert "environment variable" in refused.json()["detail"]
    taken = _call(api, "POST", "/api/connections", body={"conn_id": "env_only", "values": {}})
    assert taken.status_code == 409
    assert _call(api, "GET", "/api/connections/nowhere").status_code == 404


def test_an_invalid_connection_can_be_shown_and_fixed(api):
    extra = {"entity": "acme", "auth_type": "password", "connect_timeout": "soon"}
    columns = {"conn_type": "actito_sftp", "host": "sftp.invalid.example", "login": "u", "password": ENV_PASSWORD}
    api["stack"].cli("connections", "add", "acme_invalid", "--conn-json", json.dumps({**columns, "extra": extra}))
    shown = _call(api, "GET", "/api/connections/acme_invalid")
    assert shown.status_code == 200, shown.text
    assert (shown.json()["error_field"], shown.json()["host"], shown.json()["writable"]) == (
        "connect_timeout",
        "sftp.invalid.example",
        True,
    )
    fixed = _call(api, "PATCH", "/api/connections/acme_invalid", body={"values": {"connect_timeout": 60}})
    assert fixed.status_code == 200, fixed.text
    assert (fixed.json()["connect_timeout"], "error" in fixed.json()) == (60, False)
    removed = _call(api, "DELETE", "/api/connections/acme_invalid", body={"confirm": "acme_invalid"})
    assert removed.json()["removed"]["ssh_keys"] == 0
    assert ENV_PASSWORD not in shown.text
    assert all(ENV_PASSWORD not in text for text in RESPONSES)


CHANGES = [
    ("POST", "/api/host-key/fetch", {"host": "127.0.0.1", "port": 22}),
    ("POST", "/api/connections", {"conn_id": "acme_new", "values": {"entity": "acme"}}),
    ("PATCH", "/api/connections/acme_cfg", {"values": {"display_name": "changed"}}),
    ("POST", "/api/connections/acme_cfg/host-key", {"trust_on_first_use": True}),
    ("PUT", "/api/connections/acme_cfg/locations/x", {"path": "/x"}),
    ("DELETE", "/api/connections/acme_cfg/locations/inbound", {}),
    ("POST", "/api/connections/acme_cfg/ssh-key/generate", {"force": True}),
    ("POST", "/api/connections/acme_cfg/ssh-key/rotate", {"restart": True}),
    ("POST", "/api/connections/acme_cfg/pgp-key/generate", {"force": True}),
    ("POST", "/api/connections/acme_cfg/pgp-key/rotate", {}),
    ("POST", "/api/connections/acme_cfg/pgp-key/retire", {"fingerprints": []}),
    ("PUT", "/api/connections/acme_cfg/partner-key", {"public_key": "x"}),
    ("DELETE", "/api/connections/acme_cfg/partner-key", {}),
    ("POST", "/api/connections/acme_cfg/test", {}),
    ("DELETE", "/api/connections/acme_cfg", {"confirm": "acme_cfg"}),
]


def _state(api: dict[str, Any]) -> str:
    return _call(api, "GET", "/api/connections/acme_cfg").text


@pytest.mark.parametrize(("method", "path", "body"), CHANGES)
def test_changes_need_the_right(api, method: str, path: str, body: dict[str, Any]):
    before = _state(api)
    assert _call(api, method, path, None, body).status_code == 401
    for user in ("reader", "viewer", "partner"):  # partner may read acme_cfg, not change it
        assert _call(api, method, path, user, body).status_code == 403, user
    assert _state(api) == before


@pytest.mark.parametrize(("method", "path", "body"), CHANGES)
def test_changes_need_json_from_this_site(api, method: str, path: str, body: dict[str, Any]):
    before = _state(api)
    assert _call(api, method, path, form=True).status_code == 415
    foreign = _call(api, method, path, body=body, origin="http://evil.example")
    assert foreign.status_code == 403
    assert "cross-origin" in foreign.text
    assert _state(api) == before


def test_reads_need_the_read_right(api):
    assert _call(api, "GET", "/api/schema", None).status_code == 401
    assert _call(api, "GET", "/api/schema", "viewer").status_code == 403
    assert _call(api, "GET", "/api/connections/acme_cfg", "viewer").status_code == 403
    assert _call(api, "GET", "/api/connections/acme_cfg", "partner").status_code == 200
    assert _call(api, "GET", "/api/connections/env_only", "partner").status_code == 403


def test_same_origin_json_is_accepted(api):
    parts = urlsplit(api["url"])
    rotated = _call(api, "POST", "/api/connections/acme_cfg/pgp-key/rotate", origin=f"{parts.scheme}://{parts.netloc}")
    assert rotated.status_code == 200, rotated.text
    retired = _call(api, "POST", "/api/connections/acme_cfg/pgp-key/retire", body={"fingerprints": []})
    assert retired.status_code == 200, retired.text
    assert (
        _call(api, "GET", "/api/connections/acme_cfg").json()["inbound_pgp_keys"][0]["fingerprint"]
        == (rotated.json()["fingerprint"])
    )


# --- connections outside the metadata DB: the updated connection JSON ------------------------------


def _connection_json(api: dict[str, Any], conn_id: str, values: dict[str, Any], user: str | None = "admin", **kw: Any):
    return _call(api, "POST", f"/api/connections/{conn_id}/connection-json", user, {"values": values}, **kw)


def _assert_no_secret(text: str) -> None:
    assert ENV_PASSWORD not in text
    assert "PRIVATE KEY" not in text
    assert not any(line in text for line in ENV_SSH_KEY.private_key.splitlines() if not line.startswith("-----"))


def test_connection_json_carries_the_change_without_secrets(api):
    sshd = api["sshd"]
    change = {"display_name": "Keyed Renamed", "connect_timeout": "45", "compression": True, "ciphers": ["aes256-ctr"]}
    answer = _connection_json(api, "env_keyed", change)
    assert answer.status_code == 200, answer.text
    _assert_no_secret(answer.text)
    body = answer.json()
    assert body["conn_id"] == "env_keyed"
    connection = body["connection"]
    assert {key: connection[key] for key in ("conn_type", "host", "port", "login")} == {
        "conn_type": "actito_sftp",
        "host": sshd.host,
        "port": sshd.port,
        "login": "u",
    }
    assert "password" not in connection
    assert connection["extra"] == {
        "entity": "acme",
        "auth_type": "ssh_key",
        "host_key": sshd.host_key_line,
        "locations": {},
        "display_name": "Keyed Renamed",
        "connect_timeout": 45,
        "compression": True,
        "ciphers": "aes256-ctr",
    }
    assert body["secrets_left_out"] == ["password", "ssh_private_key"]
    assert "AIRFLOW_CONN_ENV_KEYED" in body["instructions"]
    assert "password, ssh_private_key" in body["instructions"]
    assert body["cli_command"] == (
        "actito-sftp connection update env_keyed --display-name 'Keyed Renamed' --connect-timeout 45 "
        "--compression --ciphers aes256-ctr --secrets-file env_keyed.connection.json"
    )
    assert _call(api, "GET", "/api/connections/env_keyed").json()["display_name"] == "Keyed"  # nothing saved

    only_password = _connection_json(api, "env_only", {"display_name": "Env 'only'"})
    assert only_password.status_code == 200, only_password.text
    _assert_no_secret(only_password.text)
    assert only_password.json()["secrets_left_out"] == ["password"]
    assert only_password.json()["cli_command"] == (
        "actito-sftp connection update env_only --display-name 'Env '\"'\"'only'\"'\"'' "
        "--secrets-file env_only.connection.json"
    )
    policies = _connection_json(api, "env_only", {"outbound_lock": False, "outbound_lock_suffix": ".tmp"})
    assert policies.json()["cli_command"] == (
        "actito-sftp policy env_only --no-outbound-lock --outbound-lock-suffix .tmp "
        "--secrets-file env_only.connection.json"
    )
    cleared = _connection_json(api, "env_only", {"connect_timeout": None})
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["cli_command"], "connect_timeout" in cleared.json()["connection"]["extra"]) == (None, False)


def test_connection_json_cli_command_writes_the_same_connection_with_its_secrets(api, tmp_path):
    change = {"display_name": "Keyed via CLI", "port": api["sshd"].port, "keepalive_interval": 0}
    answer = _connection_json(api, "env_keyed", change)
    assert answer.status_code == 200, answer.text
    words = shlex.split(answer.json()["cli_command"])
    assert words[:4] == ["actito-sftp", "connection", "update", "env_keyed"]
    executable = str(Path(sys.executable).with_name("actito-sftp"))
    run = subprocess.run(
        [executable, *words[1:]], env=api["stack"].env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 3, run.stderr  # not saved: the connection lives in an environment variable
    written = tmp_path / "env_keyed.connection.json"
    assert written.stat().st_mode & 0o777 == 0o600
    complete = json.loads(written.read_text())
    assert complete["password"] == ENV_PASSWORD
    assert complete["extra"].pop("ssh_private_key") == ENV_SSH_KEY.private_key
    assert {key: value for key, value in complete.items() if key != "password"} == answer.json()["connection"]


def test_connection_json_refusals(api):
    before = _call(api, "GET", "/api/connections/env_only").text
    password = _connection_json(api, "env_only", {"password": "typed-in-the-browser"})
    assert (password.status_code, password.json()["field"]) == (400, "password")
    assert "--password-stdin" in password.json()["detail"]
    key = _connection_json(api, "env_only", {"auth_type": "ssh_key"})
    assert (key.status_code, key.json()["field"]) == (400, "auth_type"), key.text
    assert "PRIVATE KEY" not in key.text
    port = _connection_json(api, "env_only", {"port": 70000})
    assert (port.status_code, port.json()["field"]) == (400, "port")
    entity = _connection_json(api, "env_only", {"entity": "other"})
    assert (entity.status_code, entity.json()["field"]) == (400, "entity")
    secret = _connection_json(api, "env_keyed", {"ssh_private_key": "x"})
    assert secret.status_code == 400
    in_db = _connection_json(api, "acme_cfg", {"display_name": "x"})
    assert in_db.status_code == 409
    assert "metadata DB: change it with PATCH" in in_db.json()["detail"]
    assert _connection_json(api, "nowhere", {"display_name": "x"}).status_code == 404
    assert _connection_json(api, "env_only", {"display_name": "x"}, None).status_code == 401
    for user in ("reader", "viewer", "partner"):
        assert _connection_json(api, "env_only", {"display_name": "x"}, user).status_code == 403, user
    foreign = _connection_json(api, "env_only", {"display_name": "x"}, origin="http://evil.example")
    assert foreign.status_code == 403
    assert "cross-origin" in foreign.text
    form = _call(api, "POST", "/api/connections/env_only/connection-json", form=True)
    assert form.status_code == 415
    assert _call(api, "GET", "/api/connections/env_only").text == before
    assert all(ENV_PASSWORD not in text and "PRIVATE KEY" not in text for text in RESPONSES)
