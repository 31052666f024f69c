"""The configuration surface against a hostile editor and a hostile server, on a real Airflow API server with
per-user, per-connection rights (issue 21): deletions that remove exactly their own state, every change in
Airflow's audit log, a stored password that never follows a connection to another server, the platform's
target allow-list, calls to silent servers that cannot stall the API server, secrets outside the schema never
returned, and bounded bodies and fields.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncssh
import httpx
import pytest

from airflow_provider_actito_sftp.connection.variable_keys import StateKind, legacy_key, state_key
from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.sshd import SshServer
from tests.cli.support import fingerprint_of
from tests.plugin.conftest import plugin_stack, serve
from tests.support.rogue_ssh import RogueSshServer, SilentServer

TIMEOUT = 8  # [actito_sftp] interactive_timeout of this API server
PASSWORD = "the-stored-password-nobody-may-take"
LEAKS = ("LEAK-private-key-value", "LEAK-nested-token-value")


class PasswordThief:
    """An SSH server on 127.0.0.1 that records every password a client offers it (and accepts none)."""

    def __init__(self) -> None:
        self.offered: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(30)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        key = asyncssh.generate_private_key("ssh-ed25519")
        thief = self

        class Recorder(asyncssh.SSHServer):
            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                thief.offered.append(password)
                return False

        server = self._loop.run_until_complete(asyncssh.create_server(Recorder, "127.0.0.1", 0, server_host_keys=[key]))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()


@pytest.fixture(scope="module")
def api(
    sshd: SshServer, impostor_sshd: SshServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """An API server whose allow-list names the test servers, with short, few interactive calls."""
    base = tmp_path_factory.mktemp("config_safety")
    (base / "dags").mkdir()
    silent, rogue, thief = SilentServer(), RogueSshServer(), PasswordThief()
    allowed = [sshd.port, impostor_sshd.port, silent.port, rogue.port, thief.port]
    stack = plugin_stack(base / "airflow", base / "dags")
    stack.env.update(
        {
            "AIRFLOW__ACTITO_SFTP__ALLOWED_TARGETS": ", ".join(f"127.0.0.1:{port}" for port in allowed),
            "AIRFLOW__ACTITO_SFTP__INTERACTIVE_TIMEOUT": str(TIMEOUT),
            "AIRFLOW__ACTITO_SFTP__INTERACTIVE_CALLS": "3",
            "AIRFLOW__ACTITO_SFTP__INTERACTIVE_CALLS_PER_USER": "2",
        }
    )
    columns = {"conn_type": "actito_sftp", "host": sshd.host, "port": sshd.port, "login": "u", "password": PASSWORD}
    extra = {"auth_type": "password", "host_key": sshd.host_key_line, "private_key": LEAKS[0]}
    extra["options"] = {"retries": 3, "api_token": LEAKS[1]}
    stack.env["AIRFLOW_CONN_ENV_LEAKY"] = json.dumps({**columns, "extra": {**extra, "entity": "acme"}})
    stack.env["AIRFLOW_CONN_ENV_LEAKY_INVALID"] = json.dumps({**columns, "extra": extra})  # no entity
    server = serve(stack)
    yield {**server, "sshd": sshd, "impostor": impostor_sshd, "silent": silent, "rogue": rogue, "thief": thief}
    stack.stop()
    for listener in (silent, rogue):
        listener.close()
    assert thief.offered == [], "a stored password reached a server it was not entered for"


def _call(api: dict[str, Any], method: str, path: str, user: str = "admin", body: Any = None, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {api['tokens'][user]}"}
    content = {} if method == "GET" else {"json": {} if body is None else body}
    return httpx.request(method, f"{api['url']}/actito{path}", headers=headers, timeout=120, **content, **kwargs)


def _create(api: dict[str, Any], conn_id: str, server: SshServer | None = None, **values: Any) -> None:
    server = server or api["sshd"]
    values = {"entity": "acme", "host": server.host, "port": server.port, "username": server.user.name, **values}
    body = {"conn_id": conn_id, "values": values, "host_key": {"trust_on_first_use": True}}
    created = _call(api, "POST", "/api/connections", body=body)
    assert created.status_code == 201, created.text


def _audit(api: dict[str, Any], conn_id: str) -> list[dict[str, Any]]:
    """The audit log's entries about one connection, oldest first: event, owner and the parsed extra."""
    rows = api["stack"].query("SELECT event, owner, extra FROM log WHERE event LIKE 'actito_sftp_%' ORDER BY id")
    entries = [{"event": event, "owner": owner, **json.loads(str(extra))} for event, owner, extra in rows]
    return [entry for entry in entries if entry["conn_id"] == conn_id]


