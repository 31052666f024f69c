"""Start and stop a real OpenSSH ``sshd`` on 127.0.0.1 with its own host key, config and authorized keys.

As root, the server authenticates a dedicated local user (created once, given a fresh random password per
run) so that both password and key authentication are real. As another user, sshd can only log that
same user in, by key; password tests then use :mod:`partner_sandbox.inprocess_server`.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/bin/sshd", "/usr/local/sbin/sshd")
TEST_USER = "actitosftptest"


def find_sshd() -> str | None:
    """Return the path of the sshd binary, or None."""
    found = shutil.which("sshd")
    if found:
        return found
    return next((path for path in SSHD_CANDIDATES if os.access(path, os.X_OK)), None)


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def running_as_root() -> bool:
    return os.geteuid() == 0


@dataclass(frozen=True)
class SftpUser:
    """The account the test servers log in."""

    name: str
    uid: int
    gid: int
    password: str | None  # None where no real password can be set (not root)


def ensure_test_user() -> SftpUser:
    """Return the account to log in: a dedicated user with a fresh password as root, else ourselves."""
    if not running_as_root():
        entry = pwd.getpwuid(os.geteuid())
        return SftpUser(entry.pw_name, entry.pw_uid, entry.pw_gid, None)
    # Concurrent test runs (and pytest-xdist's workers) set the account up one at a time, and agree on one
    # password per machine, kept root-only.
    with open("/root/.actito-sftp-test-user.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            pwd.getpwnam(TEST_USER)
        except KeyError:
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", TEST_USER], check=True)
        stored = Path("/root/.actito-sftp-test-password")
        if not stored.exists():
            descriptor = os.open(stored, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_urlsafe(18))
        password = stored.read_text().strip()
        subprocess.run(["chpasswd"], input=f"{TEST_USER}:{password}\n", text=True, check=True)
    entry = pwd.getpwnam(TEST_USER)
    return SftpUser(entry.pw_name, entry.pw_uid, entry.pw_gid, password)


def generate_ssh_key(path: Path, key_type: str = "ed25519") -> str:
    """Create an unencrypted key pair at ``path`` with ssh-keygen and return the public key line."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", key_type, "-N", "", "-C", path.name, "-f", str(path)],
        check=True,
    )
    return Path(f"{path}.pub").read_text().strip()


@dataclass
class SshServer:
    """A running sshd. ``data_root`` is a folder the test user owns, for test locations."""

    port: int
    workdir: Path
    data_root: Path
    user: SftpUser
    host_key_line: str
    host_key_lines: dict[str, str]  # every host key the server holds, by type (host_key_line's among them)
    host_key_path: Path
    authorized_keys: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    host: str = "127.0.0.1"
    chroot: Path | None = None  # the folder the SFTP user is jailed in (ChrootDirectory), if any

    def remote_path(self, folder: Path) -> str:
        """``folder`` (a path on this machine) as the server shows it to the SFTP user."""
        if self.chroot is None:
            return str(folder)
        return "/" + str(folder.relative_to(self.chroot))

    @property
    def log_path(self) -> Path:
        return self.workdir / "sshd.log"

    def add_authorized_key(self, public_key_line: str) -> None:
        with self.authorized_keys.open("a") as handle:
            handle.write(public_key_line.strip() + "\n")

    def make_folder(self, relative: str) -> Path:
        """Create a folder under ``data_root`` owned by the test user and return its absolute path."""
        folder = self.data_root / relative
        folder.mkdir(parents=True, exist_ok=True)
        chown_tree(folder, self.user)
        return folder

    def sessions(self) -> set[str]:
        """The pids of the server's session processes (one per open SSH connection: the listener's children)."""
        pid = self.process.pid
        return set(Path(f"/proc/{pid}/task/{pid}/children").read_text().split())

    def wait_for_sessions_to_end(self, before: set[str], timeout: float = 10) -> set[str]:
        """Wait (at most ``timeout`` s) until the sessions started since ``before`` have ended; return those left.

        :param before: :meth:`sessions` before the work whose sessions should end (others' are not waited for).
        """
        deadline = time.monotonic() + timeout
        while (left := self.sessions() - before) and time.monotonic() < deadline:
            time.sleep(0.02)
        return left

    def stop(self) -> None:
        """Stop the server by PID and wait for it."""
        stop_process(self.process)

    def kill_connections(self) -> None:
        """Kill every per-connection sshd child (a real network fault), leaving the listener up."""
        children = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        for pid in children:
            os.kill(int(pid), signal.SIGKILL)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop a server process: SIGTERM, then SIGKILL after 10 s; wait for it either way."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def chown_tree(path: Path, user: SftpUser) -> None:
    if not running_as_root():
        return
    os.chown(path, user.uid, user.gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), user.uid, user.gid)


CHROOTS = Path("/var/lib/actito-sftp-test-chroots")  # root-owned all the way up, as ChrootDirectory requires


