"""The small-files peers of the WAN benchmark that are not OpenSSH: rclone and Airflow's SFTPHook (issue 22).

Both connect where the benchmark's other clients do (``Bench.port``: the WAN link in front of the sshd), with
the same key, the server's pinned host key and, as far as each lets us choose, the same cipher (aes128-gcm).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.bench_setup import CIPHER

if TYPE_CHECKING:
    from benchmarks.bench_setup import Bench

HOOK_CONN_ID = "bench_sftphook"


def write_known_hosts(bench: Bench, path: Path) -> Path:
    """A known_hosts file pinning the server's host key at the port clients connect to."""
    host_key = " ".join(bench.server.host_key_line.split()[:2])
    path.write_text(f"[{bench.server.host}]:{bench.port} {host_key}\n")
    return path


def rclone_command(bench: Bench, remote_folder: Path, destination: Path, known_hosts: Path) -> list[str]:
    """``rclone copy`` with an on-the-fly SFTP remote and no config file; 8 transfers and 8 checkers."""
    remote = (
        f":sftp,host={bench.server.host},port={bench.port},user={bench.server.user.name},"
        f"key_file={bench.key_path},known_hosts_file={known_hosts},ciphers={CIPHER}:{remote_folder}"
    )
    return [
        "rclone",
        "--config",
        "/dev/null",
        "copy",
        "--transfers",
        "8",
        "--checkers",
        "8",
        "--log-level",
        "ERROR",
        remote,
        str(destination),
    ]


def define_hook_connection(bench: Bench) -> str:
    """The SFTPHook's Airflow connection (an env var), pinned host key, aes128-gcm; return its id.

    The hook sets its ``ciphers`` extra only after the key exchange, so the others are disabled instead.
    """
    import paramiko  # type: ignore[import-untyped]

    others = [name for name in paramiko.Transport._preferred_ciphers if name != CIPHER]
    os.environ[f"AIRFLOW_CONN_{HOOK_CONN_ID.upper()}"] = json.dumps(
        {
            "conn_type": "sftp",
            "host": bench.server.host,
            "port": bench.port,
            "login": bench.server.user.name,
            "extra": {
                "key_file": str(bench.key_path),
                "host_key": bench.server.host_key_line,
                "no_host_key_check": "false",
                "disabled_algorithms": {"ciphers": others},
            },
        }
    )
    return HOOK_CONN_ID


def _hook() -> Any:
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    return SFTPHook(ssh_conn_id=HOOK_CONN_ID)


def hook_negotiated_cipher() -> str:
    """Open the hook's connection once (it also loads paramiko and the provider before any measured round)."""
    hook = _hook()
    with hook.get_managed_conn() as sftp:
        return str(sftp.get_channel().get_transport().remote_cipher)


def hook_loop(remote_folder: Path, destination: Path) -> int:
    """``retrieve_file`` per file over one managed connection, after listing the folder; return the count.

    :param remote_folder: the folder as the server shows it.
    :param destination: an existing local folder.
    """
    hook = _hook()
    with hook.get_managed_conn():
        names = hook.list_directory(str(remote_folder))
        for name in names:
            hook.retrieve_file(f"{remote_folder}/{name}", str(destination / name))
    return len(names)


def hook_concurrent(remote_folder: Path, destination: Path, workers: int = 8) -> None:
    """``retrieve_directory_concurrently`` (``workers`` connections); it creates ``destination`` itself."""
    _hook().retrieve_directory_concurrently(str(remote_folder), str(destination), workers=workers)
