"""What the servers that read the user's own ``~/.ssh/authorized_keys`` share (tinysshd, dropbear): the running
server's handle (:class:`HomeKeyServer`: its port, folders, keys it added, per-connection processes) and the
locked edits of that file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from partner_sandbox.sshd import SftpUser, chown_tree, stop_process


def new_workdir(name: str, user: SftpUser) -> tuple[Path, Path]:
    """A fresh folder for a server named ``name`` and, below it, its ``data`` folder the test user owns."""
    workdir = Path(tempfile.mkdtemp(prefix=f"actito-{name}-"))
    workdir.chmod(0o755)  # the test user must reach data_root below it
    data_root = workdir / "data"
    data_root.mkdir()
    chown_tree(data_root, user)
    return workdir, data_root


@dataclass
class HomeKeyServer:
    """A running server started for the test user. ``data_root`` is a folder the user owns, for test locations.

    :param host_key_line: its ed25519 host key as an OpenSSH public key line.
    :param process: the listener (its children are the per-connection processes).
    """

    log_name: ClassVar[str] = "server.log"  # the server's log file in ``workdir``

    port: int
    workdir: Path
    data_root: Path
    user: SftpUser
    host_key_line: str
    process: subprocess.Popen[bytes] = field(repr=False)
    host: str = "127.0.0.1"
    authorized: list[str] = field(default_factory=list)  # key lines this server added to the user's file

    @property
    def log_path(self) -> Path:
        return self.workdir / self.log_name

    def install_key(self, public_key_line: str) -> None:
        """Authorize a public key (OpenSSH's one-line form) for the user, until :meth:`stop`."""
        authorize_in_home(self.user, public_key_line)
        self.authorized.append(public_key_line.strip())

    def make_folder(self, relative: str) -> Path:
        """Create a folder under ``data_root`` owned by the test user and return its absolute path."""
        folder = self.data_root / relative
        folder.mkdir(parents=True, exist_ok=True)
        chown_tree(self.data_root, self.user)
        return folder

    def sessions(self) -> list[int]:
        """The pids of the per-connection processes (the listener's children)."""
        return children_of(self.process.pid)

    def stop(self) -> None:
        """Stop the server, take this server's keys out of the user's file, remove its files."""
        stop_process(self.process)
        for line in self.authorized:
            revoke_in_home(self.user, line)
        shutil.rmtree(self.workdir, ignore_errors=True)


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
