"""SSH client key pairs: generation, the public ``authorized_keys`` line, fingerprints.

The private key is returned only as text for the connection's secret field; nothing here logs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncssh

from airflow_provider_actito_sftp.ssh.host_keys import fingerprint
from airflow_provider_actito_sftp.ssh.key_type import PublicKeyFormat, SshKeyType

_ALGORITHMS = {SshKeyType.ED25519: ("ssh-ed25519", {}), SshKeyType.RSA: ("ssh-rsa", {"key_size": 4096})}


@dataclass(frozen=True)
class SshKeyPair:
    """A generated or stored key pair. ``repr`` hides the private key."""

    private_key: str = field(repr=False)
    public_line: str
    fingerprint: str

    def public_view(self) -> dict[str, str]:
        """The public part as every front end shows it: ``{"public_key": line, "fingerprint": SHA256:...}``."""
        return {"public_key": self.public_line, "fingerprint": self.fingerprint}


def generate_ssh_key(key_type: SshKeyType = SshKeyType.ED25519, *, comment: str = "") -> SshKeyPair:
    """Generate a new unencrypted key pair (it is stored encrypted by Airflow's Fernet key).

    :param key_type: ed25519 (default) or rsa (4096 bits).
    :param comment: appended to the public line, e.g. ``actito-sftp:<conn_id>``.
    """
    algorithm, options = _ALGORITHMS[key_type]
    key = asyncssh.generate_private_key(algorithm, comment=comment or None, **options)
    return describe_ssh_key(key.export_private_key("openssh").decode("ascii"))


def describe_ssh_key(private_key: str, passphrase: str | None = None) -> SshKeyPair:
    """Return the public line and fingerprint of a stored private key.

    :raises ValueError: the text is not a readable private key (the message never quotes it).
    """
    try:
        key = asyncssh.import_private_key(private_key, passphrase)
    except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError, ValueError):
        raise ValueError("not a readable SSH private key") from None
    public_line = key.export_public_key("openssh").decode("ascii").strip()
    return SshKeyPair(private_key=private_key, public_line=public_line, fingerprint=fingerprint(key))


def public_key_text(public_line: str, key_format: PublicKeyFormat = PublicKeyFormat.OPENSSH) -> str:
    """Our public key as a partner's server wants it, ending with a newline.

    :param public_line: the OpenSSH ``authorized_keys`` line (as stored).
    :param key_format: ``openssh`` (the line itself) or ``rfc4716`` (the same key and comment as an SSH2 block).
    """
    if key_format is PublicKeyFormat.OPENSSH:
        return public_line.strip() + "\n"
    return asyncssh.import_public_key(public_line).export_public_key("rfc4716").decode("ascii")
