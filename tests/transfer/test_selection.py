"""Which listed files an import takes: the pattern (glob or regex), regular files only, never names still
being written (temporary suffixes, the lock suffix, importers' markers), and only once old enough."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airflow_provider_actito_sftp.ssh.session import RemoteEntry
from airflow_provider_actito_sftp.transfer.names import IN_PROGRESS_SUFFIXES, new_claim, owner_id
from airflow_provider_actito_sftp.transfer.selection import FileFilter

NOW = 1_800_000_000.0


def entry(name: str, *, age: float = 3600.0, is_file: bool = True, is_dir: bool = False) -> RemoteEntry:
    """A listed entry last modified ``age`` seconds before :data:`NOW`."""
    mtime = datetime.fromtimestamp(NOW - age, tz=UTC)
    return RemoteEntry(
        name=name,
        path=f"/inbound/{name}",
        size=10,
        mtime=mtime,
        is_file=is_file,
        is_dir=is_dir,
        mtime_ns=int(NOW - age) * 1_000_000_000,
    )


def ready_names(file_filter: FileFilter, *entries: RemoteEntry) -> list[str]:
    return [chosen.name for chosen in file_filter.ready(list(entries), now=NOW)]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("customers.csv", True),
        ("customers.CSV", False),  # case-sensitive on every platform
        ("customers.csv.pgp", False),  # the whole name must match
        ("customersXcsv", False),  # "." is literal in a glob
    ],
)
def test_a_glob_matches_the_whole_name_case_sensitively(name: str, expected: bool) -> None:
    assert FileFilter("*.csv").matches(name) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("orders-20260101.csv", True),
        ("orders-2026010.csv", False),
        ("old-orders-20260101.csv", False),  # matched in full, not searched
        ("orders-20260101.csv.bak", False),
    ],
)
def test_a_regex_is_matched_in_full(name: str, expected: bool) -> None:
    assert FileFilter(r"orders-\d{8}\.csv", regex=True).matches(name) is expected


def test_a_glob_is_not_read_as_a_regex() -> None:
    assert not FileFilter(r"orders-\d{8}\.csv").matches("orders-20260101.csv")
    assert FileFilter("orders-[0-9]*.csv").matches("orders-20260101.csv")


def test_ready_keeps_matching_files_in_listing_order() -> None:
    listing = (entry("b.csv"), entry("notes.txt"), entry("a.csv"), entry("c.csv"))
    assert ready_names(FileFilter("*.csv"), *listing) == ["b.csv", "a.csv", "c.csv"]


@pytest.mark.parametrize("suffix", IN_PROGRESS_SUFFIXES)
def test_names_with_a_temporary_suffix_are_in_progress(suffix: str) -> None:
    assert ready_names(FileFilter("*"), entry(f"daily.csv{suffix}"), entry("daily.csv")) == ["daily.csv"]


def test_the_connections_lock_suffix_counts_as_in_progress_only_for_that_connection() -> None:
    locked = entry("daily.csv.uploading")
    assert ready_names(FileFilter("*", lock_suffix=".uploading"), locked) == []
    assert ready_names(FileFilter("*"), locked) == ["daily.csv.uploading"]


def test_an_importers_marker_is_never_selected_even_by_a_catch_all_pattern() -> None:
    claim = new_claim("daily.csv", owner_id("dag", "task", "run", "-1"))
    assert FileFilter("*").matches(claim.name)
    assert ready_names(FileFilter("*"), entry(claim.name)) == []


@pytest.mark.parametrize(
    ("is_file", "is_dir"),
    [(False, True), (False, False)],  # a folder; a symlink, socket or device
    ids=["folder", "other"],
)
def test_only_regular_files_are_selected(is_file: bool, is_dir: bool) -> None:
    assert ready_names(FileFilter("*.csv"), entry("folder.csv", is_file=is_file, is_dir=is_dir)) == []


def test_min_age_waits_until_a_file_is_old_enough() -> None:
    file_filter = FileFilter("*.csv", min_age=60)
    listing = (entry("fresh.csv", age=59.5), entry("exactly.csv", age=60), entry("old.csv", age=61))
    assert ready_names(file_filter, *listing) == ["exactly.csv", "old.csv"]


def test_without_min_age_even_a_file_dated_in_the_future_is_ready() -> None:
    future = entry("skewed.csv", age=-300)  # the server's clock is five minutes ahead
    assert ready_names(FileFilter("*.csv"), future) == ["skewed.csv"]
    assert ready_names(FileFilter("*.csv", min_age=1), future) == []


def test_ready_defaults_to_the_current_time() -> None:
    just_written = RemoteEntry("new.csv", "/inbound/new.csv", 1, datetime.now(UTC), is_file=True, is_dir=False)
    assert FileFilter("*.csv", min_age=60).ready([just_written]) == []
    assert FileFilter("*.csv", min_age=0).ready([just_written]) == [just_written]
