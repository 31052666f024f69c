"""What the CLI tests share: the secrets seen so far, the transcript, and small helpers."""

from __future__ import annotations

from collections.abc import Callable

from click.testing import Result

TRANSCRIPT: list[str] = []
SEEN_SECRETS: set[str] = set()

RunCli = Callable[..., Result]
CreateConnection = Callable[..., Result]


def _boilerplate_lines() -> set[str]:
    """Lines every OpenSSH private key of a type shares (its fixed header), which identify nothing."""
    import asyncssh

    lines: set[str] = set()
    for algorithm in ("ssh-ed25519", "ssh-rsa"):
        first, second = (asyncssh.generate_private_key(algorithm).export_private_key().decode() for _ in range(2))
        lines |= set(first.splitlines()) & set(second.splitlines())
    return lines


BOILERPLATE = _boilerplate_lines()


def secret_fragments(value: str) -> set[str]:
    """Lines of a secret long enough to identify it (armor headers and fixed key headers are skipped)."""
    lines = {line.strip() for line in value.splitlines()} - BOILERPLATE
    fragments = {line for line in lines if len(line) >= 16 and not line.startswith("-----")}
    return fragments or ({value} if len(value) >= 6 else set())


def fingerprint_of(line: str) -> str:
    """The SHA256 fingerprint of an OpenSSH public key line."""
    import asyncssh

    from airflow_provider_actito_sftp.ssh.host_keys import fingerprint

    return fingerprint(asyncssh.import_public_key(line))
