"""Host key pinning against the real test sshd: pinned only when confirmed, refused otherwise."""

from __future__ import annotations

import logging
import re

import pytest

from airflow_provider_actito_sftp.connection.schema import DEFAULT_CIPHERS
from airflow_provider_actito_sftp.connection.store import ConnectionRecord
from airflow_provider_actito_sftp.exceptions import RefusedError, RemoteConnectError
from airflow_provider_actito_sftp.management import HostKeyOffer, fetch_host_key_offer, pin_host_key
from airflow_provider_actito_sftp.management.host_keys import normalize_fingerprint, offered_algorithms
from airflow_provider_actito_sftp.ssh.algorithms import Algorithms
from partner_sandbox.sshd import SshServer, free_port
from tests.cli.support import fingerprint_of


@pytest.fixture
def offer(sshd: SshServer) -> HostKeyOffer:
    return fetch_host_key_offer(sshd.host, sshd.port, timeout=10)


def test_the_offer_is_the_servers_key(offer: HostKeyOffer, sshd: SshServer):
    assert offer.fingerprint == fingerprint_of(sshd.host_key_line)
    assert offer.algorithm == "ssh-ed25519"


def test_a_confirmed_key_is_pinned(offer: HostKeyOffer, sshd: SshServer):
    record = ConnectionRecord(conn_id="pin")
    pin = pin_host_key(record, offer, expected=f" {offer.fingerprint} ")
    assert (pin.fingerprint, pin.trusted_on_first_use) == (offer.fingerprint, False)
    assert record.extra["host_key"].split()[:2] == sshd.host_key_line.split()[:2]


OTHER = "SHA256:" + "A" * 43  # a well-formed fingerprint of no key of the server


def test_a_different_key_is_refused(offer: HostKeyOffer):
    record = ConnectionRecord(conn_id="pin")
    with pytest.raises(
        RefusedError,
        match=re.escape(f"host key mismatch: expected {OTHER}, the server presents {offer.fingerprint} (ssh-ed25519);"),
    ):
        pin_host_key(record, offer, expected=OTHER.removeprefix("SHA256:"), trust_on_first_use=True)
    assert record.extra == {}


def test_something_that_is_no_fingerprint_is_refused_as_such(offer: HostKeyOffer):
    record = ConnectionRecord(conn_id="pin")
    not_one = r"^host key mismatch: expected 'SHA256:other', which is not a SHA256 fingerprint .* nothing was saved$"
    with pytest.raises(RefusedError, match=not_one):
        pin_host_key(record, offer, expected=" SHA256:other ")
    assert record.extra == {}


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param(lambda fp: fp.removeprefix("SHA256:"), id="without-prefix"),
        pytest.param(lambda fp: "sha256:" + fp.removeprefix("SHA256:"), id="lower-case-prefix"),
        pytest.param(lambda fp: f"  {fp[:20]} {fp[20:]}\n", id="with-blanks"),
        pytest.param(lambda fp: fp + "=", id="with-base64-padding"),
        pytest.param(lambda fp: "SHA256: " + fp.removeprefix("SHA256:") + "=", id="ssh-keygen-like"),
    ],
)
def test_the_right_fingerprint_is_accepted_however_it_is_typed(offer: HostKeyOffer, typed):
    record = ConnectionRecord(conn_id="pin")
    pin = pin_host_key(record, offer, expected=typed(offer.fingerprint))
    assert (pin.fingerprint, pin.trusted_on_first_use) == (offer.fingerprint, False)
    assert record.extra["host_key"]


def test_normalizing_keeps_the_base64_exact(offer: HostKeyOffer):
    assert normalize_fingerprint(f" sha256:{offer.fingerprint[7:]}== ") == offer.fingerprint
    swapped = offer.fingerprint[:7] + offer.fingerprint[7:].swapcase()  # base64 is case-sensitive
    assert offer.matching(swapped) is None
    assert offer.matching(offer.fingerprint[:-1]) is None  # one character short is another fingerprint


def test_an_unconfirmed_key_is_refused(offer: HostKeyOffer):
    record = ConnectionRecord(conn_id="pin")
    with pytest.raises(RefusedError, match=re.escape(f"re-run with --accept-host-key {offer.fingerprint} ")) as refused:
        pin_host_key(record, offer, expected=None)
    assert record.extra == {}
    on_page = refused.value.for_page()  # the page's words: its field and checkbox, no flag
    assert "“Fingerprint given by the partner”" in on_page
    assert "“Trust on first use”" in on_page
    assert "--" not in on_page


def test_trust_on_first_use_is_logged(offer: HostKeyOffer, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, logger="airflow_provider_actito_sftp")
    record = ConnectionRecord(conn_id="pin")
    pin = pin_host_key(record, offer, expected=None, trust_on_first_use=True)
    assert pin.trusted_on_first_use
    assert f"Trust on first use: pinning host key {offer.fingerprint}" in caplog.text
    assert record.extra["host_key"]


