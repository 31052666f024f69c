"""A throwaway ProFTPD with mod_sftp on 127.0.0.1, as partners run it (Debian's proftpd-core + proftpd-mod-crypto).

Its authorized keys file takes public keys only in RFC 4716 form (``ssh-keygen -e``); it holds an ed25519 and
an RSA host key; ``AllowOverwrite off`` (its default) on the data folder: writing over a file is refused.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from partner_sandbox.sshd import SftpUser, chown_tree, free_port, generate_ssh_key, stop_process, wait_for_ssh_banner

MOD_SFTP = Path("/usr/lib/proftpd/mod_sftp.so")


def find_proftpd() -> str | None:
    """The proftpd binary, if ProFTPD and its SFTP module are installed."""
    binary = shutil.which("proftpd") or ("/usr/sbin/proftpd" if Path("/usr/sbin/proftpd").exists() else None)
    return binary if binary and MOD_SFTP.exists() else None


@dataclass
class ProftpdServer:
    """A running ProFTPD. ``data_root`` is a folder the test user owns, for test locations."""

    port: int
    workdir: Path
    data_root: Path
    user: SftpUser
    host_key_lines: dict[str, str]  # by type: "ed25519", "rsa"
    authorized_keys: Path  # the user's keys file: RFC 4716 blocks only
    process: subprocess.Popen[bytes] = field(repr=False)
    host: str = "127.0.0.1"

    @property
    def log_path(self) -> Path:
        return self.workdir / "sftp.log"

    def install_key(self, text: str) -> None:
        """Put a public key in the user's keys file as given (ProFTPD reads RFC 4716 blocks only)."""
        with self.authorized_keys.open("a") as keys:
            keys.write(text if text.endswith("\n") else text + "\n")

    def make_folder(self, relative: str) -> Path:
        folder = self.data_root / relative
        folder.mkdir(parents=True, exist_ok=True)
        chown_tree(self.data_root, self.user)
        return folder


def start_proftpd(user: SftpUser) -> ProftpdServer:
    """Start ProFTPD (mod_sftp, public key auth) on a free 127.0.0.1 port and wait until it answers."""
    binary = find_proftpd()
    if binary is None:
        raise RuntimeError("ProFTPD with mod_sftp is not installed (apt-get install proftpd-core proftpd-mod-crypto)")
    workdir = Path(tempfile.mkdtemp(prefix="actito-proftpd-"))
    workdir.chmod(0o755)
    data_root = workdir / "data"
    data_root.mkdir()
    chown_tree(data_root, user)
    keys_folder = workdir / "keys"
    keys_folder.mkdir(mode=0o755)
    authorized_keys = keys_folder / user.name
    authorized_keys.touch(mode=0o644)
    host_key_lines = {
        key_type: generate_ssh_key(workdir / f"host_{key_type}", key_type) for key_type in ("ed25519", "rsa")
    }
    port = free_port()
    config = workdir / "proftpd.conf"
    config.write_text(
        "\n".join(
            [
                'ServerName "actito-sftp test partner"',
                "ServerType standalone",
                "DefaultServer on",
                f"Port {port}",
                "DefaultAddress 127.0.0.1",
                "UseIPv6 off",
                *(["User nobody", "Group nogroup"] if os.geteuid() == 0 else []),
                f"PidFile {workdir / 'proftpd.pid'}",
                f"ScoreboardFile {workdir / 'proftpd.scoreboard'}",
                "DelayTable none",
                "WtmpLog off",
                "TransferLog none",
                f"SystemLog {workdir / 'system.log'}",
                "LoadModule mod_sftp.c",
                "SFTPEngine on",
                f"SFTPLog {workdir / 'sftp.log'}",
                *(f"SFTPHostKey {workdir / f'host_{key_type}'}" for key_type in host_key_lines),
                "SFTPAuthMethods publickey",
                f"SFTPAuthorizedUserKeys file:{keys_folder}/%u",
                "RequireValidShell off",
                "AuthOrder mod_auth_unix.c",
                f"<Directory {data_root}>",
                "  AllowOverwrite off",
                "</Directory>",
                "",
            ]
        )
    )
    log_file = (workdir / "proftpd.out").open("wb")
    process = subprocess.Popen([binary, "-n", "-q", "-c", str(config)], stdout=log_file, stderr=subprocess.STDOUT)
    server = ProftpdServer(port, workdir, data_root, user, host_key_lines, authorized_keys, process)
    try:
        wait_for_ssh_banner(server.host, port, process, workdir / "proftpd.out", name="proftpd")
    except RuntimeError:
        stop_proftpd(server)
        raise
    return server


def stop_proftpd(server: ProftpdServer) -> None:
    """Stop the server and remove its files."""
    stop_process(server.process)
    shutil.rmtree(server.workdir, ignore_errors=True)
