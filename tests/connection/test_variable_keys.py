"""The Variable keys of a connection's transfer state: each owned by exactly one connection."""

from __future__ import annotations

import pytest

from airflow_provider_actito_sftp.connection.variable_keys import (
    StateKind,
    key_prefix,
    legacy_key,
    owns_key,
    record_digest,
    state_key,
)

DIGEST = record_digest("dag.task", "daily.csv")
LOOK_ALIKES = ["acme", "acme:eu", "ACME", "acme_eu", "acmeX", "acme.eu", "ac%me", "é" * 3, "a" * 120, "a" * 121]


def test_a_plain_id_is_readable_in_the_key():
    assert (
        state_key(StateKind.LEDGER, "acme_sftp", "inbound", DIGEST) == f"actito_sftp_ledger@acme_sftp@inbound@{DIGEST}"
    )


@pytest.mark.parametrize("conn_id", ["acme:eu", "a/b", "x" * 121, "café", "with#hash", "(x)!"])
def test_other_ids_are_named_by_their_digest(conn_id: str):
    key = state_key(StateKind.DELIVERED, conn_id, "outbound", DIGEST)
    connection = key.split("@")[1]
    assert connection.startswith("~")
    assert len(connection) == 41
    assert len(key) <= 250


def test_the_longest_key_fits_airflows_limit():
    assert len(state_key(StateKind.DELIVERED, "x" * 120, "l" * 64, DIGEST)) <= 250


@pytest.mark.parametrize("conn_id", LOOK_ALIKES)
def test_each_connection_owns_its_keys_and_no_other(conn_id: str):
    for kind in StateKind:
        assert owns_key(conn_id, state_key(kind, conn_id, "inbound", DIGEST))
        assert owns_key(conn_id, legacy_key(kind, conn_id, "inbound", DIGEST) or state_key(kind, conn_id, "x", DIGEST))
        for other in LOOK_ALIKES:
            if other != conn_id:
                assert not owns_key(conn_id, state_key(kind, other, "inbound", DIGEST)), other
                assert not key_prefix(kind, other).startswith(key_prefix(kind, conn_id)), other


def test_an_earlier_versions_keys_belong_to_the_exact_id():
    mine = f"actito_sftp_ledger:acme:inbound:{DIGEST}"
    theirs = f"actito_sftp_ledger:acme:eu:inbound:{DIGEST}"  # "acme:eu", which earlier versions mixed up
    assert legacy_key(StateKind.LEDGER, "acme", "inbound", DIGEST) == mine
    assert owns_key("acme", mine)
    assert not owns_key("acme", theirs)
    assert owns_key("acme:eu", theirs)
    assert not owns_key("ACME", mine)


def test_an_earlier_versions_keys_of_long_ids_were_shared_and_are_not_read():
    assert legacy_key(StateKind.LEDGER, "x" * 100, "inbound", DIGEST) is None
    assert legacy_key(StateKind.LEDGER, "x" * 99, "inbound", DIGEST) is not None
