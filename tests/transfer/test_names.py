"""Marker and partial-file names: what they record, and that older markers still parse."""

from __future__ import annotations

from airflow_provider_actito_sftp.transfer.names import (
    MarkerKind,
    new_claim,
    owner_id,
    parse_marker,
    partial_name,
    partial_owner,
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
