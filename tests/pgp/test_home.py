"""Temporary GNUPGHOMEs live in one private folder; homes left by killed processes are swept, agents stopped."""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.exceptions import (
    ActitoSftpError,
    GpgUnavailableError,
    PgpKeyError,
    UnsafeTempDirError,
)
from airflow_provider_actito_sftp.pgp import home as gnupg_home
from airflow_provider_actito_sftp.pgp.home import temporary_gnupg_home
from airflow_provider_actito_sftp.pgp.keys import (
    describe_secret_keys,
    export_newest_public_key,
    generate_inbound_key,
    validate_partner_key,
)

REPO = Path(__file__).resolve().parents[2]

# A task that makes a home, starts its gpg-agent, says where, and then waits to be killed.
CHILD = """
import subprocess, time
from airflow_provider_actito_sftp.pgp.home import temporary_gnupg_home
with temporary_gnupg_home() as gpg:
    subprocess.run(["gpg-connect-agent", "--homedir", gpg.gnupghome, "/bye"], check=True, capture_output=True,
                   timeout=30)
    print(gpg.gnupghome, flush=True)
    time.sleep(120)
"""


@pytest.fixture
def temp_base(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private stand-in for the system temp folder (short: gpg-agent socket paths must fit 107 bytes)."""
    base = Path(tempfile.mkdtemp(prefix="gh-", dir=tempfile.gettempdir()))
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    yield base
    for pid in _processes_mentioning(base):
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(base, ignore_errors=True)


def _processes_mentioning(path: Path) -> list[int]:
    """Pids whose command line mentions ``path`` (gpg-agent is started with ``--homedir HOME``)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            cmdline = (Path("/proc") / name / "cmdline").read_bytes()
        except OSError:
            continue
        if str(path).encode() in cmdline:
            found.append(int(name))
    return found


def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _read_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"the child said nothing within {timeout}s")
    return process.stdout.readline().decode().strip()


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_home_of_a_killed_task_is_swept_and_its_agent_stopped(temp_base: Path, monkeypatch: pytest.MonkeyPatch):
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(temp_base)},
        cwd=REPO,
    )
    try:
        stale = Path(_read_line(child, timeout=60))
    finally:
        child.kill()  # SIGKILL: the child's cleanup never runs
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert stale.parent == temp_base / f"actito-sftp-{os.getuid()}" / "gnupg"
    assert stale.is_dir()  # left behind, as a kill -9 does
    assert _processes_mentioning(stale), "the killed task's gpg-agent should still run"

    # gpg-agent also quits by itself soon after its home is deleted: check it was stopped before that.
    stopped_first: list[bool] = []
    stop_agent = gnupg_home._stop_agent

    def spying_stop_agent(home: Path) -> None:
        stop_agent(home)
        if home == stale:
            stopped_first.append(home.is_dir() and _wait_until(lambda: not _processes_mentioning(stale), 10))

    monkeypatch.setattr(gnupg_home, "_stop_agent", spying_stop_agent)
    with temporary_gnupg_home() as gpg:
        fresh = Path(gpg.gnupghome)
        assert not stale.exists()
        assert fresh.parent == stale.parent
    assert stopped_first == [True]
    assert _wait_until(lambda: not _processes_mentioning(stale), timeout=15), "the stale gpg-agent still runs"
    assert not fresh.exists()


def test_every_folder_is_private(temp_base: Path):
    with temporary_gnupg_home() as gpg:
        home = Path(gpg.gnupghome)
        assert home.name.startswith(f"{os.getpid()}-")
        assert home.parent == temp_base / f"actito-sftp-{os.getuid()}" / "gnupg"
        assert [_mode(home), _mode(home.parent), _mode(home.parent.parent)] == [0o700, 0o700, 0o700]
        assert gpg.import_keys("not a key").count == 0  # the home works
    assert not home.exists()


@pytest.mark.parametrize("planted", ["symlink", "file"])
def test_a_planted_symlink_or_file_is_refused(temp_base: Path, planted: str):
    """The home's own folder is checked (the root is checked the same way: tests/test_private_tmp.py)."""
    root = temp_base / f"actito-sftp-{os.getuid()}"
    target = temp_base / "elsewhere"
    target.mkdir(mode=0o700)
    root.mkdir(mode=0o700)
    path = root / "gnupg"
    if planted == "symlink":
        path.symlink_to(target, target_is_directory=True)
    else:
        path.write_text("")
    with pytest.raises(UnsafeTempDirError, match="not a real directory") as raised, temporary_gnupg_home():
        pass
    assert isinstance(raised.value, ActitoSftpError)
    assert str(path) in str(raised.value)
    assert list(target.iterdir()) == []  # nothing was created through the link


