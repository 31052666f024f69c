"""ActitoSftpHook as the service API, against a real OpenSSH server: list, find, wait, import, export (from
plain code, async code and a TaskFlow task), the owner/ledger defaults, and the UI "Test" button."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
import time
from pathlib import Path

import asyncssh
import pytest

from airflow_provider_actito_sftp.exceptions import (
    ConnectionConfigError,
    ExportRefusedError,
    NoTaskContextError,
    SourceUnavailableError,
    UnknownLocationError,
)
from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from airflow_provider_actito_sftp.pgp.keys import generate_inbound_key
from airflow_provider_actito_sftp.ssh.host_keys import fingerprint
from partner_sandbox.sshd import SshServer, chown_tree, running_as_root
from tests.conftest import ConnectionFactory
from tests.support.dags import run_dag, task_states, xcom


def _fingerprint_of(public_line: str) -> str:
    return fingerprint(asyncssh.import_public_key(public_line))


def _accepted(server: SshServer) -> int:
    return server.log_path.read_text(errors="replace").count("Accepted publickey")


def _age(path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


@pytest.fixture
def conn_id(make_connection: ConnectionFactory, folders: dict[str, Path]) -> str:
    return make_connection(locations={name: str(path) for name, path in folders.items()})


class TestListLocation:
    def test_listing_returns_name_size_mtime_and_kind(self, make_connection: ConnectionFactory, sshd: SshServer):
        folder = sshd.make_folder("hook-listing")
        (folder / "customers.csv").write_bytes(b"id;email\n1;a@example.com\n")
        (folder / "empty.csv").write_bytes(b"")
        (folder / "sub").mkdir()
        mtime = time.time() - 3600
        os.utime(folder / "customers.csv", (mtime, mtime))
        chown_tree(folder, sshd.user)
        conn_id = make_connection(locations={"listing": str(folder)})
        entries = ActitoSftpHook(conn_id).list_location("listing")
        assert [entry.name for entry in entries] == ["customers.csv", "empty.csv", "sub"]
        customers, empty, sub = entries
        assert customers.size == 25
        assert customers.path == f"{folder}/customers.csv"
        assert abs(customers.mtime.timestamp() - int(mtime)) < 1
        assert customers.is_file
        assert not customers.is_dir
        assert empty.size == 0
        assert sub.is_dir
        assert not sub.is_file

    def test_unknown_location_lists_known_names(self, make_connection: ConnectionFactory):
        with pytest.raises(UnknownLocationError) as unknown:
            ActitoSftpHook(make_connection()).list_location("inbox")
        assert str(unknown.value) == (
            "Connection 'actito_test': unknown location 'inbox'; known locations: 'inbound', 'outbound'"
        )

    def test_each_call_opens_and_closes_its_own_session(self, conn_id: str, sshd: SshServer):
        hook = ActitoSftpHook(conn_id)
        before = _accepted(sshd)
        for _ in range(3):
            assert hook.list_location("inbound") == []
        assert _accepted(sshd) == before + 3
        assert asyncio.run(hook.alist_location("outbound")) == []  # the async twin, on the caller's loop
        assert _accepted(sshd) == before + 4

    def test_the_sync_api_leaves_no_thread_behind(self, conn_id: str):
        threads_before = set(threading.enumerate())
        ActitoSftpHook(conn_id).list_location("inbound")
        # a call must not leave a thread of its own (an event loop, an executor) running
        assert not set(threading.enumerate()) - threads_before


class TestFindAndWait:
    def test_find_files_applies_the_import_rules(self, conn_id: str, sshd: SshServer, folders: dict[str, Path]):
        inbound = folders["inbound"]
        for name in ("done.csv", "other.txt", "upload.csv.part", "x.csv.filepart", "fresh.csv"):
            (inbound / name).write_text("x\n")
        (inbound / "folder.csv").mkdir()
        for name in ("done.csv", "other.txt", "upload.csv.part", "x.csv.filepart"):
            _age(inbound / name, 600)
        chown_tree(inbound, sshd.user)
        hook = ActitoSftpHook(conn_id)
        assert [entry.name for entry in hook.find_files("inbound", pattern="*.csv", min_age=120)] == ["done.csv"]
        assert [entry.name for entry in hook.find_files("inbound", pattern=r".*\.(csv|txt)", regex=True)] == [
            "done.csv",
            "other.txt",
        ]
        assert hook.find_files("inbound", pattern="*.xml") == []

    def test_find_files_counts_no_detached_signature_and_no_file_waiting_for_its_own(
        self, conn_id: str, sshd: SshServer, folders: dict[str, Path]
    ):
        inbound = folders["inbound"]
        for name in ("lonely.csv.sig", "signed.csv", "signed.csv.sig", "pending.csv", "pending.csv.asc"):
            (inbound / name).write_text("x\n")
            _age(inbound / name, 600)
        _age(inbound / "pending.csv.asc", 5)  # its signature is still being written
        chown_tree(inbound, sshd.user)
        found = ActitoSftpHook(conn_id).find_files("inbound", min_age=60)
        assert [entry.name for entry in found] == ["signed.csv"]  # what an import would take now

    def test_wait_for_files_returns_once_a_file_is_complete(
        self, conn_id: str, sshd: SshServer, folders: dict[str, Path]
    ):
        inbound = folders["inbound"]
        (inbound / "late.csv.part").write_text("still uploading\n")
        chown_tree(inbound, sshd.user)

        def partner_finishes_upload() -> None:
            time.sleep(1.5)
            (inbound / "late.csv.part").rename(inbound / "late.csv")

        threading.Thread(target=partner_finishes_upload, daemon=True).start()
        before = _accepted(sshd)
        ready = ActitoSftpHook(conn_id).wait_for_files("inbound", pattern="*.csv", min_age=0, poke_interval=0.2)
        assert [entry.name for entry in ready] == ["late.csv"]
        assert _accepted(sshd) == before + 1  # every look went over one session

    def test_wait_for_files_times_out(self, conn_id: str):
        started = time.monotonic()
        with pytest.raises(
            TimeoutError, match=re.escape("location 'inbound': no complete file matching '*.csv' within 1 s")
        ):
            ActitoSftpHook(conn_id).wait_for_files("inbound", pattern="*.csv", poke_interval=0.3, timeout=1)
        assert time.monotonic() - started < 10


class TestImportFiles:
    def test_import_outside_a_task_with_an_explicit_owner(
        self, conn_id: str, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
    ):
        (folders["inbound"] / "a.csv").write_text("a\n")
        (folders["inbound"] / "b.csv").write_text("b\n")
        chown_tree(folders["inbound"], sshd.user)
        landing = tmp_path / "landing"
        result = ActitoSftpHook(conn_id).import_files(
            "inbound", landing, owner="script", after_import="move", archive_location="archive", min_age=0
        )
        assert sorted(Path(record.local_path).name for record in result.imported) == ["a.csv", "b.csv"]
        assert (result.refused, result.failed, result.unfinished) == ([], [], [])
        assert (landing / "a.csv").read_text() == "a\n"
        assert sorted(path.name for path in folders["archive"].iterdir()) == ["a.csv", "b.csv"]
        assert list(folders["inbound"].iterdir()) == []

    def test_async_twin(
        self,
        conn_id: str,
        sshd: SshServer,
        folders: dict[str, Path],
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
    ):
        """The async API, and the two lines a task log gets: where the file went, and the run's summary."""
        caplog.set_level(logging.INFO, logger="airflow_provider_actito_sftp")
        (folders["inbound"] / "a.csv").write_text("a\n")
        chown_tree(folders["inbound"], sshd.user)
        hook = ActitoSftpHook(conn_id)
        result = asyncio.run(hook.aimport_files("inbound", tmp_path, owner="script", after_import="delete", min_age=0))
        assert [record.status for record in result.imported] == ["success"]
        assert (tmp_path / "a.csv").read_text() == "a\n"
        lines = [record.getMessage() for record in caplog.records]
        per_file = (
            f"Connection {conn_id!r}, location 'inbound', file 'a.csv': imported to {tmp_path / 'a.csv'} (2 bytes"
        )
        assert any(line.startswith(per_file) and line.endswith("; deleted from the server") for line in lines), lines
        summary = [line for line in lines if "run summary" in line]
        assert len(summary) == 1, lines
        assert re.fullmatch(
            rf"Connection {conn_id!r}, location 'inbound': run summary: imported 1 file\(s\), 2 bytes \(2 on the "
            r"server\) in \d+\.\d\d s \(\d+\.\d MB/s\); refused 0, failed 0, skipped 0; into file://.+",
            summary[0],
        )

    def test_invalid_options_and_unknown_locations_fail_before_connecting(
        self, conn_id: str, sshd: SshServer, tmp_path: Path
    ):
        hook = ActitoSftpHook(conn_id)
        before = _accepted(sshd)
        with pytest.raises(ValueError, match="after_import must be one of 'keep', 'delete', 'move', got 'drop'"):
            hook.import_files("inbound", tmp_path, owner="script", after_import="drop")
        with pytest.raises(ValueError, match="after_import='move' needs archive_location"):
            hook.import_files("inbound", tmp_path, owner="script", after_import="move")
        with pytest.raises(UnknownLocationError, match="unknown location 'attic'"):
            hook.import_files("inbound", tmp_path, owner="script", after_import="move", archive_location="attic")
        assert _accepted(sshd) == before

    def test_outside_a_task_an_owner_is_needed_and_keep_is_refused(self, conn_id: str, tmp_path: Path):
        hook = ActitoSftpHook(conn_id)
        with pytest.raises(NoTaskContextError, match=re.escape("pass owner=... explicitly")):
            hook.import_files("inbound", tmp_path, after_import="delete")
        with pytest.raises(NoTaskContextError, match="after_import='keep' records imports in Airflow Variables"):
            hook.import_files("inbound", tmp_path, owner="script", ledger_name="script")
        assert not list(tmp_path.iterdir())

    def test_garbage_in_the_inbound_pgp_keys_stops_the_hook_at_start_even_for_plain_files(
        self, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
    ):
        """Issue 21.9: a run of plain files, which never needs the keys, still names the broken field at once;
        the same connection with good keys imports them."""
        (folders["inbound"] / "plain.csv").write_text("id\n1\n")
        chown_tree(folders["inbound"], sshd.user)
        locations = {name: str(path) for name, path in folders.items()}
        garbage = "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nbm90IGEga2V5\n-----END PGP PRIVATE KEY BLOCK-----\n"
        broken = make_connection("garbage_keys", locations=locations, inbound_pgp_private_keys=garbage)
        before = _accepted(sshd)
        with pytest.raises(ConnectionConfigError) as raised:
            ActitoSftpHook(broken).import_files("inbound", tmp_path / "landing", owner="script", min_age=0)
        assert (raised.value.conn_id, raised.value.field) == ("garbage_keys", "inbound_pgp_private_keys")
        assert "bm90IGEga2V5" not in str(raised.value)
        assert _accepted(sshd) == before  # refused before connecting
        assert [path.name for path in folders["inbound"].iterdir()] == ["plain.csv"]
        good_keys, _ = generate_inbound_key("good_keys")
        good = make_connection("good_keys", locations=locations, inbound_pgp_private_keys=good_keys)
        result = ActitoSftpHook(good).import_files(
            "inbound", tmp_path / "landing", owner="script", after_import="delete", min_age=0
        )
        assert [Path(record.local_path).name for record in result.imported] == ["plain.csv"]
        assert (tmp_path / "landing" / "plain.csv").read_text() == "id\n1\n"


