"""Marker and partial-file names: what they record, and that older markers still parse."""

from __future__ import annotations

import pytest

from airflow_provider_actito_sftp.exceptions import UnsafeNameError
from airflow_provider_actito_sftp.transfer.names import (
    MarkerKind,
    check_remote_name,
    new_claim,
    owner_id,
    parse_marker,
    partial_name,
    partial_owner,
    shown_name,
    too_long_to_import,
)


def test_a_claim_records_its_owner_and_survives_staging():
    owner = owner_id("dag", "task", "run", "-1")
    claim = new_claim("orders.csv.pgp", owner)
    parsed = parse_marker(claim.name)
    assert parsed is not None
    assert (parsed.original, parsed.kind, parsed.owner, parsed.tag) == (
        "orders.csv.pgp",
        MarkerKind.CLAIMED,
        owner,
        claim.tag,
    )
    assert parsed.since == int(claim.since)
    staged = claim.staged("ab" * 32)
    assert parse_marker(staged.name).name == staged.name  # type: ignore[union-attr]
    assert staged.owner == owner
    assert staged.kind is MarkerKind.STAGED
    assert staged.tag == "ab" * 16


def test_the_owner_ignores_the_try_number_but_not_the_run():
    assert owner_id("d", "t", "run-1", "-1") == owner_id("d", "t", "run-1", "-1")
    assert owner_id("d", "t", "run-1", "-1") != owner_id("d", "t", "run-2", "-1")
    assert owner_id("d", "t", "run-1", "-1") != owner_id("d", "t", "run-1", "3")


def test_markers_of_older_versions_still_parse_without_an_owner():
    marker = parse_marker(".orders.csv.actito-claim-1700000000-0123456789ab")
    assert marker is not None
    assert marker.original == "orders.csv"
    assert marker.owner == ""
    assert parse_marker(marker.name) == marker


def test_a_marker_too_long_for_the_server_is_detected():
    assert new_claim("x" * 180, owner_id("a")).fits()
    assert not new_claim("x" * 220, owner_id("a")).fits()


def test_partial_names_carry_their_owner():
    owner = owner_id("a")
    assert partial_owner(partial_name("x.csv", owner)) == owner
    assert partial_owner(".x.csv.actito-partial-0123456789ab") == ""
    assert partial_owner("x.csv") is None


def test_a_name_that_is_not_utf8_is_shown_with_backslash_escapes():
    """Issue 21.12: one way to show a remote name wherever it leaves the process (printable UTF-8, one reading)."""
    latin1 = b"caf\xe9.csv".decode("utf-8", "surrogateescape")
    assert shown_name(latin1) == "caf\\xe9.csv"
    assert shown_name("données été.csv") == "données été.csv"  # UTF-8 names are shown as they are
    assert shown_name("a\nb\x7f.csv") == "a\\x0ab\\x7f.csv"
    assert shown_name("a\\xe9.csv") == "a\\\\xe9.csv"  # a real backslash never reads as an escape
    for name in (latin1, "a\nb", "\udfff"):
        shown_name(name).encode("utf-8")
    with pytest.raises(UnsafeNameError, match=r"^'caf\\xe9\.csv' is not valid UTF-8$"):
        check_remote_name(latin1)


def test_a_name_is_refused_unless_every_marker_and_partial_name_fits_in_255_bytes():
    """Issue 21.14: the staged marker (72 bytes more than the name, with an owner) is the longest on the server;
    the local partial file adds 42."""
    owner = owner_id("a")
    for size in (183, 184, 213, 214):
        name = "x" * (size - 4) + ".csv"
        assert new_claim(name, owner).fits() == (size <= 204)
        claimed = too_long_to_import(name, owner, claims=True)
        in_place = too_long_to_import(name, owner, claims=False)
        assert (claimed is None) == (size <= 183)
        assert (in_place is None) == (size <= 213)
    claimed = too_long_to_import("x" * 186 + ".csv", owner, claims=True)
    assert claimed == (
        "the name is too long to claim: 190 bytes, and the import renames it on the server to "
        "'.NAME.actito-staged-...' (262 bytes), over the 255-byte limit of file names: rename it on the server to "
        "at most 183 bytes, or import it with claim='none' (read in place; the ledger remembers it)"
    )
    too_long_for_both = too_long_to_import("x" * 210 + ".csv", owner, claims=True)
    assert too_long_for_both is not None
    assert "claim='none'" not in too_long_for_both  # it would not help: the local partial would not fit either
    assert too_long_to_import("x" * 210 + ".csv", owner, claims=False) == (
        "the name is too long to import: 214 bytes, and its local partial file '.NAME.actito-partial-...' would "
        "have 256 bytes, over the 255-byte limit of file names: rename it on the server to at most 213 bytes"
    )
