"""The keep-mode import ledger and the export delivery log: how a listed file compares with its entry, and
how entries are stored (one Airflow Variable per file, kept apart per connection, location and consumer).

Variables can only be written from inside a task, so the Variable-backed stores are written by one real
task (``dag.test()``) and read back here through the same classes, from the metadata DB as a server
process reads it (``_AIRFLOW_PROCESS_CONTEXT=server``; elsewhere only environment variables are searched).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.transfer.ledger import (
    NS,
    Delivery,
    DeliveryLog,
    Ledger,
    LedgerEntry,
    Seen,
    VariableDeliveryLog,
    VariableLedger,
)
from tests.support.dags import run_dag, task_states
from tests.support.memory_stores import MemoryDeliveries, MemoryLedger

SECOND = 1_800_000_000  # a whole-second modification time, as OpenSSH lists it


def listed_at(seconds: int, *, size: int = 100, mtime_ns: int = 0, imported_at: float = 0.0) -> LedgerEntry:
    return LedgerEntry(
        name="daily.csv",
        size=size,
        mtime=float(seconds),
        sha256="ab" * 32,
        destination="/data/landing/daily.csv",
        mtime_ns=mtime_ns,
        imported_at=imported_at,
    )


# How a listed file compares with its ledger entry.


def test_another_size_or_second_is_a_changed_file() -> None:
    recorded = listed_at(SECOND, mtime_ns=SECOND * NS)
    assert recorded.compare(101, SECOND * NS) is Seen.CHANGED
    assert recorded.compare(100, (SECOND + 1) * NS) is Seen.CHANGED
    assert recorded.compare(100, (SECOND - 1) * NS) is Seen.CHANGED


def test_the_same_size_and_time_long_after_the_import_is_the_same_file() -> None:
    recorded = listed_at(SECOND, mtime_ns=SECOND * NS, imported_at=SECOND + 3600)
    assert recorded.compare(100, SECOND * NS) is Seen.SAME


@pytest.mark.parametrize("imported_after", [0.0, 1.5, 2.9])
def test_a_whole_second_listing_imported_within_that_second_is_unsure(imported_after: float) -> None:
    recorded = listed_at(SECOND, mtime_ns=SECOND * NS, imported_at=SECOND + imported_after)
    assert recorded.compare(100, SECOND * NS) is Seen.UNSURE


def test_the_clock_slack_ends_three_seconds_after_the_modification() -> None:
    recorded = listed_at(SECOND, mtime_ns=SECOND * NS, imported_at=SECOND + 3.0)
    assert recorded.compare(100, SECOND * NS) is Seen.SAME


def test_sub_second_times_tell_rewrites_apart_without_doubt() -> None:
    precise = SECOND * NS + 500_000_000
    recorded = listed_at(SECOND, mtime_ns=precise, imported_at=SECOND + 0.6)
    assert recorded.compare(100, precise) is Seen.SAME
    assert recorded.compare(100, precise + 1) is Seen.CHANGED


def test_entries_of_older_versions_compare_by_whole_seconds() -> None:
    older = replace(listed_at(SECOND), mtime=SECOND + 0.7)  # no mtime_ns, no imported_at
    assert older.compare(100, SECOND * NS) is Seen.SAME
    assert older.compare(100, SECOND * NS + 123) is Seen.SAME
    assert older.compare(100, (SECOND + 1) * NS) is Seen.CHANGED


# The in-memory stores the engine tests use behave like the Variable-backed ones.


def public_methods(cls: type) -> set[str]:
    inherited = {name: value for base in reversed(cls.__mro__) for name, value in vars(base).items()}
    return {name for name, value in inherited.items() if callable(value) and not name.startswith("_")}


def test_the_in_memory_stores_offer_exactly_the_methods_of_the_real_ones() -> None:
    assert public_methods(Ledger) == public_methods(VariableLedger) == public_methods(MemoryLedger) == {"get", "put"}
    assert public_methods(DeliveryLog) == public_methods(VariableDeliveryLog) == public_methods(MemoryDeliveries)


def test_the_in_memory_ledger_keeps_the_last_entry_per_name() -> None:
    ledger = MemoryLedger()
    assert ledger.get("daily.csv") is None
    ledger.put(listed_at(SECOND))
    ledger.put(listed_at(SECOND + 60, size=7))
    assert ledger.get("daily.csv") == listed_at(SECOND + 60, size=7)
    assert ledger.get("weekly.csv") is None


def test_the_in_memory_delivery_log_keeps_the_last_delivery_per_name() -> None:
    log = MemoryDeliveries()
    assert log.get("segment.csv") is None
    log.put(Delivery("segment.csv", "cd" * 32, plaintext_bytes=10, wire_bytes=40, pgp_fingerprint="F" * 40))
    log.put(Delivery("segment.csv", "ef" * 32, plaintext_bytes=11, wire_bytes=41))
    assert log.get("segment.csv") == Delivery("segment.csv", "ef" * 32, plaintext_bytes=11, wire_bytes=41)


# Variable-backed stores, written by a real task.

CONN = "ledger_conn"
LONG_CONN = "ledger_conn_" + "x" * 150  # connection ids may be long; Variable keys may not (250)
# Ids that earlier versions mixed up with CONN or LONG_CONN: a prefix match, a case-insensitive LIKE, 100 characters
NEIGHBOURS = (f"{CONN}:eu", CONN.upper(), LONG_CONN + "_twin")
CONSUMER = "imports.keep"
DAILY = listed_at(SECOND, mtime_ns=SECOND * NS, imported_at=SECOND + 30)
WEEKLY_FIRST = replace(DAILY, name="weekly.csv", size=1)
WEEKLY_AGAIN = replace(DAILY, name="weekly.csv", size=2)
ARCHIVED_DAILY = replace(DAILY, size=999, destination="/data/archive/daily.csv")
UNDECODABLE = replace(DAILY, name="caf\udce9.csv")  # a latin-1 byte in a name, as asyncssh decodes it
DELIVERY = Delivery("daily.csv", "cd" * 32, plaintext_bytes=10, wire_bytes=40, pgp_fingerprint="F" * 40)


def writing_task_body() -> str:
    """The body of a DAG whose only task writes the records above through the Variable-backed stores."""
    return f"""
    from airflow.sdk import task
    from airflow_provider_actito_sftp.transfer.ledger import (
        Delivery, LedgerEntry, VariableDeliveryLog, VariableLedger,
    )

    @task
    def write_records() -> None:
        ledger = VariableLedger({CONN!r}, "inbound", {CONSUMER!r})
        for entry in ({DAILY!r}, {WEEKLY_FIRST!r}, {WEEKLY_AGAIN!r}, {UNDECODABLE!r}):
            ledger.put(entry)
        VariableLedger({CONN!r}, "archive", {CONSUMER!r}).put({ARCHIVED_DAILY!r})
        VariableLedger({LONG_CONN!r}, "inbound", {CONSUMER!r}).put({DAILY!r})
        VariableDeliveryLog({CONN!r}, "inbound", {CONSUMER!r}).put({DELIVERY!r})
        for neighbour in {NEIGHBOURS!r}:
            VariableLedger(neighbour, "inbound", {CONSUMER!r}).put({ARCHIVED_DAILY!r})

    write_records()
    """


@pytest.fixture(scope="module")
def written(airflow_db: Path) -> datetime:
    """Run the writing task once; return when it started."""
    started = datetime.now(UTC)
    run = run_dag("ledger_records", writing_task_body())
    assert task_states(run) == {"write_records": "success"}
    return started


@pytest.fixture(autouse=True)
def read_from_the_metadata_db(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")


def stored_variables() -> dict[str, str]:
    """Every Variable this module's task wrote: key -> description."""
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(Variable.key, Variable.description).filter(Variable.key.like("actito_sftp_%")).all()
    return {key: description for key, description in rows if description and f"connection {CONN!r}" in description}


