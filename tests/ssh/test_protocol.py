"""A server that talks, but not SSH: its errors are told from a refusal or a lost connection, and worded."""

from __future__ import annotations

import asyncio

import asyncssh
import pytest

from airflow_provider_actito_sftp.ssh.protocol import broke_protocol, protocol_broken
from partner_sandbox.sshd import free_port
from tests.support.rogue_ssh import EMPTY_PACKET, OVERSIZED_PACKET, RogueSshServer


def _what_asyncssh_raises(port: int) -> BaseException:
    async def fetch() -> None:
        await asyncio.wait_for(asyncssh.get_server_host_key("127.0.0.1", port, config=None), 30)

    try:
        asyncio.run(fetch())
    except Exception as e:  # whatever asyncssh raises: that is what is being sorted
        return e
    raise AssertionError("the connection did not fail")


@pytest.mark.parametrize(
    ("garbage", "said"),
    [
        (EMPTY_PACKET, "a malformed packet (Incomplete packet)"),  # a bare PacketDecodeError (a ValueError)
        (OVERSIZED_PACKET, "Max packet size exceeded"),  # asyncssh's ProtocolError
    ],
)
def test_garbage_after_the_version_is_told_and_worded(garbage: bytes, said: str):
    with RogueSshServer(garbage) as rogue:
        error = _what_asyncssh_raises(rogue.port)
    assert broke_protocol(error)
    assert protocol_broken(f"127.0.0.1:{rogue.port}", error) == (
        f"the server at 127.0.0.1:{rogue.port} broke the SSH protocol: {said}"
    )


def test_a_closed_port_or_a_lost_connection_is_not_a_protocol_violation():
    assert not broke_protocol(_what_asyncssh_raises(free_port()))
    assert not broke_protocol(asyncssh.ConnectionLost("Connection lost"))
    assert not broke_protocol(TimeoutError())
    assert broke_protocol(UnicodeDecodeError("ascii", b"\xff", 0, 1, "ordinal not in range"))
