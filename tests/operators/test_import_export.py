"""Import/export operators run through dag.test() against the real sshd with real gpg."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from partner_sandbox.sshd import SshServer, chown_tree
from tests.conftest import ConnectionFactory
from tests.support.dags import run_dag, task_states, xcom


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
    records = xcom(run, "import")
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
    [record] = xcom(run, "import")
    assert record["pgp_fingerprint"]
    assert record["plaintext_bytes"] == plaintext.stat().st_size
    assert record["wire_bytes"] < record["plaintext_bytes"]  # gpg compressed the CSV
    # Export: encrypted to the partner's key, named .pgp; the partner decrypts it with gpg.
    uploaded = folders["outbound"] / "customers.csv.pgp"
    assert uploaded.read_bytes()[:1] != b"i"
    partner.decrypt(uploaded, tmp_path / "partner-view.csv")
    assert (tmp_path / "partner-view.csv").read_bytes() == plaintext.read_bytes()
    assert not list(folders["outbound"].glob("*.part"))


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
    assert sorted(path.name for path in landing.iterdir()) == sorted(names)
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
    assert xcom(second, "import") == []
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
    assert sorted(path.name for path in landing.iterdir()) == ["good.csv"]
    assert sorted(path.name for path in folders["quarantine"].iterdir()) == [
        "foreign.csv.pgp",
        "plain.csv",
        "tampered.csv.pgp",
    ]
    assert list(folders["inbound"].iterdir()) == []
    records = {Path(record["remote_path"]).name: record for record in xcom(run, "import")}
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
    assert list((tmp_path / "landing").iterdir()) == []


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
    assert [path.name for path in (tmp_path / "landing").iterdir()] == ["done.csv"]


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
        records = xcom(run, "import")
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
