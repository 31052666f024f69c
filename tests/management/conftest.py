"""Records held in memory (no metadata DB): the management functions change them, the tests inspect them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_actito_sftp.connection.store import ConnectionRecord
from partner_sandbox.sshd import SshServer

MakeRecord = Callable[..., ConnectionRecord]


@pytest.fixture
def password_record() -> MakeRecord:
    """A valid password-auth connection to a server that does not exist; keywords override extra keys."""

    def make(**extra: Any) -> ConnectionRecord:
        return ConnectionRecord(
            conn_id="partner",
            host="sftp.partner.example",
            port=22,
            login="actito",
            password="a-password-nobody-may-see",
            extra={"entity": "acme", "auth_type": "password", **extra},
        )

    return make


@pytest.fixture
def server_record(sshd: SshServer, client_key: str) -> MakeRecord:
    """A valid key-auth connection to the test sshd, which accepts ``client_key``; keywords override extra."""

    def make(**extra: Any) -> ConnectionRecord:
        return ConnectionRecord(
            conn_id="rotation",
            host=sshd.host,
            port=sshd.port,
            login=sshd.user.name,
            extra={"entity": "acme", "host_key": sshd.host_key_line, "ssh_private_key": client_key, **extra},
        )

    return make
