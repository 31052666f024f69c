"""The interoperability matrix, logins and what people type (issue 26, points 1 and 5): OpenSSH asking for a key and
a password together (``AuthenticationMethods publickey,password`` and ``password,publickey``, as banks set it up),
a keyboard-interactive login through PAM, the server named by ``::1`` or ``[::1]``, a port typed into the Host, a
40 KB banner, a greeting that comes late (within and past ``connect_timeout``), and a login script printing text
where SFTP should answer.

Each connection is made as a user would: ``actito-sftp connection create`` (the host key fetched and pinned, our
generated key installed on the server), then ``actito-sftp connection test``; where the login works with SSH key
and password, an export too. Each refusal is the CLI's line, in our words. The last test checks the page's "logins"
section says what the run measured.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from airflow_provider_actito_sftp.cli import cli
from partner_sandbox.sshd import SftpUser, SshServer, remove_server, running_as_root, start_sshd
from tests.cli.support import fingerprint_of
from tests.support.interop_cells import PLAINTEXT, export_cell, record_row
from tests.support.interop_matrix import Matrix, Table, check_section, outcome

pytestmark = [
    pytest.mark.server,  # every test reaches a server (sshd, or the late greeter in front of one)
    pytest.mark.skipif(not running_as_root(), reason="sshd checks passwords only as root (.ci/run runs as root)"),
]

LOGINS, INPUTS = "logins", "inputs"
AUTH_TYPES = {"SSH key": "ssh_key", "password": "password", "SSH key and password": "ssh_key_and_password"}
MATRIX = Matrix(
    "logins",
    "tests/integration/test_interop_logins.py",
    {
        LOGINS: Table(
            "Two-factor and keyboard-interactive logins",
            "OpenSSH asking for what its `AuthenticationMethods` says, each auth type set up as a user would "
            "(`actito-sftp connection create`, our generated key installed on the server), then `actito-sftp "
            "connection test`; where it works, an export too.",
            "Server (sshd_config)",
            tuple(AUTH_TYPES),
        ),
        INPUTS: Table(
            "What people type, and servers that greet late or print text",
            "`actito-sftp connection create`, then `actito-sftp connection test` (SSH key authentication).",
            "Case",
            ("result",),
        ),
    },
)
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
WELCOME = "Welcome to ACME SFTP"
# The sshd_config lines of each server variant, before the sandbox's own (sshd keeps a keyword's first value).
VARIANTS: dict[str, tuple[str, ...]] = {
    "publickey,password": ("AuthenticationMethods publickey,password",),
    "password,publickey": ("AuthenticationMethods password,publickey",),
    "keyboard-interactive": (
        "KbdInteractiveAuthentication yes",
        "PasswordAuthentication no",
        "UsePAM yes",
        "AuthenticationMethods publickey,keyboard-interactive keyboard-interactive",
    ),
    "ipv6": ("ListenAddress ::1",),
    "login script": (f"ForceCommand printf '{WELCOME}\\n'; exec {SFTP_SERVER}",),
}
LOGIN_ROWS = {
    "publickey,password": "`AuthenticationMethods publickey,password` (key, then password)",
    "password,publickey": "`AuthenticationMethods password,publickey` (password, then key)",
    "keyboard-interactive": "keyboard-interactive through PAM only (`PasswordAuthentication no`; the key first or not)",
}
PORTS: set[int] = set()  # every port of the run, written <port> on the page


@pytest.fixture(scope="module")
def logins_sshd(sftp_user: SftpUser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], SshServer]]:
    """One sshd per variant (:data:`VARIANTS`, and ``banner``: a 40 KB ``Banner``), started on first use."""
    banner = tmp_path_factory.mktemp("banner") / "banner.txt"
    banner.write_text("".join(f"{number:05d} Authorised use only. Activity is logged.\n" for number in range(1000)))
    started: dict[str, SshServer] = {}

    def server(variant: str) -> SshServer:
        if variant not in started:
            extra = (f"Banner {banner}",) if variant == "banner" else VARIANTS[variant]
            started[variant] = start_sshd(sftp_user, extra_config=extra)
            PORTS.add(started[variant].port)
        return started[variant]

    yield server
    for running in started.values():
        remove_server(running)


@pytest.fixture(scope="module")
def cli_run(airflow_db: Path) -> Iterator[Callable[..., tuple[int, str, str]]]:
    """Run ``actito-sftp`` (in this process); returns (exit code, stdout, stderr). The connections it created are
    deleted after the module."""
    runner, created = CliRunner(), []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")

        def run(*arguments: str, password: str | None = None) -> tuple[int, str, str]:
            given = None if password is None else f"{password}\n"
            result = runner.invoke(cli, list(arguments), input=given, catch_exceptions=False)
            if arguments[:2] == ("connection", "create") and result.exit_code == 0:
                created.append(arguments[2])
            return result.exit_code, result.stdout, result.stderr

        yield run
        for name in created:
            runner.invoke(cli, ["connection", "delete", name, "--yes"], catch_exceptions=False)


def _create(
    run: Callable[..., tuple[int, str, str]],
    server: SshServer,
    name: str,
    auth_type: str = "ssh_key",
    *,
    host: str | None = None,
    port: int | None = None,
) -> tuple[str | None, Path]:
    """``connection create`` with an ``outbound`` location, our key (if any) installed on the server: (None, or the
    CLI's refusal; the outbound folder)."""
    outbound = server.make_folder(f"{name}/outbound")
    arguments = ["connection", "create", name, "--entity", "acme", "--host", host or server.host, "--json"]
    arguments += ["--port", str(port or server.port), "--username", server.user.name, "--auth-type", auth_type]
    arguments += ["--accept-host-key", fingerprint_of(server.host_key_line), f"--location=outbound={outbound}"]
    uses_password = auth_type != "ssh_key"
    code, out, err = run(*arguments, *(["--password-stdin"] if uses_password else []), password=server.user.password)
    if code != 0:
        return _refusal(err), outbound
    created: dict[str, Any] = json.loads(out)
    if created["ssh_key"]:
        server.add_authorized_key(created["ssh_key"]["public_key"])
    return None, outbound


def _test(run: Callable[..., tuple[int, str, str]], name: str) -> str | None:
    """``connection test``: None if it passed, else the CLI's refusal."""
    code, out, err = run("connection", "test", name)
    if code == 0:
        assert out.startswith("OK: Host key SHA256:"), out
        return None
    return _refusal(err)


def _refusal(stderr: str) -> str:
    [line] = [line for line in stderr.splitlines() if line.startswith("actito-sftp: error: ")]
    return line.removeprefix("actito-sftp: error: ")


def _set_up(run: Callable[..., tuple[int, str, str]], server: SshServer, name: str, auth_type: str) -> str | None:
    """Create and test; None if both passed."""
    refused, _ = _create(run, server, name, auth_type)
    return refused or _test(run, name)


# --- key and password together, keyboard-interactive ----------------------------------------------------------


@pytest.mark.parametrize("variant", list(LOGIN_ROWS))
def test_key_and_password_in_either_order_and_keyboard_interactive(
    variant: str,
    logins_sshd: Callable[[str], SshServer],
    cli_run: Callable[..., tuple[int, str, str]],
    tmp_path: Path,
) -> None:
    server = logins_sshd(variant)
    seen: dict[str, str | None] = {}
    for column, auth_type in AUTH_TYPES.items():
        name = f"logins_{variant.replace(',', '_').replace('-', '_')}_{auth_type}"
        error = _set_up(cli_run, server, name, auth_type)
        if error is None:
            error = export_cell(name, tmp_path / name)
            if error is None:
                assert (server.data_root / name / "outbound" / "segment.csv").read_bytes() == PLAINTEXT
        seen[column] = error
        MATRIX.record(LOGINS, LOGIN_ROWS[variant], column, outcome(error))
    key, password, both = seen["SSH key"], seen["password"], seen["SSH key and password"]
    assert both is None, both  # the server's two factors, in its order
    assert key is not None
    assert "install" not in key  # never "install the key" for a key the server took
    if variant == "password,publickey":
        assert "asks user 'actitosftptest' for a password before any key" in key, key
        assert password is not None
        assert "accepted the password for user 'actitosftptest', then asked for an SSH key as well" in password
        return
    assert "accepted our SSH key for user 'actitosftptest', then asked for a password as well" in key, key
    assert "--auth-type ssh_key_and_password --password-stdin" in key
    if variant == "publickey,password":
        assert password is not None
        assert "asks user 'actitosftptest' for an SSH key before any password" in password, password
    else:
        assert "AuthenticationMethods publickey,keyboard-interactive" in key
        assert password is None, password  # the password through keyboard-interactive (PAM's "Password:" prompt)


@pytest.mark.parametrize("variant", ["publickey,password", "password,publickey"])
def test_airflows_sftphook_logs_in_with_key_and_password_in_either_order(
    variant: str, logins_sshd: Callable[[str], SshServer], cli_run: Callable[..., tuple[int, str, str]]
) -> None:
    """The SFTPHook bridge (paramiko) goes on after a partial success, and round again for the factor the server
    asks for second (our key after the password)."""
    from airflow_provider_actito_sftp.hooks import ActitoSftpHook

    server = logins_sshd(variant)
    name = f"logins_bridge_{variant.replace(',', '_')}"
    refused, outbound = _create(cli_run, server, name, "ssh_key_and_password")
    assert refused is None, refused
    (outbound / "hello.txt").write_text("hello\n")
    hook = ActitoSftpHook(name).get_sftp_hook()
    try:
        assert hook.list_directory(str(outbound)) == ["hello.txt"]
    finally:
        hook.close_conn()


# --- what people type, servers that greet late or print text ----------------------------------------------------


@pytest.mark.parametrize("typed", ["::1", "[::1]"])
def test_the_server_named_by_its_ipv6_address(
    typed: str, logins_sshd: Callable[[str], SshServer], cli_run: Callable[..., tuple[int, str, str]]
) -> None:
    server = logins_sshd("ipv6")
    name = "logins_ipv6_bracketed" if typed.startswith("[") else "logins_ipv6"
    refused, _ = _create(cli_run, server, name, host=typed)
    error = refused or _test(cli_run, name)
    record_row(MATRIX, INPUTS, f"Host `{typed}` (the server listening on IPv6 too)", error)
    code, out, _ = cli_run("connection", "show", name, "--json")
    assert (code, json.loads(out)["host"]) == (0, typed)  # kept as typed; connected to as ::1


def test_a_port_typed_into_the_host_is_refused_naming_the_port_field(
    sshd: SshServer, cli_run: Callable[..., tuple[int, str, str]]
) -> None:
    PORTS.add(sshd.port)
    refused, _ = _create(cli_run, sshd, "logins_host_and_port", host=f"{sshd.host}:{sshd.port}", port=22)
    expected = f"'127.0.0.1:{sshd.port}' holds a port: put the server alone in Host ('127.0.0.1') and {sshd.port} in"
    record_row(MATRIX, INPUTS, "Host `127.0.0.1:<port>` (the port typed into the Host)", refused, expected)
    assert refused is not None
    assert "Name or service not known" not in refused


def test_a_40_kb_banner(logins_sshd: Callable[[str], SshServer], cli_run: Callable[..., tuple[int, str, str]]) -> None:
    error = _set_up(cli_run, logins_sshd("banner"), "logins_banner", "ssh_key")
    record_row(MATRIX, INPUTS, "A 40 KB banner before the login (sshd's `Banner`)", error)


class LateGreeter:
    """A TCP server on 127.0.0.1 in front of an SSH server: it accepts, says nothing for ``delay`` seconds, then
    passes the bytes both ways (the server's greeting arrives ``delay`` seconds late). Runs its own event loop on a
    daemon thread, as the code under test runs its own."""

    def __init__(self, target: SshServer, delay: float) -> None:
        self.target, self.delay = target, delay
        self._relays: set[asyncio.Task[None]] = set()
        self._loop = asyncio.new_event_loop()
        self._server = self._loop.run_until_complete(asyncio.start_server(self._relay, "127.0.0.1", 0))
        self.port: int = self._server.sockets[0].getsockname()[1]
        threading.Thread(target=self._loop.run_forever, daemon=True).start()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        relay = asyncio.current_task()
        assert relay is not None
        self._relays.add(relay)
        try:
            await asyncio.sleep(self.delay)
            upstream_reader, upstream_writer = await asyncio.open_connection(self.target.host, self.target.port)
            await asyncio.gather(_pump(reader, upstream_writer), _pump(upstream_reader, writer))
        except (OSError, asyncio.CancelledError):
            writer.close()
        finally:
            self._relays.discard(relay)

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            for relay in list(self._relays):  # a client the test gave up on: its relay ends now
                relay.cancel()
            await asyncio.gather(*self._relays, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    except OSError:
        pass
    finally:
        sink.close()


@pytest.mark.parametrize(("delay", "connect_timeout"), [(1.0, 3), (4.0, 2)])
def test_a_greeting_that_comes_late(
    delay: float, connect_timeout: int, sshd: SshServer, cli_run: Callable[..., tuple[int, str, str]]
) -> None:
    """Within ``connect_timeout`` it works; later, the refusal says the server took the TCP connection and sent no
    SSH greeting (the connection is made on the server itself, then pointed at the late greeter)."""
    name = f"logins_late_{connect_timeout}"
    refused, _ = _create(cli_run, sshd, name)
    assert refused is None, refused
    greeter = LateGreeter(sshd, delay)
    PORTS.add(greeter.port)
    try:
        code, _, err = cli_run(
            "connection", "update", name, "--port", str(greeter.port), "--connect-timeout", str(connect_timeout)
        )
        assert code == 0, err
        error = _test(cli_run, name)
    finally:
        greeter.close()
    case = f"The SSH greeting {delay:g} s late, connect_timeout {connect_timeout} s"
    if delay < connect_timeout:
        record_row(MATRIX, INPUTS, case, error)
        return
    expected = (
        f"The server at 127.0.0.1:{greeter.port} accepted the TCP connection but sent no SSH greeting within "
        f"{connect_timeout} s (connect_timeout)"
    )
    record_row(MATRIX, INPUTS, case, error, expected)


def test_a_login_script_printing_text(
    logins_sshd: Callable[[str], SshServer], cli_run: Callable[..., tuple[int, str, str]]
) -> None:
    if not Path(SFTP_SERVER).is_file():
        pytest.skip(f"{SFTP_SERVER} is not installed (openssh-sftp-server)")
    error = _set_up(cli_run, logins_sshd("login script"), "logins_login_script", "ssh_key")
    expected = "the server's SFTP subsystem answered with text, not SFTP (a login script or the account's shell "
    case = f"A login script printing text (`ForceCommand printf '{WELCOME}'; exec sftp-server`)"
    record_row(MATRIX, INPUTS, case, error, expected)
    assert error is not None
    assert f"'{WELCOME}'" in error


EXPECTED_CELLS = 3 * 3 + 2 + 1 + 1 + 2 + 1


@pytest.mark.server  # it reads what the module's server tests measured
def test_the_interoperability_page_shows_this_run() -> None:
    """docs/interoperability.md's "logins" section says what this run measured (``UPDATE_DOCS=1`` writes it)."""
    for table in MATRIX.tables.values():  # this run's ports, as the page writes them
        for cells in table.cells.values():
            for column, text in cells.items():
                cells[column] = _ports_hidden(text)
    check_section(MATRIX, EXPECTED_CELLS)


def _ports_hidden(text: str) -> str:
    for port in PORTS:
        text = text.replace(str(port), "<port>")
    return text
