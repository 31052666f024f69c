"""The ``actito-sftp`` CLI against the real test sshd, real gpg and the test metadata DB.

Every invocation goes through :func:`run_cli`, which appends to a transcript and checks that nothing the
CLI printed or logged contains a private key, a passphrase or a password seen so far.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from airflow_provider_actito_sftp.cli import cli
from airflow_provider_actito_sftp.connection.schema import SECRET_EXTRA_KEYS
from airflow_provider_actito_sftp.connection.store import ConnectionStore
from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from tests.support.partner_gpg import PartnerGpg
from tests.support.pgp_files import PgpDecryptError, decrypt_file
from tests.support.sshd import SshServer

TRANSCRIPT: list[str] = []
SEEN_SECRETS: set[str] = set()


def _boilerplate_lines() -> set[str]:
    """Lines every OpenSSH private key of a type shares (its fixed header), which identify nothing."""
    import asyncssh

    lines: set[str] = set()
    for algorithm in ("ssh-ed25519", "ssh-rsa"):
        first, second = (asyncssh.generate_private_key(algorithm).export_private_key().decode() for _ in range(2))
        lines |= set(first.splitlines()) & set(second.splitlines())
    return lines


BOILERPLATE = _boilerplate_lines()


def _secret_fragments(value: str) -> set[str]:
    """Lines of a secret long enough to identify it (armor headers and fixed key headers are skipped)."""
    lines = {line.strip() for line in value.splitlines()} - BOILERPLATE
    fragments = {line for line in lines if len(line) >= 16 and not line.startswith("-----")}
    return fragments or ({value} if len(value) >= 6 else set())


def _collect_db_secrets() -> None:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        for conn in session.query(Connection).filter(Connection.conn_type == "actito_sftp"):
            if conn.password:
                SEEN_SECRETS.update(_secret_fragments(conn.password))
            for field in SECRET_EXTRA_KEYS:
                value = conn.extra_dejson.get(field)
                if value:
                    SEEN_SECRETS.update(_secret_fragments(value))


RunCli = Callable[..., Result]


@pytest.fixture
def run_cli(airflow_db: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator[RunCli]:
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")
    runner = CliRunner()

    def run(*args: str, input_text: str | None = None, expect: int = 0) -> Result:
        result = runner.invoke(cli, list(args), input=input_text, catch_exceptions=False)
        TRANSCRIPT.append(f"$ actito-sftp {' '.join(args)}\n{result.stdout}{result.stderr}[exit {result.exit_code}]")
        _collect_db_secrets()
        printed = result.stdout + result.stderr + caplog.text
        assert "PRIVATE KEY" not in printed
        leaked = [fragment for fragment in SEEN_SECRETS if fragment in printed]
        assert not leaked, "the CLI printed or logged secret material"
        assert result.exit_code == expect, f"{args}: exit {result.exit_code}\n{result.stdout}{result.stderr}"
        return result

    yield run
    transcript_path = os.environ.get("ACTITO_CLI_TRANSCRIPT")
    if transcript_path:
        Path(transcript_path).write_text("\n\n".join(TRANSCRIPT) + "\n")


def _fingerprint(line: str) -> str:
    import asyncssh

    from airflow_provider_actito_sftp.ssh.host_keys import fingerprint

    return fingerprint(asyncssh.import_public_key(line))


def _create(run_cli: RunCli, sshd: SshServer, name: str, *extra: str) -> Result:
    return run_cli(
        "connection",
        "create",
        name,
        "--entity",
        "acme",
        "--host",
        sshd.host,
        "--port",
        str(sshd.port),
        "--username",
        sshd.user.name,
        "--accept-host-key",
        _fingerprint(sshd.host_key_line),
        *extra,
    )


def test_full_session(run_cli: RunCli, sshd: SshServer, tmp_path: Path):
    """create, keys, locations, policy, test, delete — the transcript in the closing note."""
    inbound = sshd.make_folder("cli-inbound")
    outbound = sshd.make_folder("cli-outbound")
    archive = sshd.make_folder("cli-archive")
    offered = _fingerprint(sshd.host_key_line)

    # The first attempt shows the fingerprint and saves nothing until it is confirmed.
    first = run_cli(
        "connection",
        "create",
        "acme_sftp",
        "--entity",
        "acme",
        "--host",
        sshd.host,
        "--port",
        str(sshd.port),
        "--username",
        sshd.user.name,
        "--location",
        f"inbound={inbound}",
        expect=1,
    )
    assert offered in first.stderr
    assert not ConnectionStore().exists("acme_sftp")
    created = run_cli(
        "connection",
        "create",
        "acme_sftp",
        "--entity",
        "acme",
        "--display-name",
        "ACME",
        "--host",
        sshd.host,
        "--port",
        str(sshd.port),
        "--username",
        sshd.user.name,
        "--location",
        f"inbound={inbound}",
        "--accept-host-key",
        offered,
        "--json",
    )
    public_line = json.loads(created.stdout)["ssh_public_key"]
    assert json.loads(created.stdout)["host_key_fingerprint"] == offered
    assert public_line.startswith("ssh-ed25519 ")

    # Not installed yet: the server refuses us. Installed: the test passes.
    run_cli("connection", "test", "acme_sftp", expect=1)
    sshd.add_authorized_key(public_line)
    tested = run_cli("connection", "test", "acme_sftp")
    assert offered in tested.stdout

    pub_file = tmp_path / "acme.pub"
    run_cli("ssh-key", "public", "acme_sftp", "--output", str(pub_file))
    assert pub_file.read_text().strip() == public_line

    run_cli("location", "add", "acme_sftp", "outbound", str(outbound))
    run_cli("location", "add", "acme_sftp", "archive", "/tmp/wrong")
    run_cli("location", "update", "acme_sftp", "archive", str(archive))
    listed = json.loads(run_cli("location", "list", "acme_sftp", "--json").stdout)
    assert listed == {"inbound": str(inbound), "outbound": str(outbound), "archive": str(archive)}
    run_cli("location", "remove", "acme_sftp", "archive")
    assert "archive" not in json.loads(run_cli("location", "list", "acme_sftp", "--json").stdout)
    run_cli("connection", "update", "acme_sftp", "--display-name", "ACME Europe")

    with PartnerGpg() as partner:
        # Inbound PGP: the partner encrypts to the key we hand out; we decrypt.
        run_cli("pgp-key", "generate", "acme_sftp")
        first_public = run_cli("pgp-key", "public", "acme_sftp").stdout
        assert first_public.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
        plaintext = tmp_path / "customers.csv"
        plaintext.write_text("id;email\n1;ada@example.com\n")
        old_file = tmp_path / "old.csv.pgp"
        partner.encrypt_to(first_public, plaintext, old_file)
        _decrypt_with_stored_keys("acme_sftp", old_file, tmp_path / "old.csv")

        run_cli("pgp-key", "rotate", "acme_sftp")
        new_public = run_cli("pgp-key", "public", "acme_sftp").stdout
        assert new_public != first_public
        new_file = tmp_path / "new.csv.pgp"
        partner.encrypt_to(new_public, plaintext, new_file)
        # Files encrypted to the old key still decrypt after the rotation.
        _decrypt_with_stored_keys("acme_sftp", old_file, tmp_path / "old-after-rotate.csv")
        _decrypt_with_stored_keys("acme_sftp", new_file, tmp_path / "new.csv")
        keys = json.loads(run_cli("pgp-key", "list", "acme_sftp", "--json").stdout)
        assert len(keys) == 2
        run_cli("pgp-key", "retire", "acme_sftp")
        with pytest.raises(PgpDecryptError, match="not encrypted to any of our inbound PGP keys"):
            _decrypt_with_stored_keys("acme_sftp", old_file, tmp_path / "old-after-retire.csv")
        assert not (tmp_path / "old-after-retire.csv").exists()
        _decrypt_with_stored_keys("acme_sftp", new_file, tmp_path / "new-after-retire.csv")

        # Outbound PGP: refused until the partner key is set; then the partner decrypts what we encrypt.
        run_cli("policy", "acme_sftp", "--outbound-pgp", expect=1)
        partner_fingerprint = partner.generate()
        partner_key_file = tmp_path / "partner.asc"
        partner_key_file.write_text(partner.export_public(partner_fingerprint))
        shown = json.loads(run_cli("partner-key", "set", "acme_sftp", str(partner_key_file), "--json").stdout)
        assert shown["fingerprint"] == partner_fingerprint
        assert json.loads(run_cli("partner-key", "show", "acme_sftp", "--json").stdout)["expires"]
        policy = json.loads(
            run_cli(
                "policy",
                "acme_sftp",
                "--outbound-pgp",
                "--inbound-pgp-required",
                "--lock-suffix",
                ".filepart",
                "--json",
            ).stdout
        )
        assert policy == {
            "inbound_pgp_required": True,
            "outbound_lock": True,
            "outbound_lock_suffix": ".filepart",
            "outbound_pgp": True,
            "outbound_pgp_armor": False,
        }
        encrypted = tmp_path / "segment.csv.pgp"
        _encrypt_with_stored_partner_key("acme_sftp", plaintext, encrypted)
        partner.decrypt(encrypted, tmp_path / "segment-by-partner.csv")
        assert (tmp_path / "segment-by-partner.csv").read_text() == plaintext.read_text()

    # SSH key rotation: the pending key activates only once the server accepts it.
    rotation = json.loads(run_cli("ssh-key", "rotate", "acme_sftp", "--json").stdout)
    assert rotation["state"] == "pending"
    run_cli("connection", "test", "acme_sftp")  # the old key keeps working meanwhile
    refused = run_cli("ssh-key", "rotate", "acme_sftp", expect=1)
    assert "does not accept the pending key yet" in refused.stderr
    sshd.add_authorized_key(rotation["public_key"])
    activated = json.loads(run_cli("ssh-key", "rotate", "acme_sftp", "--json").stdout)
    assert activated == {**rotation, "state": "active"}
    assert (
        json.loads(run_cli("ssh-key", "public", "acme_sftp", "--json").stdout)["public_key"] == rotation["public_key"]
    )
    run_cli("connection", "test", "acme_sftp")

    description = json.loads(run_cli("connection", "show", "acme_sftp", "--json").stdout)
    assert description["display_name"] == "ACME Europe"
    assert description["host_keys"] == [offered]
    assert description["inbound"]["pgp_required"] is True
    assert description["outbound"]["partner_key"]["fingerprint"] == partner_fingerprint
    run_cli("connection", "show", "acme_sftp")

    # Delete needs confirmation; then nothing of it remains in the DB.
    run_cli("connection", "delete", "acme_sftp", input_text="n\n", expect=1)
    assert ConnectionStore().exists("acme_sftp")
    key_material = _stored_secret_fragments("acme_sftp")
    run_cli("connection", "delete", "acme_sftp", "--yes")
    _assert_no_key_material_left("acme_sftp", key_material)


def _decrypt_with_stored_keys(conn_id: str, source: Path, destination: Path) -> None:
    record = ConnectionStore().get(conn_id)
    decrypt_file(source, destination, record.extra["inbound_pgp_private_keys"], what=f"file {source.name!r}")
    assert destination.read_text().startswith("id;email")


def _encrypt_with_stored_partner_key(conn_id: str, source: Path, destination: Path) -> None:
    from tests.support.pgp_files import encrypt_file

    record = ConnectionStore().get(conn_id)
    encrypt_file(source, destination, record.extra["partner_pgp_public_key"], what=f"file {source.name!r}")


def _stored_secret_fragments(conn_id: str) -> set[str]:
    record = ConnectionStore().get(conn_id)
    fragments: set[str] = set()
    for value in record.secret_fields().values():
        fragments |= _secret_fragments(value)
    return fragments


def _assert_no_key_material_left(conn_id: str, fragments: set[str]) -> None:
    from airflow.models import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import text

    with create_session() as session:
        count = session.execute(text("SELECT count(*) FROM connection WHERE conn_id = :id"), {"id": conn_id}).scalar()
        assert count == 0
        everything_stored = " ".join(f"{conn.extra or ''} {conn.password or ''}" for conn in session.query(Connection))
    assert fragments
    assert not [fragment for fragment in fragments if fragment in everything_stored]


class TestRefusals:
    def test_wrong_host_key_fingerprint_saves_nothing(self, run_cli: RunCli, sshd: SshServer):
        result = run_cli(
            "connection",
            "create",
            "wrong_pin",
            "--entity",
            "e",
            "--host",
            sshd.host,
            "--port",
            str(sshd.port),
            "--username",
            "u",
            "--accept-host-key",
            "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            expect=1,
        )
        assert "host key mismatch" in result.stderr
        assert not ConnectionStore().exists("wrong_pin")

    def test_trust_on_first_use_is_explicit_and_logged(
        self, run_cli: RunCli, sshd: SshServer, caplog: pytest.LogCaptureFixture
    ):
        result = run_cli(
            "connection",
            "create",
            "tofu",
            "--entity",
            "e",
            "--host",
            sshd.host,
            "--port",
            str(sshd.port),
            "--username",
            sshd.user.name,
            "--trust-on-first-use",
        )
        assert "trusting SHA256:" in result.stderr
        assert "Trust on first use" in caplog.text
        run_cli("connection", "delete", "tofu", "--yes")

    def test_existing_name_is_refused(self, run_cli: RunCli, sshd: SshServer):
        _create(run_cli, sshd, "dup")
        result = run_cli(
            "connection", "create", "dup", "--entity", "e", "--host", sshd.host, "--username", "u", expect=1
        )
        assert "already exists" in result.stderr
        run_cli("connection", "delete", "dup", "--yes")

    def test_password_auth_needs_a_password(self, run_cli: RunCli, sshd: SshServer):
        result = run_cli(
            "connection",
            "create",
            "nopw",
            "--entity",
            "e",
            "--host",
            sshd.host,
            "--username",
            "u",
            "--auth",
            "password",
            expect=1,
        )
        assert "--password-stdin" in result.stderr

    def test_password_connection_from_stdin(self, run_cli: RunCli, sshd: SshServer):
        if sshd.user.password is None:
            pytest.skip("sshd checks other users' passwords only as root")
        run_cli(
            "connection",
            "create",
            "pw_conn",
            "--entity",
            "e",
            "--host",
            sshd.host,
            "--port",
            str(sshd.port),
            "--username",
            sshd.user.name,
            "--auth",
            "password",
            "--password-stdin",
            "--accept-host-key",
            _fingerprint(sshd.host_key_line),
            input_text=f"{sshd.user.password}\n",
        )
        SEEN_SECRETS.add(sshd.user.password)
        run_cli("connection", "test", "pw_conn")
        run_cli("connection", "delete", "pw_conn", "--yes")

    def test_key_generation_over_existing_keys_is_refused(self, run_cli: RunCli, sshd: SshServer):
        _create(run_cli, sshd, "regen")
        assert "use `ssh-key rotate`" in run_cli("ssh-key", "generate", "regen", expect=1).stderr
        run_cli("pgp-key", "generate", "regen")
        assert "use `pgp-key rotate`" in run_cli("pgp-key", "generate", "regen", expect=1).stderr
        newest = json.loads(run_cli("pgp-key", "list", "regen", "--json").stdout)[0]["fingerprint"]
        assert "is the newest inbound key" in run_cli("pgp-key", "retire", "regen", newest, expect=1).stderr
        run_cli("connection", "delete", "regen", "--yes")

    def test_policies_need_their_keys(self, run_cli: RunCli, sshd: SshServer):
        _create(run_cli, sshd, "bare")
        assert "without an inbound key pair" in run_cli("policy", "bare", "--inbound-pgp-required", expect=1).stderr
        assert "without the partner's public key" in run_cli("policy", "bare", "--outbound-pgp", expect=1).stderr
        policy = json.loads(run_cli("policy", "bare", "--json").stdout)
        assert policy["inbound_pgp_required"] is False
        assert policy["outbound_pgp"] is False
        run_cli("connection", "delete", "bare", "--yes")

    @pytest.mark.parametrize(
        ("kind", "message"),
        [
            ("secret", "secret (private) key"),
            ("sign-only", "no usable encryption"),
            ("expired", "expired on"),
            ("revoked", "is revoked"),
            ("two", "expected exactly one public key, found 2"),
            ("garbage", "no OpenPGP key found"),
        ],
    )
    def test_partner_key_refusals(self, kind: str, message: str, run_cli: RunCli, sshd: SshServer, tmp_path: Path):
        name = f"pk_{kind.replace('-', '_')}"
        _create(run_cli, sshd, name)
        with PartnerGpg() as partner:
            if kind == "secret":
                text = partner.export_secret(partner.generate())
            elif kind == "sign-only":
                text = partner.export_public(partner.generate(usage="sign"))
            elif kind == "expired":
                text = partner.export_public(partner.generate(expires="1d", faked_time="20200101T000000"))
            elif kind == "revoked":
                fingerprint = partner.generate()
                partner.revoke(fingerprint)
                text = partner.export_public(fingerprint)
            elif kind == "two":
                text = partner.export_public(
                    partner.generate("A <a@example.com>"), partner.generate("B <b@example.com>")
                )
            else:
                text = "this is not a key\n"
        key_file = tmp_path / "partner.asc"
        key_file.write_text(text)
        result = run_cli("partner-key", "set", name, str(key_file), expect=1)
        assert message in result.stderr
        assert result.stderr.count("\n") == 1  # one line
        assert ConnectionStore().get(name).extra.get("partner_pgp_public_key") is None
        run_cli("connection", "delete", name, "--yes")

    def test_invalid_location_is_refused(self, run_cli: RunCli, sshd: SshServer):
        _create(run_cli, sshd, "locs")
        assert "must not contain '..'" in run_cli("location", "add", "locs", "in", "/data/../etc", expect=1).stderr
        assert "absolute folder path" in run_cli("location", "add", "locs", "in", "relative", expect=1).stderr
        run_cli("location", "add", "locs", "in", "/in")
        assert "already has location" in run_cli("location", "add", "locs", "in", "/in2", expect=1).stderr
        assert "has no location 'out'" in run_cli("location", "update", "locs", "out", "/o", expect=1).stderr
        assert "has no location 'out'" in run_cli("location", "remove", "locs", "out", expect=1).stderr
        run_cli("connection", "delete", "locs", "--yes")

    def test_unknown_connection(self, run_cli: RunCli):
        result = run_cli("connection", "show", "nope", expect=1)
        assert result.stderr == "actito-sftp: error: Connection 'nope' does not exist\n"


def test_connection_outside_the_db_is_exported_not_written(
    run_cli: RunCli, sshd: SshServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, client_key: str
):
    extra: dict[str, Any] = {
        "entity": "acme",
        "ssh_private_key": client_key,
        "host_key": sshd.host_key_line,
        "locations": {},
    }
    monkeypatch.setenv(
        "AIRFLOW_CONN_FROM_ENV",
        json.dumps({"conn_type": "actito_sftp", "host": sshd.host, "port": sshd.port, "login": "u", "extra": extra}),
    )
    SEEN_SECRETS.update(_secret_fragments(client_key))
    secrets_file = tmp_path / "from_env.json"
    result = run_cli("pgp-key", "generate", "from_env", "--secrets-file", str(secrets_file), expect=3)
    assert "NOT SAVED" in result.stderr
    assert "AIRFLOW_CONN_FROM_ENV" in result.stderr
    public = json.loads(result.stdout)
    assert public["extra"]["entity"] == "acme"
    assert "ssh_private_key" not in public["extra"]
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    stored = json.loads(secrets_file.read_text())
    assert stored["extra"]["ssh_private_key"] == client_key
    assert stored["extra"]["inbound_pgp_private_keys"].startswith("-----BEGIN PGP PRIVATE KEY BLOCK-----")
    SEEN_SECRETS.update(_secret_fragments(stored["extra"]["inbound_pgp_private_keys"]))
    assert not any(fragment in result.stdout + result.stderr for fragment in SEEN_SECRETS)
    # Reading works as usual.
    shown = json.loads(run_cli("connection", "show", "from_env", "--json").stdout)
    assert shown["stored_in"] == "environment/secrets backend (read only)"
    assert not ConnectionStore().get("from_env").in_metadata_db


def test_cli_key_authenticates_the_hook(run_cli: RunCli, sshd: SshServer):
    created = json.loads(_create(run_cli, sshd, "hook_key", "--json", "--location", "in=/tmp").stdout)
    sshd.add_authorized_key(created["ssh_public_key"])
    with ActitoSftpHook("hook_key") as session:
        assert session.settings.host_keys
        session.list_location("in")
    run_cli("connection", "delete", "hook_key", "--yes")


def test_every_command_has_help(run_cli: RunCli):
    groups = {
        "connection": ["create", "show", "update", "test", "delete"],
        "ssh-key": ["generate", "public", "rotate"],
        "pgp-key": ["generate", "public", "rotate", "retire", "list"],
        "partner-key": ["set", "show"],
        "location": ["add", "update", "remove", "list"],
    }
    for group, commands in groups.items():
        for command in commands:
            assert "Usage: " in run_cli(group, command, "--help").stdout
    assert "--outbound-pgp / --no-outbound-pgp" in run_cli("policy", "--help").stdout


def test_console_script_prints_only_results_on_stdout(run_cli: RunCli, sshd: SshServer):
    """The installed ``actito-sftp`` entry point: JSON on stdout parses, Airflow's log lines go to stderr."""
    import subprocess
    import sys

    _create(run_cli, sshd, "script_conn")
    script = Path(sys.executable).with_name("actito-sftp")
    env = {key: value for key, value in os.environ.items() if key != "_AIRFLOW_PROCESS_CONTEXT"}
    shown = subprocess.run(
        [str(script), "connection", "show", "script_conn", "--json"], capture_output=True, text=True, env=env
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["technical_name"] == "script_conn"
    failed = subprocess.run([str(script), "connection", "show", "missing"], capture_output=True, text=True, env=env)
    assert failed.returncode == 1
    assert failed.stdout == ""
    assert failed.stderr.strip().splitlines()[-1] == "actito-sftp: error: Connection 'missing' does not exist"
    run_cli("connection", "delete", "script_conn", "--yes")


def test_show_warns_ahead_of_inbound_key_expiry(run_cli: RunCli, sshd: SshServer):
    _create(run_cli, sshd, "expiring")
    run_cli("pgp-key", "generate", "expiring", "--expires", "10d")
    shown = json.loads(run_cli("connection", "show", "expiring", "--json").stdout)
    assert len(shown["warnings"]) == 1
    assert "less than 30 days" in shown["warnings"][0]
    assert "WARNING:" in run_cli("connection", "show", "expiring").stdout
    run_cli("connection", "delete", "expiring", "--yes")