def test_an_unreachable_server():
    with pytest.raises(RemoteConnectError, match="could not fetch the host key"):
        fetch_host_key_offer("127.0.0.1", free_port(), timeout=5)


def _connections_since(server: SshServer, offset: int, sessions: set[str]) -> tuple[int, int]:
    """The connections the server logged since ``offset``, and its failed negotiations, once they have ended."""
    assert server.wait_for_sessions_to_end(sessions) == set()
    logged = server.log_path.read_text(errors="replace")[offset:]
    return logged.count("Connection from "), logged.count("Unable to negotiate")


# The connections a server with ed25519, ECDSA and RSA keys sees for a setup that confirms each (issue 26.4):
# the key it presents first costs one; another one, one more per key before it in our order; never a failed one.
CONNECTIONS = {"ed25519": 1, "ecdsa": 2, "rsa": 3}


@pytest.mark.parametrize("key_type", ["ed25519", "rsa", "ecdsa"])
def test_any_of_a_servers_keys_can_be_confirmed_and_that_one_is_pinned(multi_key_sshd: SshServer, key_type: str):
    server = multi_key_sshd
    offset, sessions = len(server.log_path.read_text(errors="replace")), server.sessions()
    offer = fetch_host_key_offer(server.host, server.port, timeout=10)
    line = server.host_key_lines[key_type]
    assert offer.fingerprint == fingerprint_of(server.host_key_line)  # ed25519, shown first
    assert offer.described() == [{"algorithm": "ssh-ed25519", "fingerprint": offer.fingerprint}]  # one connection
    record = ConnectionRecord(conn_id="pin")
    pin = pin_host_key(record, offer, expected=fingerprint_of(line))
    assert pin.fingerprint == fingerprint_of(line)
    assert record.extra["host_key"].split()[:2] == line.split()[:2]
    assert _connections_since(server, offset, sessions) == (CONNECTIONS[key_type], 0)


def test_a_mismatch_names_every_key_the_server_holds(multi_key_sshd: SshServer):
    server = multi_key_sshd
    offset, sessions = len(server.log_path.read_text(errors="replace")), server.sessions()
    offer = fetch_host_key_offer(server.host, server.port, timeout=10)
    with pytest.raises(RefusedError) as refused:
        pin_host_key(ConnectionRecord(conn_id="pin"), offer, expected=OTHER)
    for line in server.host_key_lines.values():
        assert fingerprint_of(line) in str(refused.value)
    # every key, then the one connection the server refuses: it holds no key of the types left
    assert _connections_since(server, offset, sessions) == (4, 1)
    tofu = pin_host_key(ConnectionRecord(conn_id="pin"), offer, expected=None, trust_on_first_use=True)
    assert tofu.fingerprint == fingerprint_of(server.host_key_lines["ed25519"])  # the one shown first


def test_something_that_is_no_fingerprint_fetches_no_other_key(multi_key_sshd: SshServer):
    offset, sessions = len(multi_key_sshd.log_path.read_text(errors="replace")), multi_key_sshd.sessions()
    offer = fetch_host_key_offer(multi_key_sshd.host, multi_key_sshd.port, timeout=10)
    with pytest.raises(RefusedError, match="which is not a SHA256 fingerprint"):
        pin_host_key(ConnectionRecord(conn_id="pin"), offer, expected="SHA256:other")
    assert _connections_since(multi_key_sshd, offset, sessions) == (1, 0)


def test_the_fetch_offers_the_connections_ciphers_and_weaker_algorithms():
    record = ConnectionRecord(conn_id="legacy", extra={"ciphers": "aes256-ctr", "legacy_algorithms": "cbc, ssh-rsa"})
    assert offered_algorithms(record) == Algorithms(("aes256-ctr",), ("cbc", "ssh-rsa"))
    plain = offered_algorithms(ConnectionRecord(conn_id="plain"))
    assert (plain.ciphers, plain.legacy) == (DEFAULT_CIPHERS, ())


def test_a_server_that_sends_garbage_is_a_worded_connect_error():
    """Issue 21.7: the page's host-key fetch answered HTTP 500 (a bare PacketDecodeError)."""
    from tests.support.rogue_ssh import RogueSshServer

    with RogueSshServer() as rogue, pytest.raises(RemoteConnectError) as refused:
        fetch_host_key_offer("127.0.0.1", rogue.port, timeout=10)
    assert str(refused.value) == (
        f"could not fetch the host key: the server at 127.0.0.1:{rogue.port} broke the SSH protocol: "
        "a malformed packet (Incomplete packet)"
    )
