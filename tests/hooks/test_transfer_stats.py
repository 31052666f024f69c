"""The transfer metrics, received by a real StatsD listener (a UDP socket on 127.0.0.1) from Airflow's own stats:
in a task run by ``dag.test()`` in a process of its own (as a worker runs it), and from the hook called here
with Airflow's stats set up as the task runner sets them up."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from statsd import StatsClient

from airflow_provider_actito_sftp.exceptions import ExportRefusedError
from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from airflow_provider_actito_sftp.hooks.transfer_stats import (
    MAX_CONN_PART,
    METRICS,
    Kind,
    markdown_table,
    stat_conn_id,
    stat_name,
)
from airflow_provider_actito_sftp.transfer.records import Direction
from partner_sandbox.dag_files import write_dag
from partner_sandbox.sshd import SshServer, chown_tree
from tests.conftest import ConnectionFactory

PREFIX = "actito_metrics_test"
REPO = Path(__file__).parents[2]


@dataclass(frozen=True)
class Packet:
    """One StatsD line: ``name:value|type``."""

    name: str
    value: float
    type: str


class StatsdListener:
    """A StatsD server reduced to its socket: what arrives, as :class:`Packet`s."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]

    def env(self, **more: str) -> dict[str, str]:
        """Airflow's settings sending its metrics here."""
        return {
            "AIRFLOW__METRICS__STATSD_ON": "True",
            "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
            "AIRFLOW__METRICS__STATSD_PORT": str(self.port),
            "AIRFLOW__METRICS__STATSD_PREFIX": PREFIX,
            **more,
        }

    def received(self) -> list[Packet]:
        """Every packet queued so far (the senders are done: loopback delivers at once; 1 s of quiet ends it)."""
        packets: list[Packet] = []
        self.sock.settimeout(1.0)
        while True:
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                return packets
            for line in data.decode().splitlines():
                name, rest = line.rsplit(":", 1)
                value, kind = rest.split("|")[:2]
                packets.append(Packet(name, float(value), kind))

    def ours(self) -> dict[str, Packet]:
        """The provider's packets by name, each name once."""
        packets = [packet for packet in self.received() if ".actito_sftp." in packet.name]
        by_name = {packet.name: packet for packet in packets}
        assert len(by_name) == len(packets), packets
        return by_name


@pytest.fixture
def listener() -> Iterator[StatsdListener]:
    server = StatsdListener()
    yield server
    server.sock.close()


AirflowStats = Callable[..., StatsdListener]


@pytest.fixture
def airflow_statsd(monkeypatch: pytest.MonkeyPatch, listener: StatsdListener) -> Iterator[AirflowStats]:
    """Set this process's Airflow stats up to send to the listener as the task runner does (Airflow's own factory,
    from the ``[metrics]`` settings, with more settings as keywords), and put them back as they were afterwards."""
    from airflow.sdk._shared.observability.metrics import stats
    from airflow.sdk._shared.observability.metrics.base_stats_logger import NoStatsLogger
    from airflow.sdk.observability.metrics import stats_utils

    before = stats._factory, stats._export_legacy_names

    def start(**settings: str) -> StatsdListener:
        for name, value in listener.env(**settings).items():
            monkeypatch.setenv(name, value)
        stats.initialize(factory=stats_utils.get_stats_factory(), export_legacy_names=False)
        return listener

    yield start
    factory, legacy = before  # Airflow makes no backend without a factory, as with NoStatsLogger
    stats.initialize(factory=factory or NoStatsLogger, export_legacy_names=legacy)


def _name(direction: Direction, conn_id: str, measure: str) -> str:
    [metric] = [metric for metric in METRICS if metric.measure == measure]
    return f"{PREFIX}.{stat_name(direction, conn_id, metric)}"


def _values(packets: dict[str, Packet], direction: Direction, conn_id: str) -> dict[str, tuple[float, str]]:
    """The measures of one connection and direction: ``{measure: (value, type)}``."""
    found = {}
    for metric in METRICS:
        packet = packets.get(_name(direction, conn_id, metric.measure))
        if packet is not None:
            found[metric.measure] = (packet.value, packet.type)
    return found


# --- the one declaration --------------------------------------------------------------------------------


def test_the_readme_lists_every_metric_as_declared():
    text = (REPO / "README.md").read_text()
    table = text.split("<!-- transfer-metrics:", 1)[1].split("-->", 1)[1].split("<!-- /transfer-metrics -->")[0]
    assert table.strip() == markdown_table()
    assert [metric.measure for metric in METRICS] == ["files", "bytes", "wire_bytes", "refused", "failed", "duration"]
    assert [metric.kind for metric in METRICS].count(Kind.TIMER) == 1


