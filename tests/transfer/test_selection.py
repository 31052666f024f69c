"""Which listed files an import takes: the pattern (glob or regex), regular files only, never names still
being written (temporary suffixes, the lock suffix, importers' markers), and only once old enough; and how
many one run takes: oldest first, up to ``max_files`` / ``max_bytes`` (a backlog drains over several runs)."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from airflow_provider_actito_sftp.ssh.session import RemoteEntry
from airflow_provider_actito_sftp.transfer.destinations import Destination
from airflow_provider_actito_sftp.transfer.import_state import ImportRequest
from airflow_provider_actito_sftp.transfer.importer import ImportJob, ImportResult
from airflow_provider_actito_sftp.transfer.ledger import Seen
from airflow_provider_actito_sftp.transfer.names import IN_PROGRESS_SUFFIXES, new_claim, owner_id
from airflow_provider_actito_sftp.transfer.options import AfterImport, ImportOptions
from airflow_provider_actito_sftp.transfer.records import TransferRecord
from airflow_provider_actito_sftp.transfer.selection import BatchLimit, FileFilter, not_in_ledger
from partner_sandbox.sshd import SshServer, chown_tree
from tests.conftest import ConnectionFactory
from tests.support.memory_stores import MemoryLedger

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
    assert FileFilter(".*").matches(claim.name)  # a hidden name: only a pattern naming the dot matches it
    assert ready_names(FileFilter(".*"), entry(claim.name)) == []


def test_an_unsafe_name_starting_with_a_dot_is_not_hidden_but_taken_for_the_import_to_refuse() -> None:
    assert FileFilter("*").matches("../../escape.csv")  # refused and reported by the import (test_engine)


@pytest.mark.parametrize("name", [".bash_history", ".lock", ".customers.csv", ".ssh"])
@pytest.mark.parametrize(
    ("pattern", "regex"),
    [("*", False), ("*.csv", False), ("?*", False), ("[!x]*", False), (".*", True), ("[^/]+", True)],
)
def test_hidden_files_are_left_out_by_a_pattern_that_does_not_name_the_dot(
    name: str, pattern: str, regex: bool
) -> None:
    assert not FileFilter(pattern, regex=regex).matches(name)


@pytest.mark.parametrize(
    ("pattern", "regex", "name"),
    [
        (".*", False, ".bash_history"),
        (".lock", False, ".lock"),
        (".*.csv", False, ".customers.csv"),
        (r"\.lock", True, ".lock"),
        (r"^\.[a-z]+\.csv", True, ".customers.csv"),
        (r"[.]lock", True, ".lock"),
        (r"(?:\.lock|customers-\d+\.csv)", True, ".lock"),  # named among others
    ],
)
def test_a_pattern_that_starts_with_a_literal_dot_takes_hidden_files(pattern: str, regex: bool, name: str) -> None:
    assert FileFilter(pattern, regex=regex).matches(name)
    assert not FileFilter(pattern, regex=regex).matches(name.lstrip("."))  # and it still matches in full


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


# --- one run's batch: oldest first, max_files / max_bytes (issue 21.10) ----------------------------------


def sized(name: str, size: int, age: float) -> RemoteEntry:
    return replace(entry(name, age=age), size=size)


def batch_names(limit: BatchLimit, *entries: RemoteEntry) -> tuple[list[str], list[str]]:
    batch, later = limit.take(list(entries))
    return [chosen.name for chosen in batch], [left.name for left in later]


def test_a_batch_is_taken_oldest_first_then_by_name() -> None:
    listing = (sized("b.csv", 1, 100), sized("c.csv", 1, 300), sized("a.csv", 1, 100), sized("d.csv", 1, 200))
    assert batch_names(BatchLimit(), *listing) == (["c.csv", "d.csv", "a.csv", "b.csv"], [])


def test_max_files_takes_the_oldest_and_leaves_the_rest_for_a_later_run() -> None:
    listing = [sized(f"f{index}.csv", 1, 1000 - index) for index in range(5)]
    assert batch_names(BatchLimit(max_files=2), *listing) == (["f0.csv", "f1.csv"], ["f2.csv", "f3.csv", "f4.csv"])


def test_max_bytes_counts_server_sizes_and_never_takes_files_out_of_order() -> None:
    listing = (sized("old.csv", 40, 300), sized("big.csv", 70, 200), sized("small.csv", 10, 100))
    # old (40) fits; big would make 110 > 100: the run stops there, even though small.csv would fit
    assert batch_names(BatchLimit(max_bytes=100), *listing) == (["old.csv"], ["big.csv", "small.csv"])
    assert batch_names(BatchLimit(max_bytes=110), *listing) == (["old.csv", "big.csv"], ["small.csv"])
    assert batch_names(BatchLimit(max_bytes=120), *listing) == (["old.csv", "big.csv", "small.csv"], [])


def test_a_file_larger_than_max_bytes_is_imported_alone_when_it_is_the_oldest() -> None:
    listing = (sized("huge.csv", 10_000, 300), sized("next.csv", 1, 200))
    assert batch_names(BatchLimit(max_bytes=100), *listing) == (["huge.csv"], ["next.csv"])


def test_both_limits_apply_whichever_is_reached_first() -> None:
    listing = [sized(f"f{index}.csv", 10, 1000 - index) for index in range(10)]
    assert batch_names(BatchLimit(max_files=3, max_bytes=1000), *listing)[0] == ["f0.csv", "f1.csv", "f2.csv"]
    assert batch_names(BatchLimit(max_files=8, max_bytes=25), *listing)[0] == ["f0.csv", "f1.csv"]


def test_files_the_ledger_has_are_set_apart_before_any_limit_counts() -> None:
    listing = [entry("done.csv"), entry("new.csv"), entry("changed.csv"), entry("bad\x00name.csv")]
    says = {"done.csv": Seen.SAME, "new.csv": Seen.CHANGED, "changed.csv": Seen.UNSURE}
    asked: list[str] = []

    def ledger_says(listed: RemoteEntry) -> Seen:
        asked.append(listed.name)
        return says[listed.name]

    new, already = not_in_ledger(listing, ledger_says)
    assert [listed.name for listed in already] == ["done.csv"]
    assert {listed.name: seen for listed, seen in new.items()} == {
        "new.csv": Seen.CHANGED,
        "changed.csv": Seen.UNSURE,
        "bad\x00name.csv": Seen.CHANGED,  # refused later by the import, untouched; never looked up
    }
    assert "bad\x00name.csv" not in asked


# --- against the real sshd --------------------------------------------------------------------------------


def _backlog(inbound: Path, count: int, size: int = 1000) -> dict[str, bytes]:
    """``count`` files written one minute apart, their names in another order than their age."""
    names = [f"{(index * 7) % count:03d}-export.csv" for index in range(count)]  # oldest first, names shuffled
    contents = {}
    for minute, name in enumerate(names):
        data = os.urandom(size)
        (inbound / name).write_bytes(data)
        written = time.time() - 3600 + minute * 60
        os.utime(inbound / name, (written, written))
        contents[name] = data
    return contents


def _names(records: list[TransferRecord]) -> list[str]:
    return [record.remote_path.rsplit("/", 1)[-1] for record in records]


def test_the_default_pattern_leaves_hidden_files_on_the_server_and_one_naming_them_imports_them(
    make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
) -> None:
    inbound, landing = folders["inbound"], tmp_path / "landing"
    for name in ("customers.csv", ".bash_history", ".lock"):
        (inbound / name).write_bytes(name.encode())
    chown_tree(inbound, sshd.user)
    hook = ActitoSftpHook(make_connection(locations={name: str(path) for name, path in folders.items()}))
    result = hook.import_files("inbound", landing, owner="hidden0001", after_import="delete", min_age=0)
    assert _names(result.imported) == ["customers.csv"]
    assert (result.refused, result.failed, result.remaining) == ([], [], 0)  # not refused: not taken at all
    assert sorted(os.listdir(inbound)) == [".bash_history", ".lock"]  # untouched
    assert [found.name for found in hook.find_files("inbound", min_age=0)] == []  # the sensor sees none either
    result = hook.import_files(
        "inbound", landing, owner="hidden0001", after_import="delete", min_age=0, pattern=".lock"
    )
    assert _names(result.imported) == [".lock"]
    assert (landing / ".lock").read_bytes() == b".lock"
    assert os.listdir(inbound) == [".bash_history"]


def test_a_backlog_drains_oldest_first_over_several_runs_each_file_imported_once(
    make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
) -> None:
    inbound, landing = folders["inbound"], tmp_path / "landing"
    contents = _backlog(inbound, 23)
    chown_tree(inbound, sshd.user)
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    hook = ActitoSftpHook(conn_id)
    taken: list[list[str]] = []
    while len(taken) < 10:
        result = hook.import_files(
            "inbound", landing, owner="backlog0001", after_import="delete", min_age=0, max_files=5
        )
        assert not result.failed
        assert not result.refused
        if not result.imported:
            break
        taken.append(sorted(_names(result.imported), key=list(contents).index))
        left = len(contents) - sum(len(batch) for batch in taken)
        assert (result.remaining, result.remaining_bytes) == (left, left * 1000)
        assert len(os.listdir(inbound)) == left  # the rest is untouched on the server: no marker
    assert [len(batch) for batch in taken] == [5, 5, 5, 5, 3]
    assert [name for batch in taken for name in batch] == list(contents)  # the order the partner wrote them
    assert {path.name: path.read_bytes() for path in landing.iterdir()} == contents  # each once, nothing else


def test_max_bytes_counts_server_bytes_and_a_larger_file_is_imported_alone(
    make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
) -> None:
    inbound, landing = folders["inbound"], tmp_path / "landing"
    contents = _backlog(inbound, 4, size=3000)
    oldest = next(iter(contents))
    (inbound / oldest).write_bytes(contents[oldest] * 5)  # 15,000 bytes: larger than max_bytes
    contents[oldest] *= 5
    written = time.time() - 7200
    os.utime(inbound / oldest, (written, written))
    chown_tree(inbound, sshd.user)
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    hook = ActitoSftpHook(conn_id)
    runs = []
    for _ in range(4):
        result = hook.import_files(
            "inbound", landing, owner="bytes0000001", after_import="delete", min_age=0, max_bytes=7000
        )
        runs.append(sorted(_names(result.imported), key=list(contents).index))
    names = list(contents)
    assert runs == [[oldest], names[1:3], [names[3]], []]
    assert {path.name: path.read_bytes() for path in landing.iterdir()} == contents


def test_in_keep_mode_files_already_imported_do_not_count_toward_max_files(
    make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
) -> None:
    """Kept files stay on the server: the ledger sets them apart before the limit, so the backlog moves on."""
    inbound, landing = folders["inbound"], tmp_path / "landing"
    contents = _backlog(inbound, 5)
    chown_tree(inbound, sshd.user)
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    ledger = MemoryLedger()

    async def one_run() -> ImportResult:
        async with ActitoSftpHook(conn_id).open_async_session() as session:
            request = ImportRequest(
                location="inbound",
                file_filter=FileFilter(min_age=0),
                destination=Destination(landing, owner="keep00000001"),
                options=ImportOptions(after_import=AfterImport.KEEP, max_files=2),
                owner="keep00000001",
            )
            return await ImportJob(session, request, ledger).run()

    runs = [asyncio.run(one_run()) for _ in range(4)]
    names = list(contents)
    assert [sorted(_names(result.imported), key=names.index) for result in runs] == [
        names[0:2],
        names[2:4],
        names[4:],
        [],
    ]
    assert [result.remaining for result in runs] == [3, 1, 0, 0]
    assert sorted(os.listdir(inbound)) == sorted(contents)  # kept on the server
    assert {path.name: path.read_bytes() for path in landing.iterdir()} == contents