def _variables(api: dict[str, Any]) -> set[str]:
    return {str(row[0]) for row in api["stack"].query("SELECT key FROM variable WHERE key LIKE 'actito_sftp_%'")}


# --- 1. a deletion removes exactly its own connection's state ------------------------------------------------


def test_a_user_who_may_delete_only_acme_removes_only_acmes_state(api):
    for conn_id in ("acme", "acme:eu", "ACME"):
        _create(api, conn_id)
    digest = "ab" * 20
    keys = {
        conn_id: [
            *(state_key(kind, conn_id, "inbound", digest) for kind in StateKind),
            *(legacy_key(kind, conn_id, "inbound", digest) for kind in StateKind),
        ]
        for conn_id in ("acme", "acme:eu", "ACME")
    }
    for key in (key for group in keys.values() for key in group):
        api["stack"].query("INSERT INTO variable (key, val, is_encrypted) VALUES (?, '{}', 0)", key)

    refused = _call(api, "DELETE", "/api/connections/acme:eu", "acme_owner", {"confirm": "acme:eu"})
    assert refused.status_code == 403
    deleted = _call(api, "DELETE", "/api/connections/acme", "acme_owner", {"confirm": "acme"})
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["removed"]["ledger_variables"] == 4
    assert _variables(api) == {*keys["acme:eu"], *keys["ACME"]}
    [entry] = [entry for entry in _audit(api, "acme") if entry["event"] == "actito_sftp_connection_delete"]
    assert (entry["owner"], entry["via"], entry["removed"]["ledger_variables"]) == ("acme_owner", "Actito SFTP page", 4)


# --- 2. every change is in Airflow's audit log, never with a secret ----------------------------------------------


def test_every_change_is_in_airflows_audit_log(api):
    conn_id = "audited"
    _create(api, conn_id, display_name="Audited")
    sshd, impostor = api["sshd"], api["impostor"]
    steps = [
        ("PATCH", "", {"values": {"display_name": "Audited (prod)", "port": impostor.port}}),
        ("POST", "/host-key", {"trust_on_first_use": True}),
        ("PUT", "/locations/inbound", {"path": "/in", "check": False}),
        ("DELETE", "/locations/inbound", {}),
        ("POST", "/ssh-key/rotate", {"restart": True}),
        ("POST", "/pgp-key/generate", {"expires": "1y"}),
        ("POST", "/pgp-key/rotate", {"expires": "1y"}),
        ("POST", "/pgp-key/retire", {"fingerprints": []}),
    ]
    with PartnerGpg() as partner:
        partner_fingerprint = partner.generate()
        steps.append(("PUT", "/partner-key", {"public_key": partner.export_public(partner_fingerprint)}))
        for method, suffix, body in steps:
            answer = _call(api, method, f"/api/connections/{conn_id}{suffix}", body=body)
            assert answer.status_code == 200, (suffix, answer.text)
    api["stack"].actito_sftp("connection", "update", conn_id, "--display-name", "Audited (CLI)")
    assert _call(api, "DELETE", f"/api/connections/{conn_id}", body={"confirm": conn_id}).status_code == 200

    entries = _audit(api, conn_id)
    assert [entry["event"].removeprefix("actito_sftp_") for entry in entries] == [
        "connection_create",
        "connection_update",
        "host_key_pin",
        "location_add",
        "location_remove",
        "ssh_key_rotate",
        "pgp_key_generate",
        "pgp_key_rotate",
        "pgp_key_retire",
        "partner_key_set",
        "connection_update",
        "connection_delete",
    ]
    assert {entry["owner"] for entry in entries[:-2]} == {"admin"}
    assert (entries[-2]["owner"], entries[-2]["via"]) == (getpass.getuser(), "actito-sftp CLI")
    who_moved_it = entries[1]["changes"]
    assert who_moved_it["port"] == {"from": sshd.port, "to": impostor.port}
    assert who_moved_it["display_name"] == {"from": "Audited", "to": "Audited (prod)"}
    pinned = entries[2]["changes"]["host_key"]
    assert pinned == {"from": [fingerprint_of(sshd.host_key_line)], "to": [fingerprint_of(impostor.host_key_line)]}
    assert entries[2]["trusted_on_first_use"] is True
    assert entries[5]["changes"]["ssh_private_key_pending"].startswith("set: public key SHA256:")
    added = entries[6]["changes"]["inbound_pgp_private_keys"]["added"]
    assert entries[8]["changes"]["inbound_pgp_private_keys"] == {"added": [], "removed": added}
    assert entries[9]["changes"]["partner_pgp_public_key"] == {"from": None, "to": partner_fingerprint}
    # Airflow's own API serves them, as its Audit Log page shows them
    headers = {"Authorization": f"Bearer {api['tokens']['admin']}"}
    logs = httpx.get(f"{api['url']}/api/v2/eventLogs", params={"event": "actito_sftp_host_key_pin"}, headers=headers)
    assert logs.status_code == 200, logs.text
    assert any(conn_id in (log["extra"] or "") for log in logs.json()["event_logs"])
    every_extra = " ".join(str(row[0]) for row in api["stack"].query("SELECT extra FROM log"))
    assert "PRIVATE KEY" not in every_extra
    assert PASSWORD not in every_extra


