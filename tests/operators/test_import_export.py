"""Import/export operators run through dag.test() against the real sshd with real gpg."""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.transfer.signatures import SIGNATURE_GRACE
from partner_sandbox.sshd import SshServer, chown_tree
from tests.conftest import ConnectionFactory
from tests.support.dags import import_records, published_names, run_dag, task_states, xcom


def test_plaintext_round_trip(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    (folders["inbound"] / "customers.csv").write_text("id;email\n1;ada@example.com\n")
    chown_tree(folders["inbound"], sshd.user)
    landing = tmp_path / "landing"
    source = tmp_path / "segment.csv"
    source.write_text("id\n1\n2\n")
    run = run_dag(
        "plaintext_round_trip",
        f"""
        ActitoSftpImportOperator(min_age=0, task_id="import", conn_id={conn_id!r}, location="inbound",
                                 destination={str(landing)!r}, pattern="*.csv")
        ActitoSftpExportOperator(task_id="export", conn_id={conn_id!r}, location="outbound",
                                 source={str(source)!r})
        """,
    )
    assert task_states(run) == {"import": "success", "export": "success"}
    assert (landing / "customers.csv").read_text() == "id;email\n1;ada@example.com\n"
    assert (folders["outbound"] / "segment.csv").read_text() == "id\n1\n2\n"
    records = import_records(run)
    assert [record["status"] for record in records] == ["success"]
    print(json.dumps(records, indent=1))


def test_pgp_round_trip_with_partner_gpg_cli(
    airflow_db: Path, pgp_connection, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    conn_id, partner, our_public = pgp_connection
    plaintext = tmp_path / "customers.csv"
    plaintext.write_text("id;email\n" + "".join(f"{i};user{i}@example.com\n" for i in range(5000)))
    partner.encrypt_to(our_public, plaintext, folders["inbound"] / "customers.csv.pgp")
    chown_tree(folders["inbound"], sshd.user)
    landing = tmp_path / "landing"
    run = run_dag(
        "pgp_round_trip",
        f"""
        imported = ActitoSftpImportOperator(task_id="import", conn_id={conn_id!r}, location="inbound",
                                            min_age=0, destination={str(landing)!r}, after_import="delete")
        exported = ActitoSftpExportOperator(task_id="export", conn_id={conn_id!r}, location="outbound",
                                            source={str(landing / "*.csv")!r})
        imported >> exported
        """,
    )
    assert task_states(run) == {"import": "success", "export": "success"}
    # Import: decrypted under the plaintext name, remote source deleted after the commit.
    assert (landing / "customers.csv").read_bytes() == plaintext.read_bytes()
    assert not (folders["inbound"] / "customers.csv.pgp").exists()
    [record] = import_records(run)
    assert record["pgp_fingerprint"]
    assert record["plaintext_bytes"] == plaintext.stat().st_size
    assert record["wire_bytes"] < record["plaintext_bytes"]  # gpg compressed the CSV
    # Export: encrypted to the partner's key, named .pgp; the partner decrypts it with gpg.
    uploaded = folders["outbound"] / "customers.csv.pgp"
    assert uploaded.read_bytes()[:1] != b"i"
    partner.decrypt(uploaded, tmp_path / "partner-view.csv")
    assert (tmp_path / "partner-view.csv").read_bytes() == plaintext.read_bytes()
    assert not list(folders["outbound"].glob("*.part"))


def test_a_pgp_import_works_whatever_tmpdir_is(
    airflow_db: Path,
    pgp_connection,
    sshd: SshServer,
    folders: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    """Issue 21.8: with a TMPDIR too long for gpg-agent's socket, PGP files are still decrypted and imported."""
    conn_id, partner, our_public = pgp_connection
    plaintext = tmp_path / "customers.csv"
    plaintext.write_text("id;email\n1;ada@example.com\n")
    partner.encrypt_to(our_public, plaintext, folders["inbound"] / "customers.csv.pgp")
    chown_tree(folders["inbound"], sshd.user)
    long_tmpdir = tmp_path / ("a-worker-temp-folder-of-a-kubernetes-pod-" * 2)
    long_tmpdir.mkdir()
    assert len(str(long_tmpdir)) > 100
    monkeypatch.setenv("TMPDIR", str(long_tmpdir))  # for gpg, gpg-agent and every other program started
    monkeypatch.setattr(tempfile, "tempdir", str(long_tmpdir))
    landing = tmp_path / "landing"
    run = run_dag(
        "pgp_long_tmpdir",
        f"""
        ActitoSftpImportOperator(task_id="import", conn_id={conn_id!r}, location="inbound", min_age=0,
                                 destination={str(landing)!r}, after_import="delete")
        """,
    )
    assert task_states(run) == {"import": "success"}
    assert (landing / "customers.csv").read_bytes() == plaintext.read_bytes()
    assert not (folders["inbound"] / "customers.csv.pgp").exists()
    [record] = import_records(run)
    assert record["pgp_fingerprint"]


def test_a_gpg_that_cannot_start_fails_the_tasks_for_a_retry_and_refuses_no_file(
    airflow_db: Path,
    pgp_connection,
    sshd: SshServer,
    folders: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    """Issue 21.8: a gpg that cannot start is this machine's trouble: the import and the export fail with a
    retry, saying so; the PGP file is released on the server (not refused, not quarantined) and nothing is sent."""
    from airflow_provider_actito_sftp.metrics import SUMMARY_XCOM_KEY

    conn_id, partner, our_public = pgp_connection
    plaintext = tmp_path / "customers.csv"
    plaintext.write_text("id;email\n1;ada@example.com\n")
    partner.encrypt_to(our_public, plaintext, folders["inbound"] / "customers.csv.pgp")
    chown_tree(folders["inbound"], sshd.user)
    broken = tmp_path / "bin"
    broken.mkdir()
    (broken / "gpg").write_text("#!/bin/sh\necho 'gpg: fatal: out of core handler ignored' >&2\nexit 2\n")
    (broken / "gpg").chmod(0o755)
    monkeypatch.setenv("PATH", f"{broken}:{os.environ['PATH']}")
    landing = tmp_path / "landing"
    run = run_dag(
        "gpg_cannot_start",
        f"""
        ActitoSftpImportOperator(task_id="import", conn_id={conn_id!r}, location="inbound", min_age=0,
                                 destination={str(landing)!r}, after_import="delete",
                                 quarantine_location="quarantine", retries=1,
                                 retry_delay=pendulum.duration(seconds=0))
        ActitoSftpExportOperator(task_id="export", conn_id={conn_id!r}, location="outbound",
                                 source={str(plaintext)!r}, retries=1, retry_delay=pendulum.duration(seconds=0))
        """,
    )
    assert task_states(run) == {"import": "failed", "export": "failed"}
    tries = {ti.task_id: ti.try_number for ti in run.get_task_instances()}
    assert tries == {"import": 2, "export": 2}  # retried: not a refusal
    [record] = import_records(run)
    assert record["retryable"] is True
    assert "gpg could not start on this machine" in record["error"]
    assert "out of core handler ignored" in record["error"]  # gpg's own words
    assert "no inbound PGP secret key" not in record["error"]
    assert [path.name for path in folders["inbound"].iterdir()] == ["customers.csv.pgp"]  # released, untouched
    assert list(folders["quarantine"].iterdir()) == []
    assert not list(landing.rglob("*customers*"))  # nothing published, no partial left
    [problem] = xcom(run, "export", SUMMARY_XCOM_KEY)["problems"]
    assert "gpg could not start on this machine" in problem["reason"]
    assert list(folders["outbound"].iterdir()) == []


@pytest.mark.parametrize("after_import", ["keep", "delete", "move"])
def test_after_import_modes_and_rerun_idempotency(
    after_import: str,
    airflow_db: Path,
    make_connection: ConnectionFactory,
    sshd: SshServer,
    folders: dict[str, Path],
    tmp_path: Path,
):
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    names = ["a.csv", "b c.csv", "données-été.csv", "empty.csv"]
    for name in names:
        (folders["inbound"] / name).write_text("" if name == "empty.csv" else f"content of {name}\n")
    chown_tree(folders["inbound"], sshd.user)
    landing = tmp_path / "landing"
    body = f"""
        ActitoSftpImportOperator(min_age=0, task_id="import", conn_id={conn_id!r}, location="inbound",
                                 destination={str(landing)!r}, after_import={after_import!r},
                                 archive_location="archive")
        """
    first = run_dag(f"after_import_{after_import}", body)
    assert task_states(first) == {"import": "success"}
    assert published_names(landing) == sorted(names)
    assert (landing / "empty.csv").read_bytes() == b""
    assert (landing / "données-été.csv").read_text() == "content of données-été.csv\n"
    remaining = sorted(path.name for path in folders["inbound"].iterdir())
    archived = sorted(path.name for path in folders["archive"].iterdir())
    if after_import == "keep":
        assert remaining == sorted(names)
    elif after_import == "delete":
        assert remaining == []
    else:
        assert remaining == []
        assert archived == sorted(names)
    # A second run imports nothing again, and the landing files are untouched.
    (landing / "a.csv").write_text("changed downstream\n")
    second = run_dag(f"after_import_{after_import}", body)
    assert task_states(second) == {"import": "success"}
    assert import_records(second) == []
    assert (landing / "a.csv").read_text() == "changed downstream\n"


def test_plaintext_refused_when_pgp_required_and_quarantined(
    airflow_db: Path, pgp_connection, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    conn_id, partner, our_public = pgp_connection
    good = tmp_path / "good.csv"
    good.write_text("id\n1\n")
    partner.encrypt_to(our_public, good, folders["inbound"] / "good.csv.pgp")
    (folders["inbound"] / "plain.csv").write_text("id;email\n1;leak@example.com\n")
    tampered = bytearray((folders["inbound"] / "good.csv.pgp").read_bytes())
    tampered[len(tampered) // 2] ^= 0xFF
    (folders["inbound"] / "tampered.csv.pgp").write_bytes(bytes(tampered))
    stranger = partner.generate("Stranger <stranger@example.com>")
    partner.encrypt_to(partner.export_public(stranger), good, folders["inbound"] / "foreign.csv.pgp")
    chown_tree(folders["inbound"], sshd.user)
    landing = tmp_path / "landing"
    run = run_dag(
        "quarantine",
        f"""
        ActitoSftpImportOperator(min_age=0, task_id="import", conn_id={conn_id!r}, location="inbound",
                                 destination={str(landing)!r}, quarantine_location="quarantine",
                                 after_import="delete")
        """,
    )
    assert task_states(run) == {"import": "failed"}
    # The good file is imported even though others were refused.
    assert published_names(landing) == ["good.csv"]
    assert sorted(path.name for path in folders["quarantine"].iterdir()) == [
        "foreign.csv.pgp",
        "plain.csv",
        "tampered.csv.pgp",
    ]
    assert list(folders["inbound"].iterdir()) == []
    records = {Path(record["remote_path"]).name: record for record in import_records(run)}
    assert records["good.csv.pgp"]["status"] == "success"
    assert "not PGP-encrypted" in records["plain.csv"]["error"]
    assert "not encrypted to any of our inbound PGP keys" in records["foreign.csv.pgp"]["error"]
    assert "integrity" in records["tampered.csv.pgp"]["error"] or "truncated" in records["tampered.csv.pgp"]["error"]


def test_refused_file_without_quarantine_stays_in_place(
    airflow_db: Path, pgp_connection, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    conn_id, _, _ = pgp_connection
    (folders["inbound"] / "plain.csv").write_text("id\n")
    chown_tree(folders["inbound"], sshd.user)
    run = run_dag(
        "refused_in_place",
        f"""
        ActitoSftpImportOperator(min_age=0, task_id="import", conn_id={conn_id!r}, location="inbound",
                                 destination={str(tmp_path / "landing")!r})
        """,
    )
    assert task_states(run) == {"import": "failed"}
    assert [path.name for path in folders["inbound"].iterdir()] == ["plain.csv"]
    assert published_names(tmp_path / "landing") == []


def test_in_progress_files_are_not_imported(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    for name in ("done.csv", "upload.csv.part", "x.csv.filepart", "y.csv.tmp"):
        (folders["inbound"] / name).write_text("x\n")
    (folders["inbound"] / "fresh.csv").write_text("still being written\n")
    old = folders["inbound"] / "done.csv"
    import os
    import time

    os.utime(old, (time.time() - 600, time.time() - 600))
    chown_tree(folders["inbound"], sshd.user)
    run = run_dag(
        "in_progress",
        f"""
        ActitoSftpImportOperator(task_id="import", conn_id={conn_id!r}, location="inbound",
                                 destination={str(tmp_path / "landing")!r}, min_age=120)
        """,
    )
    assert task_states(run) == {"import": "success"}
    assert published_names(tmp_path / "landing") == ["done.csv"]


def test_export_refuses_to_overwrite_before_uploading_anything(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    (folders["outbound"] / "b.csv").write_text("partner's copy\n")
    chown_tree(folders["outbound"], sshd.user)
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text(f"new {name}\n")
    body = f"""
        ActitoSftpExportOperator(task_id="export", conn_id={conn_id!r}, location="outbound",
                                 source={str(tmp_path / "*.csv")!r}, overwrite=OVERWRITE)
        """
    refused = run_dag("export_fail", body.replace("OVERWRITE", "'fail'"))
    assert task_states(refused) == {"export": "failed"}
    assert sorted(path.name for path in folders["outbound"].iterdir()) == ["b.csv"]
    assert (folders["outbound"] / "b.csv").read_text() == "partner's copy\n"
    replaced = run_dag("export_replace", body.replace("OVERWRITE", "'replace'"))
    assert task_states(replaced) == {"export": "success"}
    assert (folders["outbound"] / "b.csv").read_text() == "new b.csv\n"
    assert sorted(path.name for path in folders["outbound"].iterdir()) == ["a.csv", "b.csv"]


def test_export_with_expired_partner_key_uploads_nothing(
    airflow_db: Path, make_connection: ConnectionFactory, folders: dict[str, Path], tmp_path: Path
):
    from partner_sandbox.gpg import PartnerGpg

    with PartnerGpg() as partner:
        expired = partner.export_public(partner.generate(expires="1d", faked_time="20200101T000000"))
    conn_id = make_connection(
        locations={name: str(path) for name, path in folders.items()},
        outbound_pgp=True,
        partner_pgp_public_key=expired,
    )
    (tmp_path / "a.csv").write_text("x\n")
    run = run_dag(
        "export_expired",
        f"""
        ActitoSftpExportOperator(task_id="export", conn_id={conn_id!r}, location="outbound",
                                 source={str(tmp_path / "a.csv")!r})
        """,
    )
    assert task_states(run) == {"export": "failed"}
    assert list(folders["outbound"].iterdir()) == []


def test_signature_policies(
    airflow_db: Path, pgp_connection, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    conn_id, partner, our_public = pgp_connection
    partner_fingerprint = partner.fingerprints("Partner <partner@example.com>")[0]
    data = tmp_path / "data.csv"
    data.write_text("id\n1\n")
    partner.encrypt_to(our_public, data, folders["inbound"] / "signed.csv.pgp", sign_with=partner_fingerprint)
    partner.encrypt_to(our_public, data, folders["inbound"] / "unsigned.csv.pgp")
    stranger = partner.generate("Stranger <stranger@example.com>")
    partner.encrypt_to(our_public, data, folders["inbound"] / "stranger.csv.pgp", sign_with=stranger)
    # Past the wait for a detached signature (transfer/signatures): unsigned under require is then refused.
    written_long_ago = time.time() - SIGNATURE_GRACE - 60
    os.utime(folders["inbound"] / "unsigned.csv.pgp", (written_long_ago, written_long_ago))
    chown_tree(folders["inbound"], sshd.user)
    outcomes = {}
    for policy in ("ignore", "accept", "require"):
        run = run_dag(
            f"signature_{policy}",
            f"""
            ActitoSftpImportOperator(min_age=0, task_id="import", conn_id={conn_id!r}, location="inbound",
                                     destination={str(tmp_path / policy)!r}, signature_policy={policy!r})
            """,
        )
        records = import_records(run)
        outcomes[policy] = {Path(r["remote_path"]).name: r["status"] for r in records}
    assert outcomes["ignore"] == {
        "signed.csv.pgp": "success",
        "unsigned.csv.pgp": "success",
        "stranger.csv.pgp": "success",
    }
    assert outcomes["accept"] == {
        "signed.csv.pgp": "success",
        "unsigned.csv.pgp": "success",
        "stranger.csv.pgp": "failed",
    }
    assert outcomes["require"] == {
        "signed.csv.pgp": "success",
        "unsigned.csv.pgp": "failed",
        "stranger.csv.pgp": "failed",
    }


def test_object_storage_destination_and_source(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    """ObjectStoragePath destinations and sources (file:// here; any fsspec backend works the same way)."""
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    (folders["inbound"] / "x.csv").write_text("via object storage\n")
    chown_tree(folders["inbound"], sshd.user)
    (tmp_path / "out.csv").write_text("exported via object storage\n")
    run = run_dag(
        "object_storage",
        f"""
        from airflow.sdk import ObjectStoragePath
        ActitoSftpImportOperator(min_age=0, task_id="import", conn_id={conn_id!r}, location="inbound",
                                 destination=ObjectStoragePath({(tmp_path / "lake").as_uri()!r}))
        ActitoSftpExportOperator(task_id="export", conn_id={conn_id!r}, location="outbound",
                                 source=[ObjectStoragePath({(tmp_path / "out.csv").as_uri()!r})])
        """,
    )
    assert task_states(run) == {"import": "success", "export": "success"}
    assert (tmp_path / "lake" / "x.csv").read_text() == "via object storage\n"
    assert (folders["outbound"] / "out.csv").read_text() == "exported via object storage\n"


def test_asset_event_remote_name_and_unlocked_armored_upload(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    from partner_sandbox.gpg import PartnerGpg

    with PartnerGpg() as partner:
        fingerprint = partner.generate()
        conn_id = make_connection(
            locations={name: str(path) for name, path in folders.items()},
            outbound_lock=False,
            outbound_pgp=True,
            outbound_pgp_armor=True,
            partner_pgp_public_key=partner.export_public(fingerprint),
        )
        (folders["inbound"] / "in.csv").write_text("x\n")
        chown_tree(folders["inbound"], sshd.user)
        (tmp_path / "seg.csv").write_text("id\n" * 100)
        landing = tmp_path / "landing"
        run = run_dag(
            "asset_and_names",
            f"""
            ActitoSftpImportOperator(min_age=0, task_id="import", conn_id={conn_id!r}, location="inbound",
                                     destination={str(landing)!r})
            ActitoSftpExportOperator(task_id="export", conn_id={conn_id!r}, location="outbound",
                                     source={str(tmp_path / "seg.csv")!r},
                                     remote_name="{{{{ ds_nodash }}}}_{{name}}.asc")
            """,
        )
        assert task_states(run) == {"import": "success", "export": "success"}
        [uploaded] = list(folders["outbound"].iterdir())
        assert re.fullmatch(r"\d{8}_seg\.csv\.asc", uploaded.name), uploaded.name  # Jinja, then {name}
        assert uploaded.read_text().startswith("-----BEGIN PGP MESSAGE-----")
        partner.decrypt(uploaded, tmp_path / "check.csv")
        assert (tmp_path / "check.csv").read_text() == "id\n" * 100
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        events = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri == landing.resolve().as_uri(), AssetEvent.source_run_id == run.run_id)
            .all()
        )
        assert len(events) == 1
        assert events[0].extra["files"] == 1
        assert events[0].extra["names"] == ["in.csv"]


def test_compression_is_chosen_by_content():
    import os

    from airflow_provider_actito_sftp.transfer.upload import should_compress

    assert should_compress("customers.csv", b"id;email;name\n" * 10_000)
    assert not should_compress("random.bin", os.urandom(256 * 1024))
    assert not should_compress("archive.csv.gz", b"id;email;name\n" * 10_000)
    assert not should_compress("empty.csv", b"")


def test_a_name_that_is_not_utf8_is_one_refused_file_reported_escaped(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    """Issue 21.12: a partner file named in Latin-1 (``caf\\xe9.csv``) is refused, shown with a backslash escape
    in the records, the summary and the task's message; the other files are imported and the XComs are saved,
    on every run while the file stays."""
    import os

    from airflow_provider_actito_sftp.metrics import SUMMARY_XCOM_KEY

    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    inbound = folders["inbound"]
    descriptor = os.open(bytes(inbound) + b"/caf\xe9.csv", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(descriptor, b"id\n1\n")
    os.close(descriptor)
    (inbound / "good.csv").write_text("id\n2\n")
    chown_tree(inbound, sshd.user)
    landing = tmp_path / "landing"
    body = f"""
        ActitoSftpImportOperator(min_age=0, task_id="import", conn_id={conn_id!r}, location="inbound",
                                 destination={str(landing)!r}, after_import="delete")
        """
    escaped = f"{sshd.remote_path(inbound)}/caf\\xe9.csv"
    for attempt in ("first", "second"):
        run = run_dag(f"latin1_name_{attempt}", body)
        assert task_states(run) == {"import": "failed"}
        records = {record["remote_path"]: record for record in import_records(run)}
        refused = records[escaped]
        assert (refused["status"], refused["retryable"]) == ("failed", False)
        assert "'caf\\xe9.csv' is not valid UTF-8" in refused["error"]
        summary = xcom(run, "import", SUMMARY_XCOM_KEY)
        assert [problem["file"] for problem in summary["problems"]] == [escaped]
        if attempt == "first":
            assert records[f"{sshd.remote_path(inbound)}/good.csv"]["status"] == "success"
            assert summary["succeeded"] == 1
    assert [path.name for path in landing.iterdir() if not path.name.startswith(".")] == ["good.csv"]
    assert os.listdir(bytes(inbound)) == [b"caf\xe9.csv"]  # never touched


def test_a_server_that_sends_garbage_fails_the_try_in_words_and_is_retried(
    airflow_db: Path, make_connection: ConnectionFactory, tmp_path: Path
):
    """Issue 21.7: a task met a bare ``PacketDecodeError``. A server that breaks the SSH protocol is a connection
    failure of that server: worded, and retried like any other connection failure."""
    from tests.support.rogue_ssh import RogueSshServer

    with RogueSshServer() as rogue:
        conn_id = make_connection(port=rogue.port, connect_timeout=10)
        tries, reason = _failed_before_any_file("garbage_server", conn_id, tmp_path, retries=1)
    assert tries == 2  # retried: the server may be fixed, or the garbage a passing fault
    assert reason == (
        f"Connection {conn_id!r}: the server at 127.0.0.1:{rogue.port} broke the SSH protocol: "
        "a malformed packet (Incomplete packet)"
    )


def test_a_backlog_drains_over_runs_with_a_bounded_xcom_and_a_full_report(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    """Issue 21.10: 300 files, max_files=200: two runs import them all, each once, oldest first. The XCom
    stays small (counts, the first 100 records); every record is in a 0600 JSON Lines report beside the
    files, which is never taken for an imported file (a partner file with its folder's name is refused)."""
    from airflow_provider_actito_sftp.metrics import SUMMARY_XCOM_KEY
    from airflow_provider_actito_sftp.transfer.names import REPORT_FOLDER

    inbound, landing = folders["inbound"], tmp_path / "landing"
    names = [f"customers-{index:04d}.csv" for index in range(300)]
    for minute, name in enumerate(names):
        (inbound / name).write_text(f"id\n{minute}\n")
        os.utime(inbound / name, (1_700_000_000 + minute * 60, 1_700_000_000 + minute * 60))
    (inbound / REPORT_FOLDER).write_text("a partner file named like our reports' folder\n")
    os.utime(inbound / REPORT_FOLDER, (1_800_000_000, 1_800_000_000))  # the newest: taken last
    chown_tree(inbound, sshd.user)
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    pattern = rf"customers-\d{{4}}\.csv|\{REPORT_FOLDER}"  # a hidden name is taken only by a pattern naming it
    body = f"""
        ActitoSftpImportOperator(task_id="import", conn_id={conn_id!r}, location="inbound", min_age=0,
                                 destination={str(landing)!r}, after_import="delete", max_files=200,
                                 pattern={pattern!r}, regex=True)
        """
    reports: list[Path] = []
    values = []
    for _ in range(2):
        run = run_dag("backlog_drains", body)
        value = xcom(run, "import")
        values.append(value)
        summary = xcom(run, "import", SUMMARY_XCOM_KEY)
        print(f"XCom: {len(json.dumps(value))} bytes; summary: {len(json.dumps(summary))} bytes")
        assert len(json.dumps(value)) < 80_000  # 62 kB; the list of every record was 186 kB for 301 files
        assert len(json.dumps(summary)) < 20_000
        report = Path(value["report"])
        assert report.parent == landing / REPORT_FOLDER
        assert oct(report.stat().st_mode & 0o777) == "0o600"
        lines = [json.loads(line) for line in report.read_text().splitlines()]
        assert len(lines) == value["records_total"]
        assert value["records"] == lines[:100]  # the XCom holds the report's first records
        assert import_records(run) == lines
        reports.append(report)

    first, second = values
    assert (first["imported"], first["remaining"], first["records_total"]) == (200, 101, 200)
    assert len(first["records"]) == 100
    assert first["plaintext_bytes"] == sum(record["plaintext_bytes"] for record in json_lines(reports[0]))
    assert (second["imported"], second["refused"], second["remaining"]) == (100, 1, 0)
    imported = [
        record["remote_path"].rsplit("/", 1)[-1]
        for report in reports
        for record in json_lines(report)
        if record["status"] == "success"
    ]
    assert sorted(imported) == names  # every file once, none twice
    assert {record["remote_path"].rsplit("/", 1)[-1] for record in json_lines(reports[0])} == set(names[:200])
    [refused] = [record for record in json_lines(reports[1]) if record["status"] == "failed"]
    assert "reports' folder" in refused["error"]
    assert sorted(path.name for path in landing.iterdir()) == sorted([REPORT_FOLDER, *names])
    assert sorted(path.name for path in (landing / REPORT_FOLDER).iterdir()) == sorted(r.name for r in reports)
    assert [path.name for path in inbound.iterdir()] == [REPORT_FOLDER]  # refused, left in place


def json_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_report_that_cannot_be_written_fails_the_try_only_when_the_xcom_leaves_records_out(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    """With 2 files the XCom holds every record: the try is green, the report error noted. With 101 files
    the last one is only in the log: the try fails without retry (a retry would import nothing new)."""
    from airflow_provider_actito_sftp.metrics import SUMMARY_XCOM_KEY
    from airflow_provider_actito_sftp.transfer.import_report import report_records
    from airflow_provider_actito_sftp.transfer.names import REPORT_FOLDER

    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    outcomes = {}
    for count in (2, 101):
        landing = tmp_path / f"landing-{count}"
        landing.mkdir()
        (landing / REPORT_FOLDER).write_text("not a folder\n")  # the report cannot go there
        for index in range(count):
            (folders["inbound"] / f"f{index:03d}.csv").write_text(f"{index}\n")
        chown_tree(folders["inbound"], sshd.user)
        run = run_dag(
            f"report_not_written_{count}",
            f"""
            ActitoSftpImportOperator(task_id="import", conn_id={conn_id!r}, location="inbound", min_age=0,
                                     destination={str(landing)!r}, after_import="delete",
                                     retries=1, retry_delay=pendulum.duration(seconds=0))
            """,
        )
        [ti] = run.get_task_instances()
        value = xcom(run, "import")
        assert (value["imported"], value["records_total"], value["report"]) == (count, count, None)
        assert value["report_error"].startswith("could not write the import report in file://")
        assert len(published_names(landing)) == count  # every file published
        problems = xcom(run, "import", SUMMARY_XCOM_KEY)["problems"]
        outcomes[count] = (str(ti.state), ti.try_number, value, [problem["reason"] for problem in problems])
    state, tries, value, problems = outcomes[2]
    assert (state, tries, problems) == ("success", 1, [])
    assert len(list(report_records(value))) == 2  # all in the XCom: nothing is missing
    state, tries, value, problems = outcomes[101]
    assert (state, tries) == ("failed", 1)  # not retried
    assert problems == [value["report_error"]]
    assert len(value["records"]) == 100
    with pytest.raises(ValueError, match=r"1 record\(s\) are not in the XCom"):
        list(report_records(value))


def test_a_server_the_platform_does_not_allow_fails_the_task_without_retry(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, tmp_path: Path, monkeypatch
):
    """Issue 21.4: ``[actito_sftp] allowed_targets`` is checked by tasks too; a refused target is a matter of
    configuration, so the task fails at once instead of retrying a connection that will never be allowed."""

    monkeypatch.setenv("AIRFLOW__ACTITO_SFTP__ALLOWED_TARGETS", "*.partner.example")
    tries, reason = _failed_before_any_file("target_not_allowed", make_connection(), tmp_path, retries=2)
    assert tries == 1  # not retried
    assert reason.startswith(f"connecting to {sshd.host}:{sshd.port} is not allowed on this Airflow")


def _failed_before_any_file(dag_id: str, conn_id: str, tmp_path: Path, *, retries: int) -> tuple[int, str]:
    """Run an import that fails before any file moves; return its tries and the reason in its summary XCom."""
    from airflow_provider_actito_sftp.metrics import SUMMARY_XCOM_KEY

    run = run_dag(
        dag_id,
        f"""
        ActitoSftpImportOperator(min_age=0, task_id="import", conn_id={conn_id!r}, location="inbound",
                                 destination={str(tmp_path / "landing")!r}, after_import="delete",
                                 retries={retries}, retry_delay=pendulum.duration(seconds=0))
        """,
    )
    assert task_states(run) == {"import": "failed"}
    [ti] = run.get_task_instances()
    [problem] = xcom(run, "import", SUMMARY_XCOM_KEY)["problems"]
    return int(ti.try_number), str(problem["reason"])
