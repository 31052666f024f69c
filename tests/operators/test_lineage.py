"""OpenLineage: the datasets of a try (pure functions), and the events the OpenLineage provider's listener really
emits for real imports and exports against the test sshd (dag.test() in a child process, a file transport)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_actito_sftp.operators.lineage import (
    MAX_DATASETS_PER_SIDE,
    DatasetName,
    MovedFiles,
    bounded,
    lineage_names,
    local_dataset,
    operator_lineage,
    partner_namespace,
)
from airflow_provider_actito_sftp.transfer.records import Direction, Status, TransferRecord
from partner_sandbox.dag_files import write_dag
from partner_sandbox.sshd import SshServer, chown_tree
from tests.conftest import ConnectionFactory

HOST = "sftp.partner.example"
HERE = f"file://{socket.gethostname()}"
SFTP = f"sftp://{HOST}:2222"


def record(remote_path: str, local_path: str, direction: Direction = Direction.DOWNLOAD) -> TransferRecord:
    return TransferRecord(
        conn_id="actito_test",
        location="inbound",
        remote_path=remote_path,
        local_path=local_path,
        direction=direction,
        status=Status.SUCCESS,
    )


def moved(direction: Direction, records: list[TransferRecord]) -> MovedFiles:
    return MovedFiles(direction, HOST, 2222, tuple(records))


# --- naming ----------------------------------------------------------------------------------------------


def test_the_partner_namespace_is_sftp_host_and_port():
    assert partner_namespace("sftp.partner.example", 22) == "sftp://sftp.partner.example:22"
    assert partner_namespace("10.0.0.7", 2222) == "sftp://10.0.0.7:2222"
    assert partner_namespace("2001:db8::1", 22) == "sftp://[2001:db8::1]:22"


def test_a_local_file_is_named_by_its_absolute_path_on_this_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    assert local_dataset("/data/landing/customers.csv", "worker-1") == DatasetName(
        "file://worker-1", "/data/landing/customers.csv"
    )
    monkeypatch.chdir(tmp_path)
    assert local_dataset("exports/segment.csv", "worker-1") == DatasetName(
        "file://worker-1", str(tmp_path / "exports" / "segment.csv")
    )
    assert local_dataset("file:///data/segment.csv", "worker-1") == DatasetName("file://worker-1", "/data/segment.csv")


def test_object_storage_is_named_by_scheme_bucket_and_key_as_object_storage_path_does():
    from airflow.sdk import ObjectStoragePath

    path = ObjectStoragePath("s3://aws_default@landing-bucket/actito/customers.csv")
    assert str(path) == "s3://aws_default@landing-bucket/actito/customers.csv"  # the record keeps this text
    expected = DatasetName("s3://landing-bucket", "actito/customers.csv")
    assert local_dataset(str(path), "worker-1") == expected
    assert expected == (path.namespace, path.key)  # the SDK's own OpenLineage naming of the path
    assert local_dataset("gs://bucket/customers.csv", "worker-1") == DatasetName("gs://bucket", "customers.csv")


def test_an_import_reads_the_partner_files_and_writes_local_ones_an_export_the_other_way():
    imported = moved(Direction.DOWNLOAD, [record("/in/a.csv.pgp", "/landing/a.csv")])
    assert lineage_names(imported, "worker-1") == (
        [DatasetName(SFTP, "/in/a.csv.pgp")],
        [DatasetName("file://worker-1", "/landing/a.csv")],
    )
    exported = moved(Direction.UPLOAD, [record("/out/b.csv", "/data/b.csv", Direction.UPLOAD)])
    assert lineage_names(exported, "worker-1") == (
        [DatasetName("file://worker-1", "/data/b.csv")],
        [DatasetName(SFTP, "/out/b.csv")],
    )


# --- the bound -------------------------------------------------------------------------------------------


def test_up_to_the_bound_each_file_is_a_dataset():
    records = [record(f"/in/f{i}.csv", f"/landing/f{i}.csv") for i in range(MAX_DATASETS_PER_SIDE)]
    inputs, outputs = lineage_names(moved(Direction.DOWNLOAD, records), "worker-1")
    assert len(inputs) == len(outputs) == MAX_DATASETS_PER_SIDE
    assert inputs[-1] == DatasetName(SFTP, f"/in/f{MAX_DATASETS_PER_SIDE - 1}.csv")


def test_past_the_bound_each_side_names_its_folder_instead():
    records = [
        record(f"/in/f{i}.csv", f"/landing/f{i}.csv", Direction.UPLOAD) for i in range(MAX_DATASETS_PER_SIDE + 1)
    ]
    inputs, outputs = lineage_names(moved(Direction.UPLOAD, records), "worker-1")
    assert inputs == [DatasetName("file://worker-1", "/landing")]
    assert outputs == [DatasetName(SFTP, "/in")]


def test_the_bound_holds_for_files_from_more_folders_than_it():
    names = [DatasetName("s3://bucket", f"day{i}/f.csv") for i in range(3 * MAX_DATASETS_PER_SIDE)]
    folders = bounded(names)
    assert len(folders) == MAX_DATASETS_PER_SIDE
    assert folders[0] == DatasetName("s3://bucket", "day0")
    assert bounded([DatasetName("s3://bucket", f"f{i}.csv") for i in range(5)], limit=2) == [
        DatasetName("s3://bucket", "/")
    ]


# --- the method ------------------------------------------------------------------------------------------


def test_nothing_moved_nothing_named():
    from airflow_provider_actito_sftp.operators import ActitoSftpExportOperator, ActitoSftpImportOperator

    operator = ActitoSftpImportOperator(task_id="import", location="inbound", destination="/tmp/landing")
    lineage = operator.get_openlineage_facets_on_complete(None)  # never ran: nothing said
    assert (lineage.inputs, lineage.outputs) == ([], [])
    operator.moved_files = moved(Direction.DOWNLOAD, [])  # ran, moved nothing
    lineage = operator.get_openlineage_facets_on_complete(None)
    assert (lineage.inputs, lineage.outputs) == ([], [])
    exporter = ActitoSftpExportOperator(task_id="export", location="outbound", source="/tmp/segment.csv")
    exporter.moved_files = moved(Direction.UPLOAD, [record("/out/b.csv", "/tmp/b.csv", Direction.UPLOAD)])
    lineage = exporter.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.outputs] == [(SFTP, "/out/b.csv")]
    assert [(d.namespace, d.name) for d in lineage.inputs] == [(HERE, "/tmp/b.csv")]
    assert operator_lineage(None).inputs == []


# --- events the provider's listener emits -----------------------------------------------------------------

# The child process: a fresh Airflow (the OpenLineage plugin decides at import whether it is enabled), dag.test()
# of the DAG file argv[1] in the test session's AIRFLOW_HOME; writes the task states and the OpenLineage modules it
# imported to argv[3] (its stdout carries Airflow's logs). With argv[2] == "blocked",
# the OpenLineage provider and client cannot be imported, as if they were not installed.
_CHILD = """
import importlib.abc, importlib.metadata, json, sys