# --- 3. a stored password is only sent to the server it was entered for ------------------------------------


def test_an_editor_cannot_send_the_stored_password_to_a_server_of_their_choosing(api):
    conn_id = "with_password"
    _create(api, conn_id, auth_type="password", password=PASSWORD)
    thief = {"host": "127.0.0.1", "port": api["thief"].port}
    moved = _call(api, "PATCH", f"/api/connections/{conn_id}", body={"values": thief})
    assert (moved.status_code, moved.json()["field"]) == (400, "password"), moved.text
    assert "enter the password again" in moved.json()["detail"]
    shown = _call(api, "GET", f"/api/connections/{conn_id}").json()
    assert (shown["port"], "password" in shown["secrets_set"]) == (api["sshd"].port, True)
    test = _call(api, "POST", f"/api/connections/{conn_id}/test")
    assert test.status_code == 200  # still the partner's server: the thief never hears of it

    # The partner's server moved and changed its key: the new pin needs the password again too.
    impostor = {"port": api["impostor"].port, "password": "typed-again"}
    assert _call(api, "PATCH", f"/api/connections/{conn_id}", body={"values": impostor}).status_code == 200
    repin = _call(api, "POST", f"/api/connections/{conn_id}/host-key", body={"trust_on_first_use": True})
    assert (repin.status_code, repin.json()["field"]) == (400, "password"), repin.text
    body = {"trust_on_first_use": True, "password": "typed-again"}
    assert _call(api, "POST", f"/api/connections/{conn_id}/host-key", body=body).status_code == 200

    # A key-auth connection with a leftover password loses it when it moves.
    switched = {"auth_type": "ssh_key", "port": api["sshd"].port}
    answer = _call(api, "PATCH", f"/api/connections/{conn_id}", body={"values": switched})
    assert answer.status_code == 200, answer.text
    assert "password" not in answer.json()["secrets_set"]
    assert _audit(api, conn_id)[-1]["changes"]["password"] == "removed"


# --- 4. only the targets the platform allows, refused alike ------------------------------------------------


def test_targets_outside_the_allow_list_are_refused_alike_before_any_packet(api):
    sshd = api["sshd"]
    allowed = _call(api, "POST", "/api/host-key/fetch", body={"host": sshd.host, "port": sshd.port})
    assert allowed.status_code == 200, allowed.text
    unlisted = SilentServer()  # open, but not on the list
    targets = [("127.0.0.1", 1), ("127.0.0.1", unlisted.port), ("127.0.0.2", sshd.port), ("localhost", 2222)]
    try:
        for host, port in targets:
            refused = _call(api, "POST", "/api/host-key/fetch", body={"host": host, "port": port})
            assert (refused.status_code, refused.json()["field"]) == (400, "host"), refused.text
            assert refused.json()["detail"] == (
                f"connecting to {host}:{port} is not allowed on this Airflow: the [actito_sftp] allowed_targets "
                "setting does not list it (ask your platform team)"
            )
        assert unlisted.connections == 0
    finally:
        unlisted.close()
    _create(api, "moves_away")
    assert _call(api, "PATCH", "/api/connections/moves_away", body={"values": {"port": 1}}).status_code == 200
    checks = _call(api, "POST", "/api/connections/moves_away/test").json()["checks"]
    assert "is not allowed on this Airflow" in checks[0]["message"]


# --- 5. a silent server cannot stall the API server --------------------------------------------------------