# --- a long TMPDIR, a gpg that cannot start (issue 21.8) ----------------------------------------------


@pytest.fixture(scope="module")
def secret_keys() -> str:
    return generate_inbound_key("home")[0]


@pytest.fixture(scope="module")
def public_key(secret_keys: str) -> str:
    return export_newest_public_key(secret_keys)[0]


@pytest.fixture
def long_tmpdir(temp_base: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TMPDIR (for this process and the programs it starts) far too long for a gpg-agent socket under it;
    the short fallback is ``temp_base`` instead of ``/tmp``, so the test leaves the real one alone."""
    long = temp_base / ("a-deployment-with-a-long-temp-folder-" * 3)
    long.mkdir()
    assert len(str(long)) > 100
    monkeypatch.setenv("TMPDIR", str(long))
    monkeypatch.setattr(tempfile, "tempdir", str(long))
    monkeypatch.setattr(gnupg_home, "SHORT_TEMP_BASE", str(temp_base), raising=False)
    return long


def test_secret_keys_work_whatever_tmpdir_is(long_tmpdir: Path, temp_base: Path, secret_keys: str):
    with temporary_gnupg_home() as gpg:  # gpg starts the agent itself, on the first secret key
        home = Path(gpg.gnupghome)
        imported = gpg.import_keys(secret_keys)
        assert [key["fingerprint"] for key in gpg.list_keys(secret=True)] == imported.fingerprints[:1]  # kept
        assert home.parent == temp_base / f"actito-sftp-{os.getuid()}" / "gnupg"  # the short private folder
        assert [_mode(home), _mode(home.parent), _mode(home.parent.parent)] == [0o700, 0o700, 0o700]
        assert os.lstat(home.parent.parent).st_uid == os.getuid()
        assert _processes_mentioning(home), "the agent of the home should run"
    assert not home.exists()
    assert _wait_until(lambda: not _processes_mentioning(home), timeout=15)
    assert not (long_tmpdir / f"actito-sftp-{os.getuid()}").exists()  # nothing made in the long folder


def test_a_gpg_agent_that_cannot_start_is_reported_as_such(
    long_tmpdir: Path, secret_keys: str, monkeypatch: pytest.MonkeyPatch
):
    """Homes forced into the long TMPDIR, where gpg-agent cannot bind its socket: each operation on secret
    keys says that gpg-agent could not start (this machine's trouble, retryable), not that no key was found."""
    monkeypatch.setattr(gnupg_home, "SOCKET_PATH_MAX", 10_000, raising=False)
    for operation in (lambda: describe_secret_keys(secret_keys), lambda: generate_inbound_key("home")):
        with pytest.raises(GpgUnavailableError, match="gpg-agent could not start on this machine") as raised:
            operation()
        assert isinstance(raised.value, OSError)  # a failure a retry may get past, never a refusal
        assert not isinstance(raised.value, PgpKeyError)
        assert "failed to start agent" in str(raised.value)  # gpg's own words
    assert list((long_tmpdir / f"actito-sftp-{os.getuid()}" / "gnupg").iterdir()) == []  # homes removed


def test_a_temp_folder_too_long_with_no_usable_fallback_says_to_shorten_tmpdir(
    long_tmpdir: Path, temp_base: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(gnupg_home, "SHORT_TEMP_BASE", str(temp_base / "missing"))
    with (
        pytest.raises(GpgUnavailableError, match="is too long for gpg-agent's socket") as raised,
        temporary_gnupg_home(),
    ):
        pass
    assert str(long_tmpdir) in str(raised.value)
    assert "set TMPDIR shorter" in str(raised.value)


@pytest.fixture
def failing_gpg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``gpg`` first on the PATH that cannot start, as a broken install or an exhausted machine."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "gpg"
    script.write_text("#!/bin/sh\necho 'gpg: fatal: libgcrypt is too old (need 1.8.0)' >&2\nexit 2\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def _open_a_home() -> None:
    with temporary_gnupg_home():
        pass


def test_a_gpg_that_cannot_start_is_reported_as_such(failing_gpg: None, secret_keys: str, public_key: str):
    operations = {
        "home": _open_a_home,
        "describe keys": lambda: describe_secret_keys(secret_keys),
        "generate": lambda: generate_inbound_key("home"),
        "partner key": lambda: validate_partner_key(public_key),
    }
    for name, operation in operations.items():
        with pytest.raises(GpgUnavailableError, match="gpg could not start on this machine") as raised:
            operation()
        assert "libgcrypt is too old" in str(raised.value), name  # gpg's own words
        assert isinstance(raised.value, OSError), name
