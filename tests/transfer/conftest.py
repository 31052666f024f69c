"""Fixtures shared by the transfer tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from partner_sandbox.sshd import SshServer
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def proxy(sshd: SshServer) -> Iterator[TcpProxy]:
    """The cutting proxy in front of the session's real sshd."""
    with TcpProxy(sshd.host, sshd.port) as running:
        yield running