import importlib_metadata


class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "openlineage" or name.startswith("airflow.providers.openlineage"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def without_openlineage(distributions):
    def installed(**kwargs):
        for dist in distributions(**kwargs):
            name = (dist.metadata["Name"] or "").lower().replace("_", "-")
            if not name.startswith(("openlineage", "apache-airflow-providers-openlineage")):
                yield dist
    return installed


if sys.argv[2] == "blocked":  # neither importable nor listed as installed (Airflow finds providers by their dists)
    sys.meta_path.insert(0, NotInstalled())
    for module in (importlib.metadata, importlib_metadata):
        module.distributions = without_openlineage(module.distributions)

from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
[dag] = bag.dags.values()
run = dag.test()
states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
modules = sorted(m for m in sys.modules if m.startswith(("openlineage", "airflow.providers.openlineage")))
with open(sys.argv[3], "w") as out:
    json.dump([states, modules], out)
"""


def run_with_openlineage(dag_file: Path, events: Path, *, installed: bool = True) -> tuple[dict[str, str], list[str]]:
    """Run the DAG in a child process with OpenLineage's file transport writing to ``events``; return the task
    states and the OpenLineage modules it imported."""
    env = {
        **os.environ,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(events), "append": True}),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "actito-tests",
    }
    result = events.with_name("child-result.json")
    args = [sys.executable, "-c", _CHILD, str(dag_file), "installed" if installed else "blocked", str(result)]
    child = subprocess.run(args, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert child.returncode == 0, child.stderr[-5000:]
    states, modules = json.loads(result.read_text())
    return states, modules


def task_events(events: Path, dag_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The task-level events of a DAG by (task id, event type): its last one of each."""
    found = {}
    for line in events.read_text().splitlines():
        event = json.loads(line)
        job = event["job"]["name"]
        if job.startswith(f"{dag_id}."):
            found[(job.removeprefix(f"{dag_id}."), event["eventType"])] = event
    return found


def datasets(event: dict[str, Any], side: str) -> set[tuple[str, str]]:
    return {(dataset["namespace"], dataset["name"]) for dataset in event[side]}


def test_the_listener_emits_the_files_each_try_moved(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    names = ("customers.csv", "orders.csv")
    for name in names:
        (folders["inbound"] / name).write_text(f"{name}\n1\n")
    (folders["archive"] / "good.csv").write_text("good\n")
    (folders["archive"] / "clash.csv").write_text("clash\n")
    chown_tree(folders["inbound"], sshd.user)
    chown_tree(folders["archive"], sshd.user)
    landing, other_landing = tmp_path / "landing", tmp_path / "other-landing"
    other_landing.mkdir()
    (other_landing / "clash.csv").write_text("already here\n")  # on_conflict="fail": clash.csv is refused
    source = tmp_path / "segment.csv"
    source.write_text("id\n1\n")
    dag_file = write_dag(
        "lineage_events",
        f"""
        ActitoSftpImportOperator(task_id="import", conn_id={conn_id!r}, location="inbound", min_age=0,
                                 destination={str(landing)!r}, pattern="*.csv")
        ActitoSftpImportOperator(task_id="import_refused", conn_id={conn_id!r}, location="archive", min_age=0,
                                 destination={str(other_landing)!r}, pattern="*.csv")
        ActitoSftpImportOperator(task_id="import_nothing", conn_id={conn_id!r}, location="quarantine", min_age=0,
                                 destination={str(tmp_path / "empty")!r})
        ActitoSftpExportOperator(task_id="export", conn_id={conn_id!r}, location="outbound", source={str(source)!r})
        """,
    )
    events = tmp_path / "events.jsonl"
    states, _ = run_with_openlineage(dag_file, events)
    assert states == {"import": "success", "import_refused": "failed", "import_nothing": "success", "export": "success"}
    assert (folders["outbound"] / "segment.csv").read_text() == "id\n1\n"
    emitted = task_events(events, "lineage_events")
    partner = f"sftp://{sshd.host}:{sshd.port}"
    here = f"file://{socket.gethostname()}"

    imported = emitted[("import", "COMPLETE")]
    assert datasets(imported, "inputs") == {(partner, f"{folders['inbound']}/{name}") for name in names}
    assert datasets(imported, "outputs") == {(here, str(landing / name)) for name in names}

    exported = emitted[("export", "COMPLETE")]
    assert datasets(exported, "inputs") == {(here, str(source))}
    assert datasets(exported, "outputs") == {(partner, f"{folders['outbound']}/segment.csv")}

    # A failed try names what it moved before failing, and not the file it refused.
    refused = emitted[("import_refused", "FAIL")]
    assert datasets(refused, "inputs") == {(partner, f"{folders['archive']}/good.csv")}
    assert datasets(refused, "outputs") == {(here, str(other_landing / "good.csv"))}

    nothing = emitted[("import_nothing", "COMPLETE")]
    assert (nothing["inputs"], nothing["outputs"]) == ([], [])


def test_without_the_openlineage_provider_nothing_is_emitted_and_the_export_works(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    source = tmp_path / "segment.csv"
    source.write_text("id\n1\n")
    dag_file = write_dag(
        "lineage_not_installed",
        f"""
        ActitoSftpExportOperator(task_id="export", conn_id={conn_id!r}, location="outbound", source={str(source)!r})
        """,
    )
    events = tmp_path / "events.jsonl"
    states, modules = run_with_openlineage(dag_file, events, installed=False)
    assert states == {"export": "success"}
    assert (folders["outbound"] / "segment.csv").read_text() == "id\n1\n"
    assert modules == []
    assert not events.exists()