def test_calls_to_a_silent_server_are_few_and_short_and_airflow_keeps_answering(api):
    silent = api["silent"]
    body = {"host": "127.0.0.1", "port": silent.port}
    users = ["admin"] * 25 + ["editor"] * 20
    with ThreadPoolExecutor(len(users)) as pool:
        calls = [pool.submit(_call, api, "POST", "/api/host-key/fetch", user, body) for user in users]
        _wait_until(lambda: sum(call.done() for call in calls) >= len(users) - 3)  # the refusals come at once
        health = httpx.get(f"{api['url']}/api/v2/monitor/health", timeout=120)
        still_waiting = sum(not call.done() for call in calls)
        answers = [call.result() for call in calls]
    assert health.status_code == 200
    assert still_waiting == 3, "Airflow's health answered only once calls to the silent server were over"
    assert sorted(answer.status_code for answer in answers) == [400] * 3 + [429] * (len(users) - 3)
    timed_out = [answer.json()["detail"] for answer in answers if answer.status_code == 400]
    assert all(f"127.0.0.1:{silent.port}" in detail and f"{TIMEOUT} s" in detail for detail in timed_out), timed_out

    _create(api, "slow_partner", connect_timeout=3600)
    moved = _call(api, "PATCH", "/api/connections/slow_partner", body={"values": {"port": silent.port}})
    assert moved.status_code == 200, moved.text
    checks = _call(api, "POST", "/api/connections/slow_partner/test").json()["checks"]
    assert checks[0]["ok"] is False
    assert "within" in checks[0]["message"], checks


def _wait_until(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    """Poll ``condition`` until it holds or ``seconds`` passed (a bound, not a measure)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


# --- 6. secrets outside the schema are never returned -------------------------------------------------------


def test_extra_keys_the_masker_hides_are_never_returned(api):
    invalid = _call(api, "GET", "/api/connections/env_leaky_invalid")
    assert invalid.status_code == 200, invalid.text
    assert invalid.json()["error_field"] == "entity"
    assert "options" not in invalid.json()
    exported = _call(
        api, "POST", "/api/connections/env_leaky/connection-json", body={"values": {"display_name": "Leaky"}}
    )
    assert exported.status_code == 200, exported.text
    assert {"private_key", "options", "password"} <= set(exported.json()["secrets_left_out"])
    for answer in (invalid, exported):
        assert not any(leak in answer.text for leak in (*LEAKS, PASSWORD))


# --- 7. bounded bodies and fields, and servers that talk garbage ------------------------------------------------


def test_bodies_and_fields_are_bounded(api):
    _create(api, "bounded")
    huge_key = {"public_key": "x" * (50 * 1024 * 1024)}
    too_big = _call(api, "PUT", "/api/connections/bounded/partner-key", body=huge_key)
    assert (too_big.status_code, too_big.json()["field"]) == (413, "public_key")
    huge_name = _call(api, "PATCH", "/api/connections/bounded", body={"values": {"display_name": "n" * 5_000_000}})
    assert huge_name.status_code == 413

    def chunks() -> Iterator[bytes]:
        yield b'{"values": {"display_name": "'
        for _ in range(100):
            yield b"n" * 1024
        yield b'"}}'

    headers = {"Authorization": f"Bearer {api['tokens']['admin']}", "Content-Type": "application/json"}
    chunked = httpx.patch(f"{api['url']}/actito/api/connections/bounded", content=chunks(), headers=headers)
    assert chunked.status_code == 413
    long_name = _call(api, "PATCH", "/api/connections/bounded", body={"values": {"display_name": "n" * 201}})
    assert (long_name.status_code, long_name.json()["field"]) == (400, "display_name")
    assert "at most 200" in long_name.json()["detail"]
    assert _call(api, "GET", "/api/connections/bounded").json()["display_name"] == "bounded"


def test_a_server_that_talks_garbage_is_a_worded_failure(api):
    rogue = api["rogue"]
    fetched = _call(api, "POST", "/api/host-key/fetch", body={"host": rogue.host, "port": rogue.port})
    assert fetched.status_code == 400, fetched.text
    assert "broke the SSH protocol" in fetched.json()["detail"]
    _create(api, "garbage_partner")
    assert (
        _call(api, "PATCH", "/api/connections/garbage_partner", body={"values": {"port": rogue.port}}).status_code
        == 200
    )
    tested = _call(api, "POST", "/api/connections/garbage_partner/test")
    assert tested.status_code == 200, tested.text
    assert "broke the SSH protocol" in tested.json()["checks"][0]["message"]