class TestExportFiles:
    def test_export_outside_a_task_keeps_no_delivery_log(self, conn_id: str, folders: dict[str, Path], tmp_path: Path):
        (tmp_path / "segment.csv").write_text("id\n1\n")
        hook = ActitoSftpHook(conn_id)
        result = hook.export_files("outbound", tmp_path / "*.csv")
        assert [record.status for record in result.uploaded] == ["success"]
        assert (folders["outbound"] / "segment.csv").read_text() == "id\n1\n"
        # Nothing remembers that delivery: overwrite="fail" (default) refuses the same file again.
        with pytest.raises(
            ExportRefusedError, match=re.escape("already on the server (overwrite='fail'): segment.csv")
        ):
            hook.export_files("outbound", tmp_path / "segment.csv")
        (tmp_path / "segment.csv").write_text("id\n2\n")
        hook.export_files("outbound", tmp_path / "segment.csv", overwrite="replace")
        assert (folders["outbound"] / "segment.csv").read_text() == "id\n2\n"

    def test_refusals_before_connecting(self, conn_id: str, sshd: SshServer, tmp_path: Path):
        hook = ActitoSftpHook(conn_id)
        before = _accepted(sshd)
        with pytest.raises(ValueError, match="overwrite must be one of 'fail', 'replace', got 'always'"):
            hook.export_files("outbound", tmp_path, overwrite="always")
        with pytest.raises(SourceUnavailableError, match="matches no file"):
            hook.export_files("outbound", tmp_path / "*.csv")
        (tmp_path / "a.csv").write_text("a\n")
        with pytest.raises(NoTaskContextError, match=re.escape("leave owner out (no delivery log) outside a task")):
            hook.export_files("outbound", tmp_path / "a.csv", owner="script")
        assert _accepted(sshd) == before


