"""A throwaway tinysshd on 127.0.0.1, as partners run it: inetd-style under ``tcpserver`` (ucspi-tcp), one
``tinysshd`` process per connection, OpenSSH's ``sftp-server`` as its ``sftp`` subsystem.

tinysshd has no configuration file: it reads the user's own ``~/.ssh/authorized_keys`` (ed25519 keys only; no
password logins) and offers only ed25519 host keys, curve25519/sntrup761 key exchange and
chacha20-poly1305. Keys are added to that file with :func:`authorize_in_home` (shared with
:mod:`partner_sandbox.dropbear`, which reads the same file) and taken out when the server stops. It needs root
(it switches to the user after authentication); Debian's packages: ``tinysshd``, ``ucspi-tcp``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from partner_sandbox.sshd import SftpUser, chown_tree, free_port, stop_process, wait_for_ssh_banner

TINYSSHD = Path("/usr/sbin/tinysshd")
TINYSSHD_MAKEKEY = Path("/usr/sbin/tinysshd-makekey")
TINYSSHD_PRINTKEY = Path("/usr/sbin/tinysshd-printkey")
TCPSERVER = Path("/usr/bin/tcpserver")
SFTP_SERVER = Path("/usr/lib/openssh/sftp-server")  # OpenSSH's, as Debian's openssh-sftp-server installs it


def why_tinysshd_cannot_run() -> str | None:
    """Why tinysshd cannot run here, or None when it can (tinysshd, tcpserver, sftp-server, root)."""
    missing = [str(path) for path in (TINYSSHD, TINYSSHD_MAKEKEY, TCPSERVER, SFTP_SERVER) if not path.exists()]
    if missing:
        return f"not installed: {', '.join(missing)} (apt-get install tinysshd ucspi-tcp openssh-sftp-server)"
    if os.geteuid() != 0:
        return "tinysshd switches to the user it logs in: it needs root"
    return None


@dataclass
class TinysshServer:
    """A running tinysshd (its ``tcpserver``). ``data_root`` is a folder the test user owns, for test locations."""

    port: int
    workdir: Path
    data_root: Path
    user: SftpUser
    host_key_line: str  # ssh-ed25519, the only type tinysshd has
    process: subprocess.Popen[bytes] = field(repr=False)
    host: str = "127.0.0.1"
    authorized: list[str] = field(default_factory=list)  # key lines this server added to the user's file

    @property
    def log_path(self) -> Path:
        return self.workdir / "tinysshd.log"

    def install_key(self, public_key_line: str) -> None:
        """Authorize a public key (``ssh-ed25519 ...``) for the user, until :meth:`stop`."""
        authorize_in_home(self.user, public_key_line)
        self.authorized.append(public_key_line.strip())

    def make_folder(self, relative: str) -> Path:
        """Create a folder under ``data_root`` owned by the test user and return its absolute path."""
        folder = self.data_root / relative
        folder.mkdir(parents=True, exist_ok=True)
        chown_tree(self.data_root, self.user)
        return folder

    def sessions(self) -> list[int]:
        """The pids of the per-connection ``tinysshd`` processes (tcpserver's children)."""
        return children_of(self.process.pid)

    def kill_connections(self) -> list[int]:
        """Kill every connection's tinysshd (SIGKILL, as a crash or a network fault would end it); return their
        pids. tcpserver keeps listening: the next connection gets a fresh tinysshd."""
        killed = self.sessions()
        for pid in killed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return killed

    def stop(self) -> None:
        """Stop tcpserver and its connections, take this server's keys out of the user's file, remove its files."""
        self.kill_connections()
        stop_process(self.process)
        for line in self.authorized:
            revoke_in_home(self.user, line)
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_tinysshd(user: SftpUser) -> TinysshServer:
    """Start tinysshd under tcpserver on a free 127.0.0.1 port with fresh host keys and wait until it answers.

    :raises RuntimeError: it cannot run here (see :func:`why_tinysshd_cannot_run`), or did not answer.
    """
    why_not = why_tinysshd_cannot_run()
    if why_not is not None:
        raise RuntimeError(f"tinysshd cannot run: {why_not}")
    workdir = Path(tempfile.mkdtemp(prefix="actito-tinysshd-"))
    workdir.chmod(0o755)  # the test user must reach data_root below it
    data_root = workdir / "data"
    data_root.mkdir()
    chown_tree(data_root, user)
    keys = workdir / "keys"
    subprocess.run([str(TINYSSHD_MAKEKEY), "-q", str(keys)], check=True)
    printed = subprocess.run([str(TINYSSHD_PRINTKEY), str(keys)], capture_output=True, text=True, check=True)
    port = free_port()
    log_file = (workdir / "tinysshd.log").open("wb")
    command = [str(TCPSERVER), "-HRl0", "127.0.0.1", str(port)]
    command += [str(TINYSSHD), "-v", "-x", f"sftp={SFTP_SERVER}", str(keys)]
    process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    server = TinysshServer(port, workdir, data_root, user, printed.stdout.strip(), process)
    try:
        wait_for_ssh_banner(server.host, port, process, server.log_path, name="tinysshd")
    except RuntimeError:
        server.stop()
        raise
    return server


def children_of(pid: int) -> list[int]:
    """The pids of a process's children."""
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


# --- the user's own ~/.ssh/authorized_keys (tinysshd and dropbear read no other) ---------------------------------

_HOME_KEYS_LOCK = Path("/root/.actito-sftp-test-home-keys.lock")  # concurrent test runs edit the file one at a time


@contextlib.contextmanager
def _home_keys(user: SftpUser) -> Iterator[Path]:
    """The user's ``~/.ssh/authorized_keys``, locked; ``~/.ssh`` (0700) and the file (0600) are the user's, as
    both servers require."""
    home = Path(os.path.expanduser(f"~{user.name}"))
    ssh_folder = home / ".ssh"
    keys = ssh_folder / "authorized_keys"
    with _HOME_KEYS_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ssh_folder.mkdir(mode=0o700, exist_ok=True)
        keys.touch(mode=0o600)
        for path, mode in ((ssh_folder, 0o700), (keys, 0o600)):
            os.chown(path, user.uid, user.gid)
            path.chmod(mode)
        yield keys


def authorize_in_home(user: SftpUser, public_key_line: str) -> None:
    """Add a public key line to the user's ``~/.ssh/authorized_keys`` (kept once)."""
    with _home_keys(user) as keys:
        lines = keys.read_text().splitlines()
        if public_key_line.strip() not in lines:
            keys.write_text("".join(f"{line}\n" for line in [*lines, public_key_line.strip()]))


def revoke_in_home(user: SftpUser, public_key_line: str) -> None:
    """Take a public key line out of the user's ``~/.ssh/authorized_keys``."""
    with _home_keys(user) as keys:
        lines = [line for line in keys.read_text().splitlines() if line != public_key_line.strip()]
        keys.write_text("".join(f"{line}\n" for line in lines))
