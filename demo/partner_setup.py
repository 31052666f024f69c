"""Shared by `make demo` and `make airflow`: a throwaway partner server and a fully configured connection.

Everything goes through the provider's own tooling (the `actito-sftp` CLI, in process): host-key pin,
SSH key pair, PGP key pair, partner key, locations, policies. The partner's side uses OpenSSH and gpg.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONN_ID = "actito_demo"
LOCATIONS = ("inbound", "archive", "quarantine", "outbound")


@dataclass
class DemoWorld:
    workdir: Path
    airflow_home: Path
    server: object
    partner: object
    folders: dict[str, Path]
    landing: Path
    exports: Path


def say(step: str) -> None:
    print(f"\n== {step}", flush=True)


def configure_airflow(workdir: Path) -> Path:
    """A throwaway Airflow home on SQLite, using the repo's example DAGs. Call before importing airflow."""
    home = workdir / "airflow-home"
    home.mkdir(parents=True)
    # dag.test() runs Airflow's execution API in process through Starlette's test client, which warns about
    # its own httpx use: nothing the demo's reader can act on.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    os.environ.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__CORE__FERNET_KEY="Jm0J2wQ3GcQJ8N8k0mJ6r2y6mH3r9mZk7w3B8Xr3z0E=",
        _AIRFLOW_PROCESS_CONTEXT="server",
        AIRFLOW__LOGGING__LOGGING_LEVEL=os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"),
        # Airflow warns at every connection lookup that "actito_sftp" (the conn_type) is no RFC 3986 URI scheme;
        # the README's "Quiet task logs" shows the same setting for a deployment.
        AIRFLOW__LOGGING__NAMESPACE_LEVELS=os.environ.get(
            "AIRFLOW__LOGGING__NAMESPACE_LEVELS", "airflow.models.connection=error"
        ),
        ACTITO_SFTP_CONN_ID=CONN_ID,
        ACTITO_LANDING_DIR=str(workdir / "landing"),
        ACTITO_EXPORT_DIR=str(workdir / "exports"),
    )
    return home


def actito_sftp(*args: str) -> int:
    """Run the `actito-sftp` CLI in this process, echoing the command; return its exit code."""
    from airflow_provider_actito_sftp.cli import cli

    print(f"$ actito-sftp {' '.join(args)}", flush=True)
    try:
        cli.main(list(args), prog_name="actito-sftp", standalone_mode=False)
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"demo: FAILED: {what}")
    print(f"   ok: {what}", flush=True)


def build_world() -> DemoWorld:
    workdir = Path(tempfile.mkdtemp(prefix="actito-demo-"))
    workdir.chmod(0o755)
    home = configure_airflow(workdir)
    from airflow.utils.db import initdb

    from partner_sandbox.gpg import PartnerGpg
    from partner_sandbox.sshd import ensure_test_user, find_sshd, start_sshd

    say("1. Airflow metadata DB (SQLite) in a throwaway AIRFLOW_HOME")
    initdb()
    check((home / "airflow.db").exists(), f"metadata DB created in {home}")

    say("2. The partner's SFTP server")
    if find_sshd() is not None and os.environ.get("ACTITO_DEMO_SERVER") != "inprocess":
        server = start_sshd(ensure_test_user())
        check(True, f"OpenSSH sshd on {server.host}:{server.port}, user {server.user.name}")
    else:
        import getpass

        from partner_sandbox.inprocess_server import InProcessKeyServer

        server = InProcessKeyServer(workdir / "partner-server", getpass.getuser())
        check(True, f"no sshd here: an asyncssh SFTP server on {server.host}:{server.port} instead")
    folders = {name: server.make_folder(name) for name in LOCATIONS}
    partner = PartnerGpg()
    return DemoWorld(workdir, home, server, partner, folders, workdir / "landing", workdir / "exports")


