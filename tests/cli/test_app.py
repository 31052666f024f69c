"""The CLI as a whole: one full session, the edit transaction, help, the console script, schema-driven flags."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from airflow_provider_actito_sftp.cli import cli
from airflow_provider_actito_sftp.cli.app import field_options, given
from airflow_provider_actito_sftp.connection.field import Field, Kind, Screen
from airflow_provider_actito_sftp.connection.schema import FIELDS
from airflow_provider_actito_sftp.connection.store import ConnectionStore
from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.sshd import SshServer
from tests.cli.support import SEEN_SECRETS, CreateConnection, RunCli, fingerprint_of, secret_fragments
from tests.support.pgp_files import PgpDecryptError, decrypt_file, encrypt_file


def test_full_session(run_cli: RunCli, sshd: SshServer, tmp_path: Path):
    """create, keys, locations, policy, test, delete — the transcript in the closing note."""
    inbound = sshd.make_folder("cli-inbound")
    outbound = sshd.make_folder("cli-outbound")
    archive = sshd.make_folder("cli-archive")
    offered = fingerprint_of(sshd.host_key_line)
    server = ["--host", sshd.host, "--port", str(sshd.port), "--username", sshd.user.name]

    # The first attempt shows the fingerprint and saves nothing until it is confirmed.
    first = run_cli(
        "connection", "create", "acme_sftp", "--entity", "acme", *server, "--location", f"inbound={inbound}", expect=1
    )
    assert offered in first.stderr
    assert not ConnectionStore().exists("acme_sftp")
    created = run_cli(
        *("connection", "create", "acme_sftp", "--entity", "acme", "--display-name", "ACME", *server),
        *("--location", f"inbound={inbound}", "--accept-host-key", offered, "--json"),
    )
    public_line = json.loads(created.stdout)["ssh_key"]["public_key"]
    assert json.loads(created.stdout)["host_key_fingerprint"] == offered
    assert json.loads(created.stdout)["conn_id"] == "acme_sftp"
    assert public_line.startswith("ssh-ed25519 ")

    # Not installed yet: the server refuses us. Installed: the test passes.
    run_cli("connection", "test", "acme_sftp", expect=1)
    sshd.add_authorized_key(public_line)
    tested = run_cli("connection", "test", "acme_sftp")
    assert offered in tested.stdout

    pub_file = tmp_path / "acme.pub"
    run_cli("ssh-key", "public", "acme_sftp", "--output", str(pub_file))
    assert pub_file.read_text().strip() == public_line

    assert "(checked on the server)" in run_cli("location", "add", "acme_sftp", "outbound", str(outbound)).stdout
    # A folder the server does not have is refused by default, naming it, and nothing is saved ...
    missing = run_cli("location", "add", "acme_sftp", "archive", "/tmp/wrong", expect=1).stderr
    assert "'archive'" in missing, missing
    assert "/tmp/wrong" in missing, missing
    assert "archive" not in json.loads(run_cli("location", "list", "acme_sftp", "--json").stdout)
    # ... unless the check is left out (the partner has not created it yet).
    unchecked = run_cli("location", "add", "acme_sftp", "archive", "/tmp/wrong", "--no-check").stdout
    assert "not checked on the server" in unchecked
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
                *("policy", "acme_sftp", "--outbound-pgp", "--inbound-pgp-required"),
                *("--outbound-lock-suffix", ".filepart", "--json"),
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
    assert description["conn_id"] == "acme_sftp"
    assert description["display_name"] == "ACME Europe"
    assert description["host_key"] == [offered]
    assert description["inbound_pgp_required"] is True
    assert description["partner_pgp_public_key"]["fingerprint"] == partner_fingerprint
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
    record = ConnectionStore().get(conn_id)
    encrypt_file(source, destination, record.extra["partner_pgp_public_key"], what=f"file {source.name!r}")


def _stored_secret_fragments(conn_id: str) -> set[str]:
    record = ConnectionStore().get(conn_id)
    fragments: set[str] = set()
    for value in record.secret_fields().values():
        fragments |= secret_fragments(value)
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


def test_connection_outside_the_db_is_exported_not_written(
    run_cli: RunCli, env_connection: str, tmp_path: Path, client_key: str
):
    secrets_file = tmp_path / "from_env.json"
    result = run_cli("pgp-key", "generate", env_connection, "--secrets-file", str(secrets_file), expect=3)
    assert "NOT SAVED" in result.stderr
    assert "AIRFLOW_CONN_FROM_ENV" in result.stderr
    public = json.loads(result.stdout)
    assert public["extra"]["entity"] == "acme"
    assert "ssh_private_key" not in public["extra"]
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    stored = json.loads(secrets_file.read_text())
    assert stored["extra"]["ssh_private_key"] == client_key
    assert stored["extra"]["inbound_pgp_private_keys"].startswith("-----BEGIN PGP PRIVATE KEY BLOCK-----")
    SEEN_SECRETS.update(secret_fragments(stored["extra"]["inbound_pgp_private_keys"]))
    assert not any(fragment in result.stdout + result.stderr for fragment in SEEN_SECRETS)
    # A second change would overwrite the first file: refused.
    again = run_cli("pgp-key", "generate", env_connection, "--secrets-file", str(secrets_file), expect=1)
    assert "exists already" in again.stderr
    # Reading works as usual.
    shown = json.loads(run_cli("connection", "show", env_connection, "--json").stdout)
    assert shown["stored_in"] == "environment/secrets backend (read only)"
    assert not ConnectionStore().get(env_connection).in_metadata_db


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
    assert "Usage: " in run_cli("metrics", "--help").stdout


def test_every_connection_argument_is_conn_id():
    def commands(group: click.Group) -> list[click.Command]:
        found: list[click.Command] = []
        for command in group.commands.values():
            found += commands(command) if isinstance(command, click.Group) else [command]
        return found

    for command in commands(cli):
        first = command.params[0]
        assert isinstance(first, click.Argument), command.name
        assert (first.name, first.make_metavar(click.Context(command))) in {
            ("conn_id", "CONN_ID"),
            ("conn_id", "[CONN_ID]"),
        }


SCRIPT = Path(sys.executable).with_name("actito-sftp")


def _script_env(**changes: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "_AIRFLOW_PROCESS_CONTEXT"}
    return {**env, **changes}


def test_console_script_prints_only_results_on_stdout_and_nothing_else_on_stderr(
    run_cli: RunCli, create_connection: CreateConnection, tmp_path: Path
):
    """The installed ``actito-sftp`` entry point: JSON on stdout parses; stderr holds only what concerns the
    user (no Airflow or library warnings: RFC 3986 schemes, the masker, gnupg), an error in one line."""
    create_connection("script_conn")
    env = _script_env()
    shown = subprocess.run(
        [str(SCRIPT), "connection", "show", "script_conn", "--json"], capture_output=True, text=True, env=env
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["conn_id"] == "script_conn"
    assert shown.stderr == ""
    failed = subprocess.run([str(SCRIPT), "connection", "show", "missing"], capture_output=True, text=True, env=env)
    assert failed.returncode == 1
    assert failed.stdout == ""
    assert failed.stderr == "actito-sftp: error: Connection 'missing' does not exist\n"
    # The test reads the connection the way a hook does (where Airflow warns about the URI scheme) and is
    # refused by the server (our key is not installed): one line.
    tested = subprocess.run([str(SCRIPT), "connection", "test", "script_conn"], capture_output=True, text=True, env=env)
    assert tested.returncode == 1
    assert len(tested.stderr.splitlines()) == 1, tested.stderr
    assert tested.stderr.startswith("actito-sftp: error: "), tested.stderr
    # gpg refusing a file that holds no key: python-gnupg's own warning (gpg's exit code 2) stays quiet
    garbage = tmp_path / "partner.asc"
    garbage.write_text("not a key\n")
    refused = subprocess.run(
        [str(SCRIPT), "partner-key", "set", "script_conn", str(garbage)], capture_output=True, text=True, env=env
    )
    assert refused.returncode == 1
    assert len(refused.stderr.splitlines()) == 1, refused.stderr
    assert "error code" not in refused.stderr
    run_cli("connection", "delete", "script_conn", "--yes")


PROBE = """
import sys
from airflow_provider_actito_sftp.cli import main
sys.argv = ["actito-sftp", *sys.argv[1:]]
try:
    main()