def unstamped(entry: LedgerEntry | None) -> LedgerEntry | None:
    """The entry without its ``updated`` stamp (the time it was written, checked on its own)."""
    return None if entry is None else replace(entry, updated="")


def test_an_entry_reads_back_as_written_with_the_time_it_was_recorded(written: datetime) -> None:
    entry = VariableLedger(CONN, "inbound", CONSUMER).get("daily.csv")
    assert entry is not None
    assert unstamped(entry) == DAILY
    assert written <= datetime.fromisoformat(entry.updated) <= datetime.now(UTC)


def test_a_later_entry_for_the_same_name_replaces_the_earlier_one(written: datetime) -> None:
    assert unstamped(VariableLedger(CONN, "inbound", CONSUMER).get("weekly.csv")) == WEEKLY_AGAIN


def test_names_that_are_not_valid_utf8_round_trip(written: datetime) -> None:
    assert unstamped(VariableLedger(CONN, "inbound", CONSUMER).get(UNDECODABLE.name)) == UNDECODABLE


def test_ledgers_are_kept_apart_per_consumer_location_and_connection(written: datetime) -> None:
    assert VariableLedger(CONN, "inbound", "imports.other").get("daily.csv") is None
    assert VariableLedger("another_conn", "inbound", CONSUMER).get("daily.csv") is None
    archived = VariableLedger(CONN, "archive", CONSUMER).get("daily.csv")
    assert archived is not None
    assert (archived.size, archived.destination) == (999, "/data/archive/daily.csv")
    assert unstamped(VariableLedger(LONG_CONN, "inbound", CONSUMER).get("daily.csv")) == DAILY


