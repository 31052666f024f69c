"""The field checks of single packet bodies (messages made by gpg and sq are in test_packets.py)."""

from __future__ import annotations

import time

import pytest

from airflow_provider_actito_sftp.pgp.packet_fields import (
    Body,
    NotPgp,
    Short,
    literal,
    public_key_esk,
    public_key_id,
    symmetric_key_esk,
)


def _literal(name: bytes, created: int) -> bytes:
    return b"b" + bytes([len(name)]) + name + created.to_bytes(4, "big")


def test_reading_past_a_complete_body_is_not_pgp_and_past_a_cut_one_is_short():
    with pytest.raises(NotPgp, match=r"^first packet tag 1 is too short for its fields$"):
        Body(b"\x03", True, "first packet tag 1").take(2)
    with pytest.raises(Short):
        Body(b"\x03", False, "first packet tag 1").take(2)
    with pytest.raises(Short):
        Body(b"\x03", False, "x").rest()


def test_a_complete_body_must_be_filled_exactly():
    body = Body(b"\x01\x02", True, "x")
    body.octet()
    with pytest.raises(NotPgp, match=r"^x has 1 octets more than its fields$"):
        body.end()
    Body(b"\x01\x02", False, "x").end()  # a cut body may go on


def test_choice_names_the_field_and_the_value():
    with pytest.raises(NotPgp, match=r"^x has version 200$"):
        Body(b"\xc8", True, "x").choice("version", {3, 6})


def test_public_key_session_key_ids():
    assert public_key_id(Body(b"\x03" + bytes.fromhex("0123456789ABCDEF"), True, "x")) == "0123456789ABCDEF"
    assert public_key_id(Body(b"\x06\x00", True, "x")) == "0" * 16  # v6, hidden recipient
    v4_fingerprint = bytes(range(20))
    assert public_key_id(Body(b"\x06\x15\x04" + v4_fingerprint, True, "x")) == v4_fingerprint[-8:].hex().upper()


def test_an_rsa_session_key_fills_its_packet():
    mpi = (2048).to_bytes(2, "big") + b"\xff" * 256
    public_key_esk(Body(b"\x01" + mpi, True, "x"))
    with pytest.raises(NotPgp, match="octets more than its fields"):
        public_key_esk(Body(b"\x01" + mpi + b"\x00", True, "x"))
    with pytest.raises(NotPgp, match="has an empty MPI"):
        public_key_esk(Body(b"\x01\x00\x00", True, "x"))


def test_a_v4_passphrase_session_key_has_a_known_cipher_and_s2k():
    iterated_s2k = b"\x03\x08" + b"\x01" * 8 + b"\x60"
    symmetric_key_esk(Body(b"\x04\x09" + iterated_s2k, True, "x"))
    with pytest.raises(NotPgp, match="has cipher algorithm 99"):
        symmetric_key_esk(Body(b"\x04\x63" + iterated_s2k, True, "x"))
    with pytest.raises(NotPgp, match="has an encrypted session key of 5 octets"):
        symmetric_key_esk(Body(b"\x04\x09" + iterated_s2k + b"\x00" * 5, True, "x"))


def test_literal_data_has_a_printable_name_and_a_plausible_date():
    literal(Body(_literal(b"customers.csv", int(time.time())), True, "x"))
    with pytest.raises(NotPgp, match="control character in its file name"):
        literal(Body(_literal(b"a\nb", 0), True, "x"))
    with pytest.raises(NotPgp, match="dated after next year"):
        literal(Body(_literal(b"a.csv", int(time.time()) + 2 * 366 * 86400), True, "x"))