def start_sshd(
    user: SftpUser,
    *,
    host_key_type: str = "ed25519",
    sftp_flags: str = "",
    extra_host_key_types: tuple[str, ...] = (),
    chroot: bool = False,
    sftp_subsystem: str | None = None,
    extra_config: tuple[str, ...] = (),
) -> SshServer:
    """Start a fresh sshd with its own host key on a free 127.0.0.1 port and wait until it answers.

    :param host_key_type: the type of ``host_key_line`` (the key tests pin by default).
    :param sftp_flags: options for ``internal-sftp``, e.g. ``"-P remove"`` to forbid deleting files.
    :param extra_host_key_types: more host keys the server also holds (as a stock OpenSSH server has rsa,
        ecdsa and ed25519 ones), listed in ``host_key_lines`` by type.
    :param chroot: jail the SFTP user in a root-owned folder (``ChrootDirectory``, as hosting providers do;
        needs root): ``data_root`` is then its ``data`` folder, which the server shows as ``/data``.
    :param sftp_subsystem: the command sshd runs for the ``sftp`` subsystem instead of ``internal-sftp``
        (``sftp_flags`` then unused): a misbehaving server, e.g. ``cat >/dev/null`` for one that never answers.
    :param extra_config: sshd_config lines written first: sshd keeps a keyword's first value, so they override the
        defaults below (``AuthenticationMethods publickey,password``, ``KbdInteractiveAuthentication yes``,
        ``ListenAddress ::1`` to listen there too, ``Banner <file>``, ``ForceCommand ...``); no ``Match`` block.
    """
    sshd = find_sshd()
    if sshd is None:
        raise RuntimeError("OpenSSH sshd is not installed (apt-get install openssh-server)")
    if running_as_root():
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege separation directory
    workdir = Path(tempfile.mkdtemp(prefix="actito-sshd-"))
    workdir.chmod(0o755)  # the test user must reach data_root below it
    jail = _new_chroot() if chroot else None
    data_root = (jail or workdir) / "data"
    data_root.mkdir()
    chown_tree(data_root, user)
    host_key_path = workdir / f"ssh_host_{host_key_type}_key"
    host_key_line = generate_ssh_key(host_key_path, host_key_type)
    host_key_lines = {host_key_type: host_key_line}
    for extra_type in extra_host_key_types:
        host_key_lines[extra_type] = generate_ssh_key(workdir / f"ssh_host_{extra_type}_key", extra_type)
    authorized_keys = workdir / "authorized_keys"
    authorized_keys.touch(mode=0o644)
    port = free_port()
    config = workdir / "sshd_config"
    config.write_text(
        "\n".join(
            [
                *extra_config,
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                *(f"HostKey {workdir / f'ssh_host_{key_type}_key'}" for key_type in host_key_lines),
                f"PidFile {workdir / 'sshd.pid'}",
                f"AuthorizedKeysFile {authorized_keys}",
                "StrictModes no",
                "UsePAM no",
                f"PasswordAuthentication {'yes' if user.password else 'no'}",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "PermitRootLogin no",
                f"AllowUsers {user.name}",
                f"Subsystem sftp {sftp_subsystem or f'internal-sftp {sftp_flags}'.rstrip()}",
                *([f"ChrootDirectory {jail}"] if jail else []),
                "MaxStartups 200:30:400",
                "MaxSessions 100",
                "LogLevel VERBOSE",
                "",
            ]
        )
    )
    log_file = (workdir / "sshd.log").open("wb")
    process = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)], stdout=log_file, stderr=subprocess.STDOUT)
    server = SshServer(
        port=port,
        workdir=workdir,
        data_root=data_root,
        user=user,
        host_key_line=host_key_line,
        host_key_lines=host_key_lines,
        host_key_path=host_key_path,
        authorized_keys=authorized_keys,
        process=process,
        chroot=jail,
    )
    _wait_for_banner(server)
    return server


def _wait_for_banner(server: SshServer) -> None:
    try:
        wait_for_ssh_banner(server.host, server.port, server.process, server.log_path, name="sshd")
    except RuntimeError:
        server.stop()
        raise


def wait_for_ssh_banner(
    host: str, port: int, process: subprocess.Popen[bytes], log_path: Path, *, name: str, timeout: float = 15.0
) -> None:
    """Wait until an SSH server just started greets with its ``SSH-`` banner (sshd, ProFTPD...).

    :raises RuntimeError: it exited, or did not answer within ``timeout`` seconds (with its log).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}: {log_path.read_text(errors='replace')}")
        try:
            with socket.create_connection((host, port), timeout=1) as probe:
                if probe.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not answer on port {port}: {log_path.read_text(errors='replace')}")


def remove_server(server: SshServer) -> None:
    server.stop()
    shutil.rmtree(server.workdir, ignore_errors=True)
    if server.chroot is not None:
        shutil.rmtree(server.chroot, ignore_errors=True)


def _new_chroot() -> Path:
    """A new folder for ChrootDirectory: it and every folder above it owned by root and writable by root only."""
    if not running_as_root():
        raise RuntimeError("a chrooted sshd needs root")
    CHROOTS.mkdir(mode=0o755, parents=True, exist_ok=True)
    CHROOTS.chmod(0o755)
    jail = Path(tempfile.mkdtemp(prefix="jail-", dir=CHROOTS))
    jail.chmod(0o755)
    return jail
