"""Test bench: a hermetic Airflow home, real OpenSSH servers, and connection factories.

The environment is set before anything imports Airflow, so every test runs against a temporary
``AIRFLOW_HOME`` with a SQLite metadata DB that is initialised once per test session.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="actito-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_AIRFLOW_HOME / "dags")
os.environ["AIRFLOW__CORE__FERNET_KEY"] = "x6o_n1ZcHMTcdYmRrGyF9i7SgEHy1s9zCMTWDMF8a1Q="

import pytest  # noqa: E402

from partner_sandbox.sshd import (  # noqa: E402
    SftpUser,
    SshServer,
    ensure_test_user,
    generate_ssh_key,
    remove_server,
    start_sshd,
)
from tests.support import tiers  # noqa: E402
from tests.support.browser import Browser, SharedChromium  # noqa: E402


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Create the metadata tables once (SQLite in the temporary AIRFLOW_HOME)."""
    from airflow.utils.db import initdb

    initdb()
    return _AIRFLOW_HOME


@pytest.fixture(scope="session")
def sftp_user() -> SftpUser:
    return ensure_test_user()


@pytest.fixture(scope="session")
def sshd(sftp_user: SftpUser) -> Iterator[SshServer]:
    """The partner's server: a real OpenSSH sshd with its own host key."""
    server = start_sshd(sftp_user)
    yield server
    remove_server(server)


@pytest.fixture(scope="session")
def multi_key_sshd(sftp_user: SftpUser, client_key: str) -> Iterator[SshServer]:
    """A real sshd holding ed25519, RSA and ECDSA host keys, as a stock OpenSSH server does; the test client
    key is authorized. ``host_key_lines`` has each key by type."""
    import asyncssh

    server = start_sshd(sftp_user, extra_host_key_types=("rsa", "ecdsa"))
    server.add_authorized_key(asyncssh.import_private_key(client_key).export_public_key().decode().strip())
    yield server
    remove_server(server)


@pytest.fixture(scope="session")
def impostor_sshd(sftp_user: SftpUser) -> Iterator[SshServer]:
    """A second real sshd with a different host key, standing in for a man in the middle."""
    server = start_sshd(sftp_user)
    yield server
    remove_server(server)


@pytest.fixture(scope="session")
def mute_sftp_sshd(sftp_user: SftpUser, client_key: str) -> Iterator[SshServer]:
    """A real sshd that accepts the test client key, whose SFTP subsystem reads and never answers (it ends when
    the client closes the channel)."""
    import asyncssh

    server = start_sshd(sftp_user, sftp_subsystem="cat >/dev/null")
    server.add_authorized_key(asyncssh.import_private_key(client_key).export_public_key().decode().strip())
    yield server
    remove_server(server)


@pytest.fixture(scope="session")
def client_key(sshd: SshServer, impostor_sshd: SshServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An ed25519 client key authorised on both servers; returns the private key text."""
    key_path = tmp_path_factory.mktemp("client-key") / "id_ed25519"
    public_line = generate_ssh_key(key_path)
    sshd.add_authorized_key(public_line)
    impostor_sshd.add_authorized_key(public_line)
    return key_path.read_text()


@pytest.fixture(scope="session")
def locations(sshd: SshServer) -> dict[str, str]:
    """Two folders on the test server, as a connection's ``locations`` field."""
    return {name: str(sshd.make_folder(name)) for name in ("inbound", "outbound")}


ConnectionFactory = Callable[..., str]


@pytest.fixture
def make_connection(
    monkeypatch: pytest.MonkeyPatch, sshd: SshServer, client_key: str, locations: dict[str, str]
) -> ConnectionFactory:
    """Define an ``actito_sftp`` connection in the environment and return its conn_id.

    Defaults point at the real sshd with key auth and the pinned host key; keyword arguments override
    columns (``host``, ``port``, ``login``, ``password``) or extra fields; ``None`` removes a field.
    """

    def factory(conn_id: str = "actito_test", **overrides: Any) -> str:
        columns = {"conn_type": "actito_sftp", "host": sshd.host, "port": sshd.port, "login": sshd.user.name}
        extra: dict[str, Any] = {
            "entity": "acme",
            "display_name": "ACME partner",
            "auth_type": "ssh_key",
            "ssh_private_key": client_key,
            "host_key": sshd.host_key_line,
            "locations": locations,
        }
        for key, value in overrides.items():
            target = columns if key in {"host", "port", "login", "password"} else extra
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({**columns, "extra": extra}))
        return conn_id

    return factory


@pytest.fixture
def folders(sshd: SshServer, request: pytest.FixtureRequest) -> dict[str, Path]:
    base = request.node.name.replace("[", "_").replace("]", "")[:40]
    return {name: sshd.make_folder(f"{base}/{name}") for name in ("inbound", "outbound", "archive", "quarantine")}


@pytest.fixture
def pgp_connection(make_connection: ConnectionFactory, folders: dict[str, Path]):
    """A connection with inbound PGP required (our key pair) and outbound PGP to a partner key."""
    from airflow_provider_actito_sftp.pgp.keys import export_newest_public_key, generate_inbound_key
    from partner_sandbox.gpg import PartnerGpg

    secret_keys, _ = generate_inbound_key("actito_test")
    our_public, _ = export_newest_public_key(secret_keys)
    with PartnerGpg() as partner:
        partner_fingerprint = partner.generate()
        conn_id = make_connection(
            locations={name: str(path) for name, path in folders.items()},
            inbound_pgp_required=True,
            inbound_pgp_private_keys=secret_keys,
            outbound_pgp=True,
            partner_pgp_public_key=partner.export_public(partner_fingerprint),
        )
        yield conn_id, partner, our_public


@pytest.fixture(scope="session")
def chromium_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedChromium]:
    """One headless Chromium for every browser test of the run (tests.support.browser), quit at the end."""
    shared = SharedChromium(tmp_path_factory.mktemp("chromium"))
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture
def browser(chromium_session: SharedChromium, tmp_path: Path) -> Browser:
    """The shared Chromium reset for this test (no cookie, light scheme, downloads to ``tmp_path/downloads``):
    ``browser.open(server, user, "#integrations")`` logs in and loads a route of the plugin's page."""
    return Browser(chromium_session.driver(), tmp_path / "downloads")


@pytest.fixture(scope="session")
def plugin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One API server with the plugin (``tests/plugin/conftest.py``'s users and auth manager) for every browser
    module that needs nothing in its environment at start: ``{"url", "tokens", "stack", "dags"}``. Each module
    creates its own connections (distinct technical names) in it and removes them after
    (``tests.plugin.conftest.module_integrations``), so a module sees what it made and nothing of the others'.
    Here rather than in ``tests/plugin/`` so that ``tests/test_airflow_connection_form.py`` shares it too."""
    from tests.plugin.conftest import plugin_stack, serve

    base = tmp_path_factory.mktemp("plugin_server")
    (base / "dags").mkdir()
    served = serve(plugin_stack(base / "airflow", base / "dags"))
    try:
        yield {**served, "dags": base / "dags"}
    finally:
        served["stack"].stop()


def pytest_configure(config: pytest.Config) -> None:
    tiers.configure(config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tiers.mark(items)
    tiers.schedule(items)


@pytest.hookimpl(optionalhook=True)  # xdist's hook: PYTEST_WORKERS=0 runs without xdist (-p no:xdist)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> tiers.GroupScheduling:
    return tiers.GroupScheduling(config, log)
