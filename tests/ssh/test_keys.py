from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.ssh.key_type import SshKeyType
from airflow_provider_actito_sftp.ssh.keys import describe_ssh_key, generate_ssh_key


@pytest.mark.parametrize(("key_type", "prefix"), [(SshKeyType.ED25519, "ssh-ed25519 "), (SshKeyType.RSA, "ssh-rsa ")])
def test_generated_key_matches_ssh_keygen_view(key_type: SshKeyType, prefix: str, tmp_path: Path):
    pair = generate_ssh_key(key_type, comment="actito-sftp:partner")
    assert pair.public_line.startswith(prefix)
    assert pair.public_line.endswith(" actito-sftp:partner")
    assert "PRIVATE" not in repr(pair)
    # OpenSSH's own tool derives the same public key and fingerprint from the private key.
    private_path = tmp_path / "key"
    private_path.write_text(pair.private_key)
    private_path.chmod(0o600)
    derived = subprocess.run(["ssh-keygen", "-y", "-f", str(private_path)], capture_output=True, text=True, check=True)
    assert derived.stdout.split()[:2] == pair.public_line.split()[:2]
    listed = subprocess.run(["ssh-keygen", "-l", "-f", str(private_path)], capture_output=True, text=True, check=True)
    assert pair.fingerprint in listed.stdout
    if key_type is SshKeyType.RSA:
        assert listed.stdout.startswith("4096 ")


def test_describe_refuses_garbage_without_quoting_it():
    with pytest.raises(ValueError, match="not a readable SSH private key") as refused:
        describe_ssh_key("-----BEGIN OPENSSH PRIVATE KEY-----\nZ2FyYmFnZQ==\n-----END OPENSSH PRIVATE KEY-----")
    assert "Z2FyYmFnZQ" not in str(refused.value)