@pytest.mark.parametrize(
    ("conn_id", "part"),
    [
        ("acme_sftp", "acme_sftp"),
        ("acme.partner-1", "acme__partner-1"),  # a dot would add a level to the name
        ("acme sftp/é", "acme_sftp__"),
    ],
)
def test_a_connection_id_becomes_one_valid_part_of_the_name(conn_id: str, part: str):
    from airflow.sdk._shared.observability.metrics.validators import stat_name_default_handler, stat_name_otel_handler

    assert stat_conn_id(conn_id) == part
    for direction in Direction:
        for metric in METRICS:
            name = stat_name(direction, conn_id, metric)
            assert name == f"actito_sftp.{direction}.{part}.{metric.measure}"
            assert stat_name_default_handler(name) == name  # StatsD's check
            assert stat_name_otel_handler("airflow", name) == f"airflow.{name}"  # OpenTelemetry's


def test_a_long_connection_id_is_cut_and_told_apart_by_a_hash():
    from airflow.sdk._shared.observability.metrics.validators import stat_name_default_handler, stat_name_otel_handler

    first, second = "a." * 125, "a." * 124 + "b"  # 250 characters: the longest id Airflow takes
    assert len(stat_conn_id(first)) == len(stat_conn_id(second)) == MAX_CONN_PART
    assert stat_conn_id(first) != stat_conn_id(second)
    for conn_id in (first, second):
        name = stat_name(Direction.UPLOAD, conn_id, METRICS[2])  # the longest measure
        assert stat_name_default_handler(name) == name
        assert stat_name_otel_handler("airflow", name) == f"airflow.{name}"


# --- sent by a task, from its own process -----------------------------------------------------------------


