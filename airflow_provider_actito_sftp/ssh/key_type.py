"""The SSH key types we generate (a module of its own: the CLI builds its choices without loading asyncssh)."""

from __future__ import annotations

from enum import StrEnum


class SshKeyType(StrEnum):
    """Key types we generate: ed25519 by default, RSA 4096 for servers that predate ed25519."""

    ED25519 = "ed25519"
    RSA = "rsa"
