"""Key operations on records in memory: the SSH key rotation's state machine against the real test sshd."""

from __future__ import annotations

import pytest

from airflow_provider_actito_sftp.exceptions import RefusedError
from airflow_provider_actito_sftp.management import (
    RotationState,
    partner_key_remove,
    partner_key_set,
    pgp_key_retire,
    pgp_public_key,
    ssh_key_generate,
    ssh_key_rotate,
    ssh_public_keys,
    validate,
)
from airflow_provider_actito_sftp.management.keys import pending_key_authenticates
from airflow_provider_actito_sftp.ssh.key_type import SshKeyType
from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.sshd import SshServer
from tests.management.conftest import MakeRecord


def test_rotation_begins_with_a_pending_key(server_record: MakeRecord, client_key: str):
    record = server_record()
    rotation = ssh_key_rotate(record)
    assert rotation.state is RotationState.PENDING
    assert rotation.key.private_key == ""
    assert rotation.as_dict() == {
        "state": "pending",
        "public_key": rotation.key.public_line,
        "fingerprint": rotation.key.fingerprint,
    }
    assert record.extra["ssh_private_key"] == client_key  # still the active key
    assert ssh_public_keys(record)[1] == rotation.key
    assert len(validate(record).client_private_keys()) == 2  # both offered meanwhile


def test_rotation_waits_for_the_server_then_activates(server_record: MakeRecord, sshd: SshServer):
    record = server_record()
    pending = ssh_key_rotate(record).key
    assert not pending_key_authenticates(record)
    with pytest.raises(RefusedError, match="does not accept the pending key yet") as refused:
        ssh_key_rotate(record)
    assert "or use --force" in str(refused.value)  # the CLI's words: its flag
    assert "press “Activate” again" in refused.value.for_page()  # the page's: its button, no flag
    assert "--force" not in refused.value.for_page()
    assert record.extra["ssh_private_key_pending"]  # nothing changed
    sshd.add_authorized_key(pending.public_line)
    activated = ssh_key_rotate(record)
    assert (activated.state, activated.key.public_line) == (RotationState.ACTIVE, pending.public_line)
    assert "ssh_private_key_pending" not in record.extra
    assert ssh_public_keys(record) == (activated.key, None)


def test_force_activates_without_asking_the_server(server_record: MakeRecord):
    record = server_record(ssh_private_key_passphrase="")
    pending = ssh_key_rotate(record, SshKeyType.RSA).key
    assert pending.public_line.startswith("ssh-rsa ")
    activated = ssh_key_rotate(record, force=True)
    assert (activated.state, activated.key.fingerprint) == (RotationState.ACTIVE, pending.fingerprint)
    assert "ssh_private_key_passphrase" not in record.extra


def test_restart_replaces_the_pending_key(server_record: MakeRecord):
    record = server_record()
    first = ssh_key_rotate(record).key
    second = ssh_key_rotate(record, restart=True)
    assert second.state is RotationState.PENDING
    assert second.key.fingerprint != first.fingerprint
    assert ssh_public_keys(record)[1] == second.key


def test_no_key_no_rotation(password_record: MakeRecord):
    with pytest.raises(RefusedError, match="has no SSH key to rotate; use `ssh-key generate`") as refused:
        ssh_key_rotate(password_record())
    assert "press “Generate a new key pair”" in refused.value.for_page()
    assert not pending_key_authenticates(password_record())


def test_generation_over_a_key_needs_force(server_record: MakeRecord, client_key: str):
    record = server_record(ssh_private_key_pending="(pending)")
    with pytest.raises(RefusedError, match="already has an SSH key"):
        ssh_key_generate(record, SshKeyType.ED25519)
    pair = ssh_key_generate(record, SshKeyType.ED25519, force=True)
    assert record.extra["ssh_private_key"] != client_key
    assert "ssh_private_key_pending" not in record.extra
    assert ssh_public_keys(record) == (pair, None)


def test_pgp_operations_need_keys(password_record: MakeRecord):
    with pytest.raises(RefusedError, match="has no inbound PGP key; run `actito-sftp pgp-key generate partner`"):
        pgp_public_key(password_record())
    with pytest.raises(RefusedError, match="has no inbound PGP keys"):
        pgp_key_retire(password_record(), None)


def test_partner_key_removal_never_leaves_outbound_pgp_without_its_key(password_record: MakeRecord):
    """Refused while outbound PGP is on (nothing changed, encryption never switched off here); removed once off."""
    with PartnerGpg() as partner:
        fingerprint = partner.generate()
        armored = partner.export_public(fingerprint)
    with pytest.raises(RefusedError, match="has no partner key to remove"):
        partner_key_remove(password_record())
    record = password_record(outbound_pgp=True)
    partner_key_set(record, armored)
    refusal = r"turn off outbound PGP encryption first \(`actito-sftp policy partner --no-outbound-pgp`\)"
    with pytest.raises(RefusedError, match=refusal) as e:
        partner_key_remove(record)
    assert "turn off “Encrypt uploads with PGP” on the Outbound tab first" in e.value.for_page()
    assert (record.extra["outbound_pgp"], record.extra["partner_pgp_public_key"]) == (True, armored.strip() + "\n")
    record.extra["outbound_pgp"] = False
    assert partner_key_remove(record) == fingerprint
    assert "partner_pgp_public_key" not in record.extra
    validate(record)


def test_a_partner_key_that_no_longer_validates_is_removed_all_the_same(password_record: MakeRecord):
    with PartnerGpg() as partner:
        expired = partner.export_public(partner.generate(expires="1d", faked_time="20200101T000000"))
    record = password_record(partner_pgp_public_key=expired)
    assert partner_key_remove(record) is None
    assert "partner_pgp_public_key" not in record.extra