def configure_connection(world: DemoWorld) -> None:
    from airflow_provider_actito_sftp.connection.store import ConnectionStore

    server = world.server
    say("3. Create the connection (pins the server's host key, generates our SSH key pair)")
    locations = [f"--location={name}={remote_path(server, path)}" for name, path in world.folders.items()]
    code = actito_sftp(
        "connection",
        "create",
        CONN_ID,
        "--entity",
        "demo",
        "--display-name",
        "Demo partner",
        "--host",
        server.host,
        "--port",
        str(server.port),
        "--username",
        server.user.name,
        *locations,
        "--trust-on-first-use",
        "--json",
    )
    check(code == 0, "connection created (a real setup passes --accept-host-key with the partner's fingerprint)")
    record = ConnectionStore().get(CONN_ID)
    from airflow_provider_actito_sftp.management import ssh_public_keys

    active, _ = ssh_public_keys(record)
    assert active is not None
    server.add_authorized_key(active.public_line)
    print("   (partner installs our public key in authorized_keys)")
    check(actito_sftp("connection", "test", CONN_ID) == 0, "Test: host key pinned, key auth, all four locations")

    say("4. PGP: our inbound key pair for the partner, the partner's key for outbound files")
    check(actito_sftp("pgp-key", "generate", CONN_ID) == 0, "inbound PGP key pair generated")
    our_public = world.workdir / "actito-inbound.asc"
    check(actito_sftp("pgp-key", "public", CONN_ID, "--output", str(our_public)) == 0, "public key handed out")
    partner_fingerprint = world.partner.generate("Demo Partner <partner@example.com>")  # type: ignore[attr-defined]
    partner_key = world.workdir / "partner.asc"
    partner_key.write_text(world.partner.export_public(partner_fingerprint))  # type: ignore[attr-defined]
    check(actito_sftp("partner-key", "set", CONN_ID, str(partner_key)) == 0, "partner public key validated and set")
    check(
        actito_sftp("policy", CONN_ID, "--inbound-pgp-required", "--outbound-pgp", "--outbound-lock") == 0,
        "policies: inbound PGP required, outbound PGP + partial-upload locking",
    )


def partner_drops_customers(world: DemoWorld, rows: int = 1000) -> Path:
    say("5. The partner encrypts a customer CSV to our key (gpg CLI) and drops it in 'inbound'")
    sample = world.workdir / "customers.csv"
    with sample.open("w") as handle:
        handle.write("id;email;first_name\n")
        for index in range(1, rows + 1):
            handle.write(f"{index};customer{index}@example.com;Name{index}\n")
    encrypted = world.folders["inbound"] / "customers-20261127.csv.pgp"
    world.partner.encrypt_to((world.workdir / "actito-inbound.asc").read_text(), sample, encrypted)  # type: ignore[attr-defined]
    uploaded_at = time.time() - 120  # the partner finished uploading two minutes ago (past the DAG's min_age)
    os.utime(encrypted, (uploaded_at, uploaded_at))
    from partner_sandbox.sshd import chown_tree

    chown_tree(world.folders["inbound"], world.server.user)  # type: ignore[attr-defined]
    check(encrypted.exists(), f"{encrypted.name} ({encrypted.stat().st_size} bytes, encrypted) in inbound")
    return sample


def remote_path(server: object, local: Path) -> str:
    """Where a local folder of the partner's server appears over SFTP (the same path for sshd)."""
    to_remote = getattr(server, "remote_path", None)
    return to_remote(local) if to_remote else str(local)


def tear_down(world: DemoWorld) -> None:
    """Stop the partner's server and gpg, delete their folders and the demo's."""
    import shutil

    from partner_sandbox.sshd import SshServer, remove_server

    world.partner.close()  # type: ignore[attr-defined]
    if isinstance(world.server, SshServer):
        remove_server(world.server)  # with its /tmp/actito-sshd-* folder
    else:
        world.server.stop()  # type: ignore[attr-defined]  # the in-process server lives in workdir
    shutil.rmtree(world.workdir, ignore_errors=True)


def main_guard(function: object) -> None:
    sys.exit(function())  # type: ignore[operator]


__all__ = ["CONN_ID", "DemoWorld", "actito_sftp", "build_world", "check", "configure_connection", "json"]