def test_a_taskflow_task_imports_and_exports_through_the_hook(
    airflow_db: Path, conn_id: str, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    """In a task the owner and the keep-mode ledger default to the task's: a second run imports nothing."""
    (folders["inbound"] / "customers.csv").write_text("id\n1\n")
    chown_tree(folders["inbound"], sshd.user)
    landing = tmp_path / "landing"
    body = f"""
        from airflow.sdk import task
        from airflow_provider_actito_sftp.hooks import ActitoSftpHook

        @task
        def fetch() -> list[str]:
            result = ActitoSftpHook({conn_id!r}).import_files("inbound", {str(landing)!r}, pattern="*.csv", min_age=0)
            return [record.local_path for record in result.imported]

        @task
        def send(paths: list[str]) -> list[str]:
            result = ActitoSftpHook({conn_id!r}).export_files("outbound", paths, remote_name="copy-{{name}}")
            return [record.remote_path for record in result.uploaded]

        send(fetch())
        """
    first = run_dag("taskflow_hook", body)
    assert task_states(first) == {"fetch": "success", "send": "success"}
    assert xcom(first, "fetch") == [str(landing / "customers.csv")]
    assert xcom(first, "send") == [f"{folders['outbound']}/copy-customers.csv"]
    assert (folders["outbound"] / "copy-customers.csv").read_text() == "id\n1\n"
    assert [path.name for path in folders["inbound"].iterdir()] == ["customers.csv"]  # keep (default)
    second = run_dag("taskflow_hook", body.replace('"outbound", paths', '"outbound", paths or []'))
    assert task_states(second)["fetch"] == "success"
    assert xcom(second, "fetch") == []  # the task's own ledger: already imported


class TestTestConnection:
    def test_success_is_one_sentence_with_the_details_in_the_log(
        self,
        make_connection: ConnectionFactory,
        sshd: SshServer,
        locations: dict[str, str],
        caplog: pytest.LogCaptureFixture,
    ):
        caplog.set_level(logging.INFO, logger="airflow_provider_actito_sftp")
        ok, message = ActitoSftpHook(make_connection()).test_connection()
        assert ok, message
        assert message == (
            f"Host key {_fingerprint_of(sshd.host_key_line)} matches the pin; authenticated as {sshd.user.name}; "
            "2 locations OK."
        )
        logged = "\n".join(record.getMessage() for record in caplog.records)
        assert f"inbound ({locations['inbound']})" in logged
        assert f"outbound ({locations['outbound']})" in logged

    def test_missing_location_folder_fails_with_its_name(
        self, make_connection: ConnectionFactory, locations: dict[str, str]
    ):
        conn_id = make_connection(locations={**locations, "archive": "/no/such/archive"})
        ok, message = ActitoSftpHook(conn_id).test_connection()
        assert not ok
        assert message == "Location 'archive' (/no/such/archive): the folder does not exist on the server"

    def test_location_that_is_a_file_fails(self, make_connection: ConnectionFactory, sshd: SshServer):
        file_path = sshd.data_root / "not-a-folder.txt"
        file_path.write_text("x")
        conn_id = make_connection(locations={"inbound": str(file_path)})
        ok, message = ActitoSftpHook(conn_id).test_connection()
        assert not ok
        assert message.endswith("is not a folder")

    def test_unreadable_location_fails(self, make_connection: ConnectionFactory, sshd: SshServer):
        if not running_as_root():
            pytest.skip("needs a folder the test user cannot read, which only root can arrange")
        locked = sshd.data_root / "locked"
        locked.mkdir(mode=0o700, exist_ok=True)  # owned by root, unreadable for the test user
        conn_id = make_connection(locations={"locked": str(locked)})
        ok, message = ActitoSftpHook(conn_id).test_connection()
        assert not ok
        assert "location 'locked'" in message.lower()
        assert "permission denied" in message

    def test_host_key_mismatch_fails(self, make_connection: ConnectionFactory, impostor_sshd: SshServer):
        ok, message = ActitoSftpHook(make_connection(port=impostor_sshd.port)).test_connection()
        assert not ok
        assert _fingerprint_of(impostor_sshd.host_key_line) in message

    def test_invalid_field_fails_with_its_label(self, make_connection: ConnectionFactory):
        ok, message = ActitoSftpHook(make_connection(port=70000)).test_connection()
        assert not ok
        assert message == "Port: expected an integer from 1 to 65535, got 70000"

    def test_unknown_connection_is_reported_not_raised(self):
        ok, message = ActitoSftpHook("no_such_connection").test_connection()
        assert not ok
        assert message == "Connection 'no_such_connection' does not exist"


class TestConnectionStoredInMetadataDb:
    def test_hook_reads_a_db_connection_whose_secrets_are_encrypted_at_rest(
        self,
        airflow_db: Path,
        sshd: SshServer,
        client_key: str,
        locations: dict[str, str],
        monkeypatch: pytest.MonkeyPatch,
    ):
        # Outside a task, Airflow reads the metadata DB only in server processes (API server, scheduler),
        # which is where the UI "Test" button and the setup CLI run.
        monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")
        import json

        from airflow.models import Connection
        from airflow.utils.session import create_session
        from sqlalchemy import text

        extra = {
            "entity": "acme",
            "ssh_private_key": client_key,
            "host_key": sshd.host_key_line,
            "locations": locations,
        }
        with create_session() as db:
            db.query(Connection).filter(Connection.conn_id == "actito_db_conn").delete()
            db.add(
                Connection(
                    conn_id="actito_db_conn",
                    conn_type="actito_sftp",
                    host=sshd.host,
                    port=sshd.port,
                    login=sshd.user.name,
                    extra=json.dumps(extra),
                )
            )
        with create_session() as db:
            stored_extra, encrypted = db.execute(
                text("SELECT extra, is_extra_encrypted FROM connection WHERE conn_id = 'actito_db_conn'")
            ).one()
        assert encrypted
        assert "PRIVATE KEY" not in stored_extra
        hook = ActitoSftpHook("actito_db_conn")
        assert hook.settings.entity == "acme"
        assert hook.list_location("outbound") == []