finally:
    loaded = sorted(name for name in ("airflow", "asyncssh", "sqlalchemy") if name in sys.modules)
    print("LOADED:" + ",".join(loaded), file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("args", "exit_code", "shown"),
    [
        (["--help"], 0, "Manage Actito SFTP connections"),
        (["connection", "create", "--help"], 0, "Examples:"),
        (["conection", "show", "x"], 2, "No such command 'conection'"),
        (["location", "add", "acme_sftp"], 2, "Missing argument 'LOCATION_NAME'"),
        (["connection", "update", "acme_sftp", "--port", "70000"], 2, "70000 is not in the range 1<=x<=65535"),
    ],
)
def test_help_and_usage_errors_answer_without_loading_airflow(args: list[str], exit_code: int, shown: str):
    """What a user types first answers at once: Airflow, asyncssh and SQLAlchemy are loaded only by a command
    that runs (the time itself is measured by ``benchmarks.cli_timings``, not here)."""
    probe = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=_script_env())
    assert probe.returncode == exit_code, probe.stderr
    assert shown in probe.stdout + probe.stderr
    assert probe.stderr.strip().splitlines()[-1] == "LOADED:"


@pytest.mark.airflow  # runs the `airflow` command: seconds each (tests/support/tiers.py)
def test_a_metadata_db_without_tables_is_one_line_saying_what_to_run(tmp_path: Path):
    env = {key: value for key, value in _script_env(AIRFLOW_HOME=str(tmp_path)).items() if "__DATABASE__" not in key}
    result = subprocess.run([str(SCRIPT), "connection", "show", "acme_sftp"], capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert result.stderr == (
        f"actito-sftp: error: the Airflow metadata DB of AIRFLOW_HOME={tmp_path} has no tables yet: "
        "run `airflow db migrate` first\n"
    )


def test_every_command_has_an_example_and_every_option_a_description():
    def commands(group: click.Group, path: str) -> list[tuple[str, click.Command]]:
        found: list[tuple[str, click.Command]] = []
        for name, command in group.commands.items():
            found += (
                commands(command, f"{path} {name}")
                if isinstance(command, click.Group)
                else [(f"{path} {name}", command)]
            )
        return found

    for path, command in commands(cli, "actito-sftp"):
        assert command.epilog, path
        assert f"{path} " in command.epilog, path
        undescribed = [param.opts[0] for param in command.params if isinstance(param, click.Option) and not param.help]
        assert undescribed == [], path


# --- the schema drives the flags ----------------------------------------------------------------------

COMMANDS_OF_SCREEN = {
    Screen.GENERAL: (("connection", "create"), ("connection", "update")),
    Screen.SERVER: (("connection", "create"), ("connection", "update")),
    Screen.ADVANCED: (("connection", "update"),),
    Screen.INBOUND: (("policy",),),
    Screen.OUTBOUND: (("policy",),),
}
# Fields set by a command of their own, which validates what it stores.
OWN_COMMANDS = {"partner_pgp_public_key": ("partner-key", "set")}


def _command(*path: str) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def _options(*path: str) -> dict[str, click.Option]:
    return {param.name or "": param for param in _command(*path).params if isinstance(param, click.Option)}


def test_the_schema_drives_the_cli():
    """Every non-secret field a user types in has its flag, named after it, on its screen's commands."""
    checked = 0
    for field in FIELDS:
        if field.screen not in COMMANDS_OF_SCREEN or field.secret or field.generated:
            continue
        if field.name in OWN_COMMANDS:
            assert _command(*OWN_COMMANDS[field.name])
            continue
        for path in COMMANDS_OF_SCREEN[field.screen]:
            if field.fixed_after_creation and path[-1] != "create":
                assert field.name not in _options(*path), path  # set once, at creation (the entity)
                continue
            option = _options(*path)[field.name]
            assert option.opts == [field.flag], path
            assert option.help == field.help, path
            _assert_typed_like(option, field)
            checked += 1
    assert checked == 2 * 7 - 1 + 5 + 5  # general+server on create and update (no entity), advanced, policies


def _assert_typed_like(option: click.Option, field: Field) -> None:
    if field.kind is Kind.BOOLEAN:
        assert option.secondary_opts == ["--no-" + field.flag.removeprefix("--")]
    elif field.kind is Kind.INTEGER:
        assert isinstance(option.type, click.IntRange)
        assert (option.type.min, option.type.max) == (field.minimum, field.maximum)
    elif field.kind is Kind.CHOICE:
        assert isinstance(option.type, click.Choice)
        assert tuple(option.type.choices) == field.choices


def test_no_hand_written_field_flags_remain():
    every_flag = {
        flag
        for path in (("connection", "create"), ("connection", "update"), ("policy",))
        for option in _options(*path).values()
        for flag in option.opts + option.secondary_opts
    }
    assert not {"--auth", "--lock-suffix", "--password"} & every_flag
    assert "--password-stdin" in every_flag


SAMPLE = (
    Field("size", "Size", "How many.", Screen.ADVANCED, Kind.INTEGER, default=3, minimum=1, maximum=9),
    Field("mode", "Mode", "Which one.", Screen.ADVANCED, Kind.CHOICE, default="a", choices=("a", "b")),
    Field("name", "Name", "What it is called.", Screen.GENERAL, required=True),
    Field("fast", "Fast", "Go fast.", Screen.ADVANCED, Kind.BOOLEAN, default=False),
)


def _sample_command(create: bool) -> click.Command:
    @click.command()
    @field_options(SAMPLE, create=create)
    def command(**values: object) -> None:
        click.echo(json.dumps(given(values), sort_keys=True))

    return command


def test_field_options_leave_what_is_not_given_unchanged():
    runner = CliRunner()
    assert json.loads(runner.invoke(_sample_command(False), []).output) == {}
    given_values = runner.invoke(_sample_command(False), ["--size", "9", "--no-fast", "--mode", "b"]).output
    assert json.loads(given_values) == {"size": 9, "mode": "b", "fast": False}
    assert runner.invoke(_sample_command(False), ["--size", "10"]).exit_code == 2
    assert runner.invoke(_sample_command(False), ["--mode", "c"]).exit_code == 2


def test_field_options_for_create_require_and_default():
    runner = CliRunner()
    missing = runner.invoke(_sample_command(True), [])
    assert missing.exit_code == 2
    assert "--name" in missing.output
    created = runner.invoke(_sample_command(True), ["--name", "x"]).output
    assert json.loads(created) == {"size": 3, "mode": "a", "name": "x", "fast": False}
