"""Import and export runs as the hook plans them: everything checked before connecting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from airflow_provider_actito_sftp.connection.settings import ConnectionSettings, parse_connection
from airflow_provider_actito_sftp.exceptions import NoTaskContextError, SourceUnavailableError, UnknownLocationError
from airflow_provider_actito_sftp.hooks.task_identity import task_owner
from airflow_provider_actito_sftp.hooks.transfers import ExportRun, ImportRun, NoLedger
from airflow_provider_actito_sftp.transfer.ledger import LedgerEntry, VariableDeliveryLog, VariableLedger
from airflow_provider_actito_sftp.transfer.options import AfterImport, ImportArgs, OnConflict, Overwrite
from tests.conftest import ConnectionFactory


@pytest.fixture
def settings(make_connection: ConnectionFactory) -> ConnectionSettings:
    from airflow.sdk import BaseHook

    conn_id = make_connection(
        locations={"inbound": "/in", "archive": "/archive", "outbound": "/out"}, outbound_lock_suffix=".uploading"
    )
    return parse_connection(BaseHook.get_connection(conn_id))


@pytest.fixture
def in_a_task() -> Iterator[SimpleNamespace]:
    from airflow.sdk.execution_time.context import set_current_context

    ti = SimpleNamespace(dag_id="exchange", task_id="fetch", run_id="manual__1", map_index=-1)
    with set_current_context({"ti": ti}):  # type: ignore[typeddict-item]
        yield ti


def _plan_import(settings: ConnectionSettings, target: Path, **args: object) -> ImportRun:
    options: ImportArgs = {"after_import": "delete", **args}  # type: ignore[typeddict-item]
    return ImportRun.plan(settings, "inbound", target, "owner1", None, options)


def test_an_import_request_carries_the_options(settings: ConnectionSettings, tmp_path: Path):
    run = _plan_import(
        settings,
        tmp_path,
        pattern="*.csv",
        min_age=5,
        on_conflict="rename",
        max_file_size=10,
        after_import="move",
        archive_location="archive",
    )
    try:
        request = run.request
        assert (request.location, request.owner, request.options.after_import) == (
            "inbound",
            "owner1",
            AfterImport.MOVE,
        )
        assert request.file_filter.pattern == "*.csv"
        assert request.file_filter.min_age == 5.0
        assert request.file_filter.lock_suffix == ".uploading"  # the connection's own lock suffix is in progress
        assert request.destination.owner == "owner1"
        assert request.destination.on_conflict is OnConflict.RENAME
        assert request.limits.max_file_size == 10
        assert isinstance(run.ledger, NoLedger)  # only keep imports consult a ledger
    finally:
        run.close()


def test_import_refusals_before_connecting(settings: ConnectionSettings, tmp_path: Path):
    with pytest.raises(UnknownLocationError, match="unknown location 'attic'"):
        _plan_import(settings, tmp_path, after_import="move", archive_location="attic")
    with pytest.raises(ValueError, match="on_conflict must be one of"):
        _plan_import(settings, tmp_path, on_conflict="overwrite")
    with pytest.raises(TypeError, match="unexpected keyword argument 'patern'"):
        _plan_import(settings, tmp_path, patern="*.csv")
    with pytest.raises(NoTaskContextError, match="after_import='keep'"):
        _plan_import(settings, tmp_path, after_import="keep")


def test_a_keep_import_in_a_task_uses_the_tasks_ledger(
    settings: ConnectionSettings, tmp_path: Path, in_a_task: SimpleNamespace
):
    run = ImportRun.plan(settings, "inbound", tmp_path, None, None, {})
    try:
        assert isinstance(run.ledger, VariableLedger)
        assert run.request.owner == task_owner({"ti": in_a_task})  # type: ignore[typeddict-item]
        expected = VariableLedger(settings.conn_id, "inbound", "exchange.fetch")
        assert run.ledger._key("a.csv") == expected._key("a.csv")
    finally:
        run.close()


def test_no_ledger_is_never_written():
    assert NoLedger().get("a.csv") is None
    with pytest.raises(RuntimeError, match="only after_import='keep'"):
        NoLedger().put(LedgerEntry("a.csv", 1, 0.0, "0" * 64, "/landing"))


def test_an_export_outside_a_task_keeps_no_delivery_log(settings: ConnectionSettings, tmp_path: Path):
    (tmp_path / "a.csv").write_text("a\n")
    run = ExportRun.plan(settings, "outbound", tmp_path / "*.csv", "x-{name}", "replace", None)
    assert [source.name for source in run.request.sources] == ["a.csv"]
    assert run.request.overwrite is Overwrite.REPLACE
    assert run.request.remote_name == "x-{name}"
    assert run.request.deliveries is None


def test_an_export_in_a_task_keeps_the_task_instances_delivery_log(
    settings: ConnectionSettings, tmp_path: Path, in_a_task: SimpleNamespace
):
    (tmp_path / "a.csv").write_text("a\n")
    run = ExportRun.plan(settings, "outbound", tmp_path / "a.csv", None, "fail", None)
    assert isinstance(run.request.deliveries, VariableDeliveryLog)
    assert run.request.overwrite is Overwrite.FAIL


def test_export_refusals_before_connecting(settings: ConnectionSettings, tmp_path: Path):
    with pytest.raises(ValueError, match="overwrite must be one of 'fail', 'replace'"):
        ExportRun.plan(settings, "outbound", tmp_path, None, "sometimes", None)
    with pytest.raises(UnknownLocationError):
        ExportRun.plan(settings, "outbox", tmp_path, None, "fail", None)
    with pytest.raises(SourceUnavailableError, match="matches no file"):
        ExportRun.plan(settings, "outbound", tmp_path / "*.csv", None, "fail", None)
    with pytest.raises(SourceUnavailableError, match="is not a file"):
        ExportRun.plan(settings, "outbound", tmp_path, None, "fail", None)
