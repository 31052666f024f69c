"""A throwaway tinysshd on 127.0.0.1, as partners run it: inetd-style under ``tcpserver`` (ucspi-tcp), one
``tinysshd`` process per connection, OpenSSH's ``sftp-server`` as its ``sftp`` subsystem.

tinysshd has no configuration file: it reads the user's own ``~/.ssh/authorized_keys`` (ed25519 keys only; no
password logins) and offers only ed25519 host keys, curve25519/sntrup761 key exchange and
chacha20-poly1305. Keys are added to that file by :class:`~partner_sandbox.home_servers.HomeKeyServer` (shared with
:mod:`partner_sandbox.dropbear`, which reads the same file) and taken out when the server stops. It needs root
(it switches to the user after authentication); Debian's packages: ``tinysshd``, ``ucspi-tcp``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from partner_sandbox.home_servers import HomeKeyServer, new_workdir
from partner_sandbox.sshd import SftpUser, free_port, wait_for_ssh_banner

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
class TinysshServer(HomeKeyServer):
    """A running tinysshd (its ``tcpserver``); its only host key type is ed25519."""

    log_name: ClassVar[str] = "tinysshd.log"

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
        super().stop()


def start_tinysshd(user: SftpUser) -> TinysshServer:
    """Start tinysshd under tcpserver on a free 127.0.0.1 port with fresh host keys and wait until it answers.

    :raises RuntimeError: it cannot run here (see :func:`why_tinysshd_cannot_run`), or did not answer.
    """
    why_not = why_tinysshd_cannot_run()
    if why_not is not None:
        raise RuntimeError(f"tinysshd cannot run: {why_not}")
    workdir, data_root = new_workdir("tinysshd", user)
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
