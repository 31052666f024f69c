"""``actito-sftp connection``: create (host key pin, key generation), show, update, test, delete."""

from __future__ import annotations

import json

import pytest

from airflow_provider_actito_sftp.connection.store import ConnectionStore
from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from partner_sandbox.sshd import SshServer
from tests.cli.support import SEEN_SECRETS, CreateConnection, RunCli, fingerprint_of


def test_wrong_host_key_fingerprint_saves_nothing(run_cli: RunCli, sshd: SshServer):
    result = run_cli(
        *("connection", "create", "wrong_pin", "--entity", "e", "--host", sshd.host, "--port", str(sshd.port)),
        *("--username", "u", "--accept-host-key", "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        expect=1,
    )
    assert "host key mismatch" in result.stderr
    assert not ConnectionStore().exists("wrong_pin")


def test_a_fingerprint_without_its_prefix_pins_the_key(run_cli: RunCli, sshd: SshServer):
    """The fingerprint as the partner reads it out: without ``SHA256:``, with blanks or ``=`` padding."""
    fingerprint = fingerprint_of(sshd.host_key_line)
    server = ("--entity", "e", "--host", sshd.host, "--port", str(sshd.port), "--username", "u")
    wrong = run_cli("connection", "create", "bare_pin", *server, "--accept-host-key", "A" * 43, expect=1)
    assert f"host key mismatch: expected SHA256:{'A' * 43}, the server presents {fingerprint}" in wrong.stderr
    bare = fingerprint.removeprefix("SHA256:")
    created = run_cli("connection", "create", "bare_pin", *server, "--accept-host-key", f"{bare} =", "--json")
    assert json.loads(created.stdout)["host_key_fingerprint"] == fingerprint
    repinned = run_cli("connection", "update", "bare_pin", "--accept-host-key", f"sha256:{bare}")
    assert "Updated connection 'bare_pin'." in repinned.stdout
    run_cli("connection", "delete", "bare_pin", "--yes")


def test_the_authentication_reads_ssh_key_and_json_keeps_the_value(
    run_cli: RunCli, create_connection: CreateConnection
):
    create_connection("worded")
    human = run_cli("connection", "show", "worded").stdout
    assert "(SSH key authentication)" in human.splitlines()[1]
    assert "ssh_key" not in human
    assert json.loads(run_cli("connection", "show", "worded", "--json").stdout)["auth_type"] == "ssh_key"
    assert "[ssh_key|password|ssh_key_and_password]" in run_cli("connection", "update", "--help").stdout  # its values
    run_cli("connection", "delete", "worded", "--yes")


def test_trust_on_first_use_is_explicit_and_said_once(run_cli: RunCli, sshd: SshServer):
    """The user is warned once, in the CLI's words (the INFO log record, tests/management, shows with -v)."""
    result = run_cli(
        *("connection", "create", "tofu", "--entity", "e", "--host", sshd.host, "--port", str(sshd.port)),
        *("--username", sshd.user.name, "--trust-on-first-use"),
    )
    assert result.stderr.count("trusting SHA256:") == 1
    assert "Trust on first use" not in result.stderr
    run_cli("connection", "delete", "tofu", "--yes")


def test_existing_name_is_refused(run_cli: RunCli, sshd: SshServer, create_connection: CreateConnection):
    create_connection("dup")
    result = run_cli("connection", "create", "dup", "--entity", "e", "--host", sshd.host, "--username", "u", expect=1)
    assert "already exists" in result.stderr
    run_cli("connection", "delete", "dup", "--yes")


def test_password_auth_needs_a_password(run_cli: RunCli, sshd: SshServer):
    result = run_cli(
        *("connection", "create", "nopw", "--entity", "e", "--host", sshd.host, "--username", "u"),
        *("--auth-type", "password"),
        expect=1,
    )
    assert "--password-stdin" in result.stderr


def test_password_connection_from_stdin(run_cli: RunCli, sshd: SshServer):
    if sshd.user.password is None:
        pytest.skip("sshd checks other users' passwords only as root")
    run_cli(
        *("connection", "create", "pw_conn", "--entity", "e", "--host", sshd.host, "--port", str(sshd.port)),
        *("--username", sshd.user.name, "--auth-type", "password", "--password-stdin"),
        *("--accept-host-key", fingerprint_of(sshd.host_key_line)),
        input_text=f"{sshd.user.password}\n",
    )
    SEEN_SECRETS.add(sshd.user.password)
    run_cli("connection", "test", "pw_conn")
    run_cli("connection", "delete", "pw_conn", "--yes")


def test_unknown_connection(run_cli: RunCli):
    result = run_cli("connection", "show", "nope", expect=1)
    assert result.stderr == "actito-sftp: error: Connection 'nope' does not exist\n"


def test_cli_key_authenticates_the_hook(run_cli: RunCli, sshd: SshServer, create_connection: CreateConnection):
    created = json.loads(create_connection("hook_key", "--json", "--location", "in=/tmp").stdout)
    sshd.add_authorized_key(created["ssh_key"]["public_key"])
    hook = ActitoSftpHook("hook_key")
    assert hook.settings.host_keys
    assert hook.list_location("in") is not None
    run_cli("connection", "delete", "hook_key", "--yes")


def test_show_warns_ahead_of_inbound_key_expiry(run_cli: RunCli, create_connection: CreateConnection):
    create_connection("expiring")
    run_cli("pgp-key", "generate", "expiring", "--expires", "10d")
    shown = json.loads(run_cli("connection", "show", "expiring", "--json").stdout)
    assert len(shown["warnings"]) == 1
    assert "less than 30 days" in shown["warnings"][0]
    assert "WARNING:" in run_cli("connection", "show", "expiring").stdout
    run_cli("connection", "delete", "expiring", "--yes")


def test_update_sets_the_schema_fields(run_cli: RunCli, create_connection: CreateConnection):
    create_connection("tuned")
    run_cli(
        *("connection", "update", "tuned", "--connect-timeout", "60", "--keepalive-interval", "0"),
        *("--transfer-concurrency", "4", "--ciphers", "aes256-ctr, aes128-ctr", "--compression"),
    )
    shown = json.loads(run_cli("connection", "show", "tuned", "--json").stdout)
    assert (shown["connect_timeout"], shown["keepalive_interval"], shown["transfer_concurrency"]) == (60, 0, 4)
    assert (shown["ciphers"], shown["compression"]) == (["aes256-ctr", "aes128-ctr"], True)
    # the entity is fixed after creation, as on the page (tests/plugin/test_config_api.py): no flag to change it
    entity = run_cli("connection", "update", "tuned", "--entity", "sales", expect=2)
    assert "No such option '--entity'" in entity.stderr
    assert json.loads(run_cli("connection", "show", "tuned", "--json").stdout)["entity"] == shown["entity"]
    assert "connect timeout 60 s" in run_cli("connection", "show", "tuned").stdout
    assert run_cli("connection", "update", "tuned", "--connect-timeout", "0", expect=2).stdout == ""
    refused = run_cli("connection", "update", "tuned", "--ciphers", "rot13", expect=1)
    assert "unsupported cipher(s) rot13" in refused.stderr
    note = run_cli("connection", "update", "tuned", "--port", "2222").stdout
    assert "pinned host key was kept" in note
    run_cli("connection", "delete", "tuned", "--yes")


def test_switching_to_ssh_key_auth_generates_a_key(run_cli: RunCli, create_connection: CreateConnection):
    create_connection("switch")
    store = ConnectionStore()
    record = store.get("switch")
    record.extra.pop("ssh_private_key")
    record.extra["auth_type"] = "password"
    record.password = "a-password-for-the-switch"
    SEEN_SECRETS.add(record.password)
    store.save(record)
    switched = run_cli("connection", "update", "switch", "--auth-type", "ssh_key")
    assert "Generated an SSH key; install it in authorized_keys:\nssh-ed25519 " in switched.stdout
    assert "The password was removed" in switched.stdout  # it would still be offered to the server
    assert ConnectionStore().get("switch").password is None
    shown = json.loads(run_cli("connection", "show", "switch", "--json").stdout)
    assert shown["auth_type"] == "ssh_key"
    assert shown["ssh_key"]["public_key"] in switched.stdout
    again = run_cli("connection", "update", "switch", "--auth-type", "ssh_key")
    assert "password" not in again.stdout  # nothing left to remove, nothing said
    run_cli("connection", "delete", "switch", "--yes")


def test_delete_removes_keys_and_ledger_variables(run_cli: RunCli, create_connection: CreateConnection):
    from airflow.models import Variable
    from airflow.utils.session import create_session

    from airflow_provider_actito_sftp.connection.variable_keys import StateKind, legacy_key, state_key

    create_connection("doomed")
    run_cli("pgp-key", "generate", "doomed")
    digest = "cd" * 20
    kept = [state_key(StateKind.LEDGER, other, "inbound", digest) for other in ("doomed:eu", "DOOMED", "doomedX")]
    kept.append(f"actito_sftp_ledger:doomed:eu:inbound:{digest}")  # an earlier version's key of "doomed:eu"
    doomed = [
        state_key(StateKind.LEDGER, "doomed", "inbound", digest),
        legacy_key(StateKind.DELIVERED, "doomed", "out", digest),
    ]
    with create_session() as session:
        before = {row.key for row in session.query(Variable).filter(Variable.key.like("actito_sftp_%"))}
        for key in [*doomed, *kept]:
            session.add(Variable(key=key, val="{}"))
    deleted = run_cli("connection", "delete", "doomed", "--yes")
    assert "with 1 SSH key(s) and 1 inbound PGP key(s), and 2 ledger Variable(s)" in deleted.stdout
    assert not ConnectionStore().exists("doomed")
    with create_session() as session:
        left = {row.key for row in session.query(Variable).filter(Variable.key.like("actito_sftp_%"))}
        assert left - before == set(kept)  # other tests' state (other connections) is not this test's business
        assert not before & set(doomed)
        session.query(Variable).filter(Variable.key.in_(kept)).delete(synchronize_session=False)


def test_create_pins_the_partners_ed25519_key_on_a_server_that_also_has_rsa_and_ecdsa(
    run_cli: RunCli, multi_key_sshd: SshServer
):
    """The partner reads out what `ssh` shows (ed25519) while the server also holds RSA and ECDSA keys: the
    CLI shows the key the server presents (one connection, as `ssh` makes: issue 26.4), pins the confirmed one,
    and the connection then works with it."""
    ed25519 = fingerprint_of(multi_key_sshd.host_key_lines["ed25519"])
    server = ("--host", multi_key_sshd.host, "--port", str(multi_key_sshd.port), "--username", multi_key_sshd.user.name)
    created = run_cli(
        *("connection", "create", "multi_keys", "--entity", "e", *server, "--accept-host-key", ed25519, "--json")
    )
    assert f"presents host key {ed25519} (ssh-ed25519)\n" in created.stderr
    assert created.stderr.count("SHA256:") == 1  # the server's other keys were not fetched: no need
    assert json.loads(created.stdout)["host_key_fingerprint"] == ed25519
    multi_key_sshd.add_authorized_key(json.loads(created.stdout)["ssh_key"]["public_key"])
    assert ed25519 in run_cli("connection", "test", "multi_keys").stdout
    run_cli("connection", "delete", "multi_keys", "--yes")


def test_moving_a_password_connection_needs_the_password_again(run_cli: RunCli, sshd: SshServer):
    import getpass

    from airflow.models import Log
    from airflow.utils.session import create_session

    password = "a-password-entered-for-this-server"
    SEEN_SECRETS.add(password)
    run_cli(
        *("connection", "create", "moving", "--entity", "e", "--host", sshd.host, "--port", str(sshd.port)),
        *("--username", "u", "--auth-type", "password", "--password-stdin", "--trust-on-first-use"),
        input_text=f"{password}\n",
    )
    refused = run_cli("connection", "update", "moving", "--port", "2022", expect=1)
    assert "'password': enter the password again" in refused.stderr
    assert "--password-stdin" in refused.stderr
    assert ConnectionStore().get("moving").port == sshd.port
    run_cli("connection", "update", "moving", "--port", "2022", "--password-stdin", input_text=f"{password}\n")
    assert ConnectionStore().get("moving").port == 2022
    with create_session() as session:
        rows = session.query(Log).filter(Log.event == "actito_sftp_connection_update").order_by(Log.id.desc()).all()
        entry = next(json.loads(row.extra) | {"owner": row.owner} for row in rows if '"moving"' in row.extra)
    assert (entry["owner"], entry["via"]) == (getpass.getuser(), "actito-sftp CLI")
    assert entry["changes"] == {"port": {"from": sshd.port, "to": 2022}, "password": "entered again"}
    run_cli("connection", "delete", "moving", "--yes")
