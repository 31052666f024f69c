"""The SSH key types we generate and the formats we hand our public key out in (a module of their own: the CLI
builds its choices without loading asyncssh)."""

from __future__ import annotations

from enum import StrEnum


class SshKeyType(StrEnum):
    """Key types we generate: ed25519 by default, RSA 4096 for servers that predate ed25519."""

    ED25519 = "ed25519"
    RSA = "rsa"


class PublicKeyFormat(StrEnum):
    """How our public key is handed to a partner: OpenSSH's one ``authorized_keys`` line (OpenSSH and most
    servers), or the RFC 4716 block (``---- BEGIN SSH2 PUBLIC KEY ----``) that ProFTPD's mod_sftp and some
    commercial servers require in their authorized keys files."""

    OPENSSH = "openssh"
    RFC4716 = "rfc4716"

    @property
    def file_suffix(self) -> str:
        """The download's name after the connection id."""
        return ".pub" if self is PublicKeyFormat.OPENSSH else ".rfc4716.pub"
