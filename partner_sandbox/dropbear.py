"""A throwaway dropbear on 127.0.0.1 with OpenSSH's ``sftp-server``, as small appliances and embedded partners run
it (Debian's ``dropbear-bin``).

dropbear has no configuration file and no SFTP server of its own: it runs the ``sftp-server`` found at the path it
was built with (Debian's: ``/usr/lib/sftp-server``, OpenSSH's, a link to ``/usr/lib/openssh/sftp-server``). It
reads the user's own ``~/.ssh/authorized_keys`` (:func:`~partner_sandbox.home_servers.authorize_in_home`, taken out
again when the server stops); password logins are off (``-s``). It needs root to log the test user in.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from partner_sandbox.home_servers import HomeKeyServer, new_workdir
from partner_sandbox.sshd import SftpUser, free_port, wait_for_ssh_banner

DROPBEAR = Path("/usr/sbin/dropbear")
DROPBEARKEY = Path("/usr/bin/dropbearkey")
SFTP_SERVER = Path("/usr/lib/sftp-server")  # where Debian's dropbear looks for it (strings /usr/sbin/dropbear)


def why_dropbear_cannot_run() -> str | None:
    """Why dropbear cannot run here, or None when it can (dropbear, dropbearkey, an sftp-server, root)."""
    missing = [str(path) for path in (DROPBEAR, DROPBEARKEY, SFTP_SERVER) if not path.exists()]
    if missing:
        return f"not installed: {', '.join(missing)} (apt-get install dropbear-bin openssh-sftp-server)"
    if os.geteuid() != 0:
        return "dropbear logs the test user in as that system account: it needs root"
    return None


def dropbear_version() -> str:
    """dropbear's version, e.g. ``2022.83`` (``unknown`` if it does not say)."""
    done = subprocess.run([str(DROPBEAR), "-V"], capture_output=True, text=True, timeout=30, check=False)
    found = re.search(r"v(\d+\.\d+)", done.stdout + done.stderr)
    return found.group(1) if found else "unknown"


@dataclass
class DropbearServer(HomeKeyServer):
    """A running dropbear (ed25519 host key, key logins only)."""

    log_name: ClassVar[str] = "dropbear.log"


def start_dropbear(user: SftpUser) -> DropbearServer:
    """Start dropbear (ed25519 host key, key logins only) on a free 127.0.0.1 port and wait until it answers.

    :raises RuntimeError: it cannot run here (see :func:`why_dropbear_cannot_run`), or did not answer.
    """
    why_not = why_dropbear_cannot_run()
    if why_not is not None:
        raise RuntimeError(f"dropbear cannot run: {why_not}")
    workdir, data_root = new_workdir("dropbear", user)
    host_key = workdir / "host_ed25519"
    made = subprocess.run(
        [str(DROPBEARKEY), "-t", "ed25519", "-f", str(host_key)], capture_output=True, text=True, check=True
    )
    host_key_line = next(line for line in made.stdout.splitlines() if line.startswith("ssh-ed25519 "))
    port = free_port()
    log_file = (workdir / "dropbear.log").open("wb")
    command = [str(DROPBEAR), "-F", "-E", "-s", "-m", "-p", f"127.0.0.1:{port}", "-r", str(host_key)]
    command += ["-P", str(workdir / "dropbear.pid")]
    process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    server = DropbearServer(port, workdir, data_root, user, " ".join(host_key_line.split()[:2]), process)
    try:
        wait_for_ssh_banner(server.host, port, process, server.log_path, name="dropbear")
    except RuntimeError:
        server.stop()
        raise
    return server