@pytest.mark.parametrize("neighbour", NEIGHBOURS)
def test_connections_whose_ids_look_alike_keep_their_own_ledgers(written: datetime, neighbour: str) -> None:
    mine = CONN if neighbour != LONG_CONN + "_twin" else LONG_CONN
    assert unstamped(VariableLedger(neighbour, "inbound", CONSUMER).get("daily.csv")) == ARCHIVED_DAILY
    assert unstamped(VariableLedger(mine, "inbound", CONSUMER).get("daily.csv")) == DAILY


def test_an_entry_under_an_earlier_versions_key_is_still_found(airflow_db: Path) -> None:
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    from airflow_provider_actito_sftp.connection.variable_keys import StateKind, legacy_key, record_digest

    old = legacy_key(StateKind.LEDGER, "legacy_conn", "inbound", record_digest(CONSUMER, "old.csv"))
    assert old == f"actito_sftp_ledger:legacy_conn:inbound:{record_digest(CONSUMER, 'old.csv')}"
    with create_session() as session:
        session.add(Variable(key=old, val=json.dumps(asdict(replace(DAILY, name="old.csv")))))
    assert unstamped(VariableLedger("legacy_conn", "inbound", CONSUMER).get("old.csv")) == replace(
        DAILY, name="old.csv"
    )
    assert VariableLedger("legacy_conn", "archive", CONSUMER).get("old.csv") is None
    assert VariableLedger("legacy_conn:eu", "inbound", CONSUMER).get("old.csv") is None


def test_a_delivery_reads_back_for_its_owner_only(written: datetime) -> None:
    assert VariableDeliveryLog(CONN, "inbound", CONSUMER).get("daily.csv") == DELIVERY
    assert VariableDeliveryLog(CONN, "inbound", "another.owner").get("daily.csv") is None
    assert VariableDeliveryLog(CONN, "outbound", CONSUMER).get("daily.csv") is None


def test_one_variable_per_file_under_a_documented_key(written: datetime) -> None:
    stored = stored_variables()
    key = re.compile(
        r"actito_sftp_(?P<kind>ledger|delivered)@(?P<conn>[^@]+)@(?P<location>inbound|archive)@[0-9a-f]{40}"
    )
    matches = [key.fullmatch(name) for name in stored]
    assert all(matches), sorted(stored)
    kinds = sorted((match["kind"], match["location"], match["conn"]) for match in matches if match)
    assert kinds == [
        ("delivered", "inbound", CONN),
        ("ledger", "archive", CONN),
        ("ledger", "inbound", CONN),  # daily.csv
        ("ledger", "inbound", CONN),  # weekly.csv, written twice
        ("ledger", "inbound", CONN),  # the undecodable name
    ]
    assert {stored[name] for name in stored} == {
        f"actito-sftp import ledger of connection {CONN!r}, location 'inbound'",
        f"actito-sftp import ledger of connection {CONN!r}, location 'archive'",
        f"actito-sftp export log of connection {CONN!r}, location 'inbound'",
    }


def test_ids_that_are_long_or_not_plain_are_named_by_their_digest(written: datetime) -> None:
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        keys = [key for (key,) in session.query(Variable.key).filter(Variable.key.like("actito_sftp_ledger@~%"))]
    digests = {key.split("@")[1] for key in keys}
    assert len(digests) == 3  # LONG_CONN, its twin and "ledger_conn:eu": each its own
    assert all(re.fullmatch(r"~[0-9a-f]{40}", digest) for digest in digests)
    assert all(len(key) <= 250 for key in keys)


def test_reading_a_name_never_recorded_gives_none(airflow_db: Path) -> None:
    assert VariableLedger(CONN, "inbound", CONSUMER).get("never-imported.csv") is None
    assert VariableDeliveryLog(CONN, "inbound", CONSUMER).get("never-delivered.csv") is None
