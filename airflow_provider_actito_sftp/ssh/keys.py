"""SSH client key pairs: generation, the public ``authorized_keys`` line, fingerprints.

The private key is returned only as text for the connection's secret field; nothing here logs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncssh

from airflow_provider_actito_sftp.ssh.host_keys import fingerprint
from airflow_provider_actito_sftp.ssh.key_type import SshKeyType

_ALGORITHMS = {SshKeyType.ED25519: ("ssh-ed25519", {}), SshKeyType.RSA: ("ssh-rsa", {"key_size": 4096})}


@dataclass(frozen=True)
class SshKeyPair:
    """A generated or stored key pair. ``repr`` hides the private key."""

    private_key: str = field(repr=False)
    public_line: str
    fingerprint: str


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