def test_a_task_calling_the_hook_sends_each_direction_s_metrics_once_under_airflow_s_prefix(
    airflow_db: Path,
    pgp_connection: Any,
    sshd: SshServer,
    folders: dict[str, Path],
    tmp_path: Path,
    listener: StatsdListener,
):
    """A PGP import (one file imported, one plaintext file refused) and the export of what it imported, in a
    TaskFlow DAG run by ``dag.test()`` in a process whose Airflow sends its metrics to the listener."""
    conn_id, partner, our_public = pgp_connection
    plaintext = tmp_path / "customers.csv"
    plaintext.write_text("id;email\n" + "".join(f"{i};user{i}@example.com\n" for i in range(2000)))
    partner.encrypt_to(our_public, plaintext, folders["inbound"] / "customers.csv.pgp")
    (folders["inbound"] / "plain.csv").write_text("id;email\n1;leak@example.com\n")  # PGP required: refused
    chown_tree(folders["inbound"], sshd.user)
    encrypted_size = (folders["inbound"] / "customers.csv.pgp").stat().st_size
    landing = tmp_path / "landing"
    dag_file = write_dag(
        "transfer_stats",
        f"""
        from airflow.sdk import task
        from airflow_provider_actito_sftp.hooks import ActitoSftpHook

        @task
        def fetch() -> int:
            hook = ActitoSftpHook({conn_id!r})
            return len(hook.import_files("inbound", {str(landing)!r}, min_age=0, after_import="delete").imported)

        @task
        def send(imported: int) -> int:
            return len(ActitoSftpHook({conn_id!r}).export_files("outbound", {str(landing / "*.csv")!r}).uploaded)

        send(fetch())
        """,
    )
    child = subprocess.run(
        [sys.executable, "-m", "tests.support.metrics_child", str(dag_file), "transfer_stats", conn_id],
        env={**os.environ, **listener.env()},
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=240,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    assert (landing / "customers.csv").read_bytes() == plaintext.read_bytes()
    uploaded = folders["outbound"] / "customers.csv.pgp"
    assert uploaded.exists(), child.stderr[-3000:]

    packets = listener.ours()
    assert all(name.startswith(f"{PREFIX}.actito_sftp.") for name in packets)
    download = _values(packets, Direction.DOWNLOAD, conn_id)
    assert {measure: value for measure, (value, kind) in download.items() if kind == "c"} == {
        "files": 1,
        "bytes": plaintext.stat().st_size,
        "wire_bytes": encrypted_size,
        "refused": 1,
        "failed": 0,
    }
    assert download["duration"][1] == "ms"
    assert download["duration"][0] > 0
    upload = _values(packets, Direction.UPLOAD, conn_id)
    assert {measure: value for measure, (value, kind) in upload.items() if kind == "c"} == {
        "files": 1,
        "bytes": plaintext.stat().st_size,
        "wire_bytes": uploaded.stat().st_size,  # encrypted to the partner's key
        "refused": 0,
        "failed": 0,
    }
    assert upload["duration"][1] == "ms"
    assert len(packets) == 2 * len(METRICS)  # once per call, nothing else


# --- from the hook called here ------------------------------------------------------------------------------


@pytest.fixture
def conn_id(make_connection: ConnectionFactory, folders: dict[str, Path]) -> str:
    return make_connection(locations={name: str(path) for name, path in folders.items()})


def test_an_export_that_raises_is_one_failed_request_still_timed_and_tagged(
    airflow_statsd: AirflowStats,
    conn_id: str,
    sshd: SshServer,
    folders: dict[str, Path],
    tmp_path: Path,
):
    listener = airflow_statsd(AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED="True")  # tags written into the names
    (folders["outbound"] / "report.csv").write_text("old\n")
    chown_tree(folders["outbound"], sshd.user)
    (tmp_path / "report.csv").write_text("new\n")
    with pytest.raises(ExportRefusedError):
        ActitoSftpHook(conn_id).export_files("outbound", tmp_path / "report.csv")
    assert (folders["outbound"] / "report.csv").read_text() == "old\n"
    packets = listener.received()
    tags = f",conn_id={conn_id},direction=upload"
    sent = {packet.name: (packet.value, packet.type) for packet in packets if ".actito_sftp." in packet.name}
    base = f"{PREFIX}.actito_sftp.upload.{conn_id}"
    assert {name: value for name, value in sent.items() if value[1] == "c"} == {
        f"{base}.files{tags}": (0, "c"),
        f"{base}.bytes{tags}": (0, "c"),
        f"{base}.wire_bytes{tags}": (0, "c"),
        f"{base}.refused{tags}": (0, "c"),
        f"{base}.failed{tags}": (1, "c"),
    }
    assert sent[f"{base}.duration{tags}"][1] == "ms"


def test_a_long_dotted_connection_id_is_sent_under_its_cut_name(
    make_connection: ConnectionFactory, airflow_statsd: AirflowStats, folders: dict[str, Path], tmp_path: Path
):
    listener = airflow_statsd()
    long_id = make_connection(
        "acme.partner." + "x" * 200, locations={name: str(path) for name, path in folders.items()}
    )
    result = ActitoSftpHook(long_id).import_files("inbound", tmp_path, after_import="delete", owner="script")
    assert result.imported == []
    download = _values(listener.ours(), Direction.DOWNLOAD, long_id)
    assert set(download) == {metric.measure for metric in METRICS}
    assert download["files"] == (0, "c")
    assert _name(Direction.DOWNLOAD, long_id, "files").startswith(f"{PREFIX}.actito_sftp.download.acme__partner__xxx")


class BrokenStatsClient(StatsClient):
    """A StatsD client (Airflow's ``statsd_custom_client_path``) whose every send fails."""

    def _send(self, data: str) -> None:
        raise OSError("the metrics host is gone")


def test_a_metrics_backend_that_fails_never_breaks_a_transfer(
    airflow_statsd: AirflowStats,
    conn_id: str,
    sshd: SshServer,
    folders: dict[str, Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
):
    listener = airflow_statsd(AIRFLOW__METRICS__STATSD_CUSTOM_CLIENT_PATH=f"{__name__}.BrokenStatsClient")
    (folders["inbound"] / "customers.csv").write_text("id\n1\n")
    chown_tree(folders["inbound"], sshd.user)
    caplog.set_level(logging.WARNING, logger="airflow_provider_actito_sftp")
    result = ActitoSftpHook(conn_id).import_files(
        "inbound", tmp_path / "landing", min_age=0, after_import="delete", owner="script"
    )
    assert [Path(record.local_path).name for record in result.imported] == ["customers.csv"]
    assert (tmp_path / "landing" / "customers.csv").read_text() == "id\n1\n"
    warnings = [record.getMessage() for record in caplog.records if "metrics could not be sent" in record.getMessage()]
    assert warnings == [
        f"Connection {conn_id!r}: the download metrics could not be sent: OSError: the metrics host is gone"
    ]
    assert listener.ours() == {}
