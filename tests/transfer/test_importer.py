"""The import engine against a real OpenSSH server: the cases where data used to be lost, hidden or stuck.

Each test reproduces one defect of issue 9 on a real server and asserts what a user must be able to
count on: nothing published that is incomplete, nothing deleted that is not safely landed, one bad
file never stopping or hiding the others, and the task's state telling the truth.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from airflow_provider_actito_sftp.transfer.destinations import Destination
from airflow_provider_actito_sftp.transfer.import_state import ImportRequest
from airflow_provider_actito_sftp.transfer.importer import ImportJob, ImportResult
from airflow_provider_actito_sftp.transfer.names import owner_id, parse_marker
from airflow_provider_actito_sftp.transfer.options import AfterImport, ImportOptions, OnConflict
from airflow_provider_actito_sftp.transfer.selection import FileFilter
from partner_sandbox.sshd import SftpUser, SshServer, chown_tree, running_as_root
from tests.conftest import ConnectionFactory
from tests.support.dags import import_records, published_names, run_dag, task_states
from tests.support.memory_stores import MemoryLedger

needs_root = pytest.mark.skipif(not running_as_root(), reason="needs a second local user (CI runs as root)")


def _import(conn_id: str, landing: Path, **options: object) -> str:
    extra = "".join(f", {key}={value!r}" for key, value in options.items())
    if "retries" in options:
        extra += ", retry_delay=pendulum.duration(seconds=0)"
    return f"""
        ActitoSftpImportOperator(task_id="import", conn_id={conn_id!r}, location="inbound",
                                 destination={str(landing)!r}{extra})
        """


def _tries(run: object, task_id: str = "import") -> int:
    [ti] = [ti for ti in run.get_task_instances() if ti.task_id == task_id]  # type: ignore[attr-defined]
    return int(ti.try_number)


def _markers(folder: Path) -> list[str]:
    return [path.name for path in folder.iterdir() if parse_marker(path.name) is not None]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _run_job(
    conn_id: str,
    landing: Path,
    ledger: MemoryLedger | None = None,
    *,
    owner: str = "",
    after_import: AfterImport = AfterImport.KEEP,
    on_conflict: OnConflict = OnConflict.FAIL,
) -> ImportResult:
    """One ImportJob run (no Airflow task around it) over a fresh session."""

    async def run() -> ImportResult:
        async with ActitoSftpHook(conn_id).open_async_session() as session:
            request = ImportRequest(
                location="inbound",
                file_filter=FileFilter(min_age=0),
                destination=Destination(landing, owner=owner, on_conflict=on_conflict),
                options=ImportOptions(after_import=after_import),
                owner=owner,
            )
            return await ImportJob(session, request, ledger or MemoryLedger()).run()

    return asyncio.run(run())


def test_a_file_still_being_written_is_never_published_nor_deleted(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    """Issue 9.1: a file appended to during the import stays on the server and is not published."""
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    growing = folders["inbound"] / "growing.csv"
    growing.write_bytes(os.urandom(10 << 20))
    chown_tree(folders["inbound"], sshd.user)
    stop = tmp_path / "stop-writing"
    # The partner, in its own process, keeps appending through an open handle (which follows the file
    # through our claim rename, as a real upload does) until told to stop: 4 KiB every millisecond.
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys, time\n"
            "deadline = time.monotonic() + 120\n"
            "with open(sys.argv[1], 'ab', buffering=0) as f:\n"
            "    while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:\n"
            "        f.write(os.urandom(4096)); time.sleep(0.001)\n",
            str(growing),
            str(stop),
        ]
    )
    landing = tmp_path / "landing"
    try:
        time.sleep(0.2)
        run = run_dag("growing_file", _import(conn_id, landing, min_age=0, after_import="delete"))
    finally:
        stop.touch()
        writer.wait(timeout=30)
    assert task_states(run) == {"import": "success"}  # nothing refused: the file is simply not ready
    assert not (landing / "growing.csv").exists()
    assert [path.name for path in folders["inbound"].iterdir()] == ["growing.csv"]  # released, not deleted
    final = growing.read_bytes()
    assert len(final) > 10 << 20
    # Once the partner is done, the next run imports all of it.
    again = run_dag("growing_file", _import(conn_id, landing, min_age=0, after_import="delete"))
    assert task_states(again) == {"import": "success"}
    assert (landing / "growing.csv").read_bytes() == final
    assert stat.S_IMODE((landing / "growing.csv").stat().st_mode) == 0o600  # plaintext is private
    assert list(folders["inbound"].iterdir()) == []


def test_default_min_age_leaves_a_fresh_file_alone(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    (folders["inbound"] / "fresh.csv").write_text("just written\n")
    chown_tree(folders["inbound"], sshd.user)
    run = run_dag("default_min_age", _import(conn_id, tmp_path / "landing", after_import="delete"))
    assert task_states(run) == {"import": "success"}
    assert (folders["inbound"] / "fresh.csv").exists()
    assert not (tmp_path / "landing" / "fresh.csv").exists()


@pytest.fixture
def three_encryptions_of_x(pgp_connection, folders: dict[str, Path], sshd: SshServer, tmp_path: Path) -> list[bytes]:
    """``x.csv.pgp``, ``x.csv.gpg`` and ``x.csv.asc`` on the server, each a different plaintext."""
    _, partner, our_public = pgp_connection
    plaintexts = []
    for suffix in ("pgp", "gpg", "asc"):
        plaintext = tmp_path / f"x-{suffix}.csv"
        plaintext.write_bytes(f"id\n{suffix}\n".encode())
        partner.encrypt_to(our_public, plaintext, folders["inbound"] / f"x.csv.{suffix}")
        plaintexts.append(plaintext.read_bytes())
    chown_tree(folders["inbound"], sshd.user)
    return plaintexts


def test_files_mapping_to_one_name_never_overwrite_each_other(
    airflow_db: Path, pgp_connection, three_encryptions_of_x: list[bytes], folders: dict[str, Path], tmp_path: Path
):
    """Issue 9.2, on_conflict='fail': one is imported, the others are refused and stay on the server."""
    conn_id = pgp_connection[0]
    landing = tmp_path / "landing"
    run = run_dag(
        "colliding_fail",
        _import(conn_id, landing, min_age=0, after_import="delete", retries=2),
    )
    assert task_states(run) == {"import": "failed"}
    assert _tries(run) == 1  # a refusal is not retried
    assert published_names(landing) == ["x.csv"]
    published = (landing / "x.csv").read_bytes()
    assert published in three_encryptions_of_x
    left = sorted(path.name for path in folders["inbound"].iterdir())
    assert len(left) == 2
    assert not _markers(folders["inbound"])
    refused = [record for record in import_records(run) if record["status"] == "failed"]
    assert len(refused) == 2
    assert all("x.csv" in record["error"] and record["retryable"] is False for record in refused)


def test_rename_policy_publishes_every_colliding_file(
    airflow_db: Path, pgp_connection, three_encryptions_of_x: list[bytes], folders: dict[str, Path], tmp_path: Path
):
    conn_id = pgp_connection[0]
    landing = tmp_path / "landing"
    (landing).mkdir()
    (landing / "x.csv").write_bytes(b"from yesterday\n")
    run = run_dag(
        "colliding_rename",
        _import(conn_id, landing, min_age=0, after_import="delete", on_conflict="rename"),
    )
    assert task_states(run) == {"import": "success"}
    assert (landing / "x.csv").read_bytes() == b"from yesterday\n"
    published = sorted((landing / name).read_bytes() for name in ("x-1.csv", "x-2.csv", "x-3.csv"))
    assert published == sorted(three_encryptions_of_x)
    assert list(folders["inbound"].iterdir()) == []


def test_a_file_left_by_an_earlier_run_is_not_replaced(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    (folders["inbound"] / "daily.csv").write_text("today\n")
    chown_tree(folders["inbound"], sshd.user)
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "daily.csv").write_text("yesterday, not loaded yet\n")
    run = run_dag("earlier_file", _import(conn_id, landing, min_age=0, after_import="delete"))
    assert task_states(run) == {"import": "failed"}
    assert (landing / "daily.csv").read_text() == "yesterday, not loaded yet\n"
    assert (folders["inbound"] / "daily.csv").read_text() == "today\n"
    [record] = import_records(run)
    assert "already exists" in record["error"]
    assert "on_conflict" in record["error"]


def test_a_decompression_bomb_is_refused(
    airflow_db: Path, pgp_connection, folders: dict[str, Path], sshd: SshServer, tmp_path: Path
):
    """Issue 9.3: a few hundred KB that inflate to 64 MiB are refused before they fill the disk."""
    conn_id, partner, our_public = pgp_connection
    zeros = tmp_path / "zeros.bin"
    with zeros.open("wb") as handle:
        handle.truncate(64 << 20)
    partner.encrypt_to(our_public, zeros, folders["inbound"] / "bomb.csv.pgp")
    chown_tree(folders["inbound"], sshd.user)
    wire = (folders["inbound"] / "bomb.csv.pgp").stat().st_size
    assert wire < 1 << 20
    landing = tmp_path / "landing"
    run = run_dag(
        "bomb",
        _import(conn_id, landing, min_age=0, after_import="delete", quarantine_location="quarantine"),
    )
    assert task_states(run) == {"import": "failed"}
    assert published_names(landing) == []  # nothing published, no partial file left
    assert [path.name for path in folders["quarantine"].iterdir()] == ["bomb.csv.pgp"]
    [record] = import_records(run)
    assert "max_expansion_ratio" in record["error"]


@needs_root
def test_a_file_that_cannot_be_claimed_does_not_stop_the_others(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    """Issue 9.4: a sticky folder with one file of another user, and a name too long to claim."""
    inbound = folders["inbound"]
    for name in ("a.csv", "b.csv", "c.csv", "L" * 240 + ".csv"):
        (inbound / name).write_text(f"{name[:10]}\n")
    chown_tree(inbound, sshd.user)
    (inbound / "root-owned.csv").write_text("not ours\n")  # root's file in a sticky folder
    os.chown(inbound, 0, 0)
    inbound.chmod(0o1777)
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    landing = tmp_path / "landing"
    run = run_dag("unclaimable", _import(conn_id, landing, min_age=0, after_import="delete"))
    assert task_states(run) == {"import": "failed"}
    assert published_names(landing) == ["a.csv", "b.csv", "c.csv"]
    assert sorted(path.name for path in inbound.iterdir()) == sorted(["root-owned.csv", "L" * 240 + ".csv"])
    errors = {record["remote_path"].rsplit("/", 1)[-1]: record["error"] for record in import_records(run)}
    assert "permission denied" in errors["root-owned.csv"]
    assert "claim='none'" in errors["root-owned.csv"]
    assert "too long to claim" in errors["L" * 240 + ".csv"]


@needs_root
def test_a_read_only_folder_imports_once_with_claim_none(
    airflow_db: Path, make_connection: ConnectionFactory, folders: dict[str, Path], tmp_path: Path
):
    inbound = folders["inbound"]
    (inbound / "report.csv").write_text("read only\n")
    os.chown(inbound, 0, 0)
    inbound.chmod(0o755)  # the test user may list and read, not rename
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    landing = tmp_path / "landing"
    refused = run_dag("read_only_default", _import(conn_id, landing, min_age=0))
    assert task_states(refused) == {"import": "failed"}
    assert "claim='none'" in import_records(refused)[0]["error"]
    body = _import(conn_id, landing, min_age=0, claim="none")
    first = run_dag("read_only", body)
    assert task_states(first) == {"import": "success"}
    assert (landing / "report.csv").read_text() == "read only\n"
    second = run_dag("read_only", body)
    assert task_states(second) == {"import": "success"}
    assert import_records(second) == []  # the ledger says it was imported


def _restricted_sshd(sftp_user: SftpUser, sftp_flags: str) -> Iterator[SshServer]:
    """A partner server whose SFTP forbids some requests (``internal-sftp -P ...``), with a client key of its own
    in ``workdir/client-key``."""
    from partner_sandbox.sshd import generate_ssh_key, remove_server, start_sshd

    server = start_sshd(sftp_user, sftp_flags=sftp_flags)
    server.add_authorized_key(generate_ssh_key(Path(server.workdir) / "client-key"))
    yield server
    remove_server(server)


@pytest.fixture
def no_delete_sshd(sftp_user: SftpUser) -> Iterator[SshServer]:
    """A partner server that forbids deleting files (``internal-sftp -P remove``)."""
    yield from _restricted_sshd(sftp_user, "-P remove")


def test_a_failing_remote_step_still_reports_every_imported_file(
    airflow_db: Path, make_connection: ConnectionFactory, no_delete_sshd: SshServer, tmp_path: Path
):
    """Issue 9.6: delete refused after publish: every file's record is kept. Issue 14.7: the server refuses
    deletes (``-P remove``), so the task fails without a retry, naming the setting that works there; a run with
    after_import='keep' then finishes the staged files (back under their names, in the ledger), importing
    nothing twice."""
    inbound = no_delete_sshd.make_folder("inbound")
    for name in ("a.csv", "b.csv"):
        (inbound / name).write_text(f"{name}\n")
    chown_tree(inbound, no_delete_sshd.user)
    key_text = (Path(no_delete_sshd.workdir) / "client-key").read_text()
    conn_id = make_connection(
        conn_id="no_delete",
        host=no_delete_sshd.host,
        port=no_delete_sshd.port,
        ssh_private_key=key_text,
        host_key=no_delete_sshd.host_key_line,
        locations={"inbound": str(inbound)},
    )
    landing = tmp_path / "landing"
    run = run_dag("no_delete", _import(conn_id, landing, min_age=0, after_import="delete", retries=2))
    assert task_states(run) == {"import": "failed"}
    assert _tries(run) == 1  # refused by the server: no retry
    records = import_records(run)
    assert sorted(Path(record["local_path"]).name for record in records) == ["a.csv", "b.csv"]
    assert all(record["status"] == "success" and record["remote_outcome"] == "not finished" for record in records)
    assert all(not record["retryable"] for record in records)
    for record in records:
        assert "the server refuses to delete it (permission denied by the server)" in record["error"]
        assert "set after_import='keep'" in record["error"]
    assert published_names(landing) == ["a.csv", "b.csv"]
    assert len(_markers(inbound)) == 2  # staged: imported, hidden from the partner's listing
    kept = run_dag("no_delete_keep", _import(conn_id, landing, min_age=0, after_import="keep", claim_timeout=0))
    assert task_states(kept) == {"import": "success"}
    assert import_records(kept) == []  # nothing imported twice
    assert sorted(path.name for path in inbound.iterdir()) == ["a.csv", "b.csv"]
    assert published_names(landing) == ["a.csv", "b.csv"]


def test_a_symlink_named_like_a_marker_is_never_followed(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    """Issue 9.7: recovery used to publish /etc/passwd through a marker-named symlink."""
    inbound = folders["inbound"]
    trap = inbound / f".orders.csv.actito-claim-{int(time.time()) - 7200}-0123456789ab"
    trap.symlink_to("/etc/passwd")
    (inbound / "real.csv").write_text("real\n")
    chown_tree(inbound, sshd.user)
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    landing = tmp_path / "landing"
    run = run_dag("marker_symlink", _import(conn_id, landing, min_age=0, after_import="delete"))
    assert task_states(run) == {"import": "success"}
    assert published_names(landing) == ["real.csv"]
    assert trap.is_symlink()
    assert [path.name for path in inbound.iterdir()] == [trap.name]
    passwd = Path("/etc/passwd").read_bytes()
    assert not [path for path in tmp_path.rglob("*") if path.is_file() and path.read_bytes() == passwd]


def test_a_retry_resumes_its_own_claims_at_once(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    """Issue 9.5: the same task's claims are resumed now; another run's fresh claims are left alone."""
    inbound = folders["inbound"]
    ours, theirs = owner_id("dag", "import", "run-1", "-1"), owner_id("dag", "import", "run-2", "-1")
    now = int(time.time())
    (inbound / f".mine.csv.actito-claim-{now}-{ours}-00112233aabb").write_text("mine\n")
    published = b"staged by me\n"
    (inbound / f".done.csv.actito-staged-{now}-{ours}-{_sha(published)[:32]}").write_bytes(published)
    foreign = inbound / f".other.csv.actito-claim-{now}-{theirs}-00112233aabb"
    foreign.write_text("another run is on it\n")
    foreign_staged = inbound / f".live.csv.actito-staged-{now}-{theirs}-{_sha(b'live')[:32]}"
    foreign_staged.write_bytes(b"live")
    chown_tree(inbound, sshd.user)
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "done.csv").write_bytes(published)
    (landing / "live.csv").write_bytes(b"live")  # a live run published it and is about to finish it
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})

    result = _run_job(conn_id, landing, owner=ours, after_import=AfterImport.DELETE)
    assert (landing / "mine.csv").read_text() == "mine\n"
    assert sorted(path.name for path in inbound.iterdir()) == sorted([foreign.name, foreign_staged.name])
    assert not result.failed
    assert not result.refused


def test_a_full_disk_fails_the_files_that_do_not_fit_and_keeps_them_on_the_server(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    if not running_as_root():
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    landing = tmp_path / "small-disk"
    landing.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(landing)], check=True)
    try:
        inbound = folders["inbound"]
        contents = {f"f{index}.bin": os.urandom(400 * 1024) for index in range(4)}
        for name, data in contents.items():
            (inbound / name).write_bytes(data)
        chown_tree(inbound, sshd.user)
        conn_id = make_connection(locations={name: str(path) for name, path in folders.items()}, transfer_concurrency=1)
        run = run_dag("disk_full", _import(conn_id, landing, min_age=0, after_import="delete"))
        assert task_states(run) == {"import": "failed"}
        landed = {name: (landing / name).read_bytes() for name in published_names(landing)}
        assert landed
        assert all(contents[name] == data for name, data in landed.items())
        left = {path.name: path.read_bytes() for path in inbound.iterdir()}
        assert set(left) | set(landed) == set(contents)
        assert not set(left) & set(landed)
        assert all(contents[name] == data for name, data in left.items())
        failed = [record for record in import_records(run) if record["status"] == "failed"]
        assert failed
        assert all(record["retryable"] for record in failed)
    finally:
        subprocess.run(["umount", str(landing)], check=False)


def test_a_same_size_rewrite_within_the_same_second_is_imported_in_keep_mode(
    make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    """Issue 9.11: OpenSSH gives whole-second mtimes; a ledger entry made in the file's own second is
    ambiguous, and the content decides."""
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    source = folders["inbound"] / "daily.csv"
    landing = tmp_path / "landing"
    ledger = MemoryLedger()

    def write(content: bytes, second: int) -> None:
        source.write_bytes(content)
        os.utime(source, (second, second))
        chown_tree(folders["inbound"], sshd.user)

    second = int(time.time())
    write(b"version 1\n", second)
    assert len(_run_job(conn_id, landing, ledger, on_conflict=OnConflict.REPLACE).imported) == 1
    # imported within the file's own second (on a busy machine the job may take longer than the clock slack)
    ledger.entries["daily.csv"] = dataclasses.replace(ledger.entries["daily.csv"], imported_at=float(second))
    write(b"version 2\n", second)  # the same size, within the same second
    assert len(_run_job(conn_id, landing, ledger, on_conflict=OnConflict.REPLACE).imported) == 1
    assert (landing / "daily.csv").read_bytes() == b"version 2\n"
    published_at = (landing / "daily.csv").stat().st_mtime_ns
    third = _run_job(conn_id, landing, ledger, on_conflict=OnConflict.REPLACE)
    assert third.imported == []
    assert third.skipped == [("daily.csv", "already imported (same content)")]
    assert (landing / "daily.csv").stat().st_mtime_ns == published_at


def test_binary_data_that_starts_like_pgp_is_not_taken_for_pgp(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    """Issue 9.12: with PGP optional, a plaintext whose first byte is a packet tag is imported as it is;
    a passphrase-encrypted file is refused as such, not as tampered."""
    from airflow_provider_actito_sftp.pgp.keys import generate_inbound_key

    secret_keys, _ = generate_inbound_key("sniffing")
    conn_id = make_connection(
        locations={name: str(path) for name, path in folders.items()}, inbound_pgp_private_keys=secret_keys
    )
    binary = b"\x85\x01\x0c" + os.urandom(4096)  # 0x85: an old-format PKESK tag, but not a PGP message
    (folders["inbound"] / "image.bin").write_bytes(binary)
    plain = tmp_path / "plain.txt"
    plain.write_text("hello\n")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback", "--passphrase", "pw",
         "--symmetric", "--output", str(folders["inbound"] / "secret.txt.gpg"), str(plain)],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
    chown_tree(folders["inbound"], sshd.user)
    landing = tmp_path / "landing"
    run = run_dag("sniffing", _import(conn_id, landing, min_age=0, after_import="delete"))
    assert (landing / "image.bin").read_bytes() == binary
    [refused] = [record for record in import_records(run) if record["status"] == "failed"]
    assert refused["remote_path"].endswith("secret.txt.gpg")
    assert "symmetric" in refused["error"]
    assert "tamper" not in refused["error"]
    assert (folders["inbound"] / "secret.txt.gpg").exists()


def test_a_refusal_is_not_retried_and_an_empty_import_triggers_nothing(
    airflow_db: Path, pgp_connection, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    """Issue 9.10: try 1 quarantining a bad file and try 2 finding nothing used to turn the task green."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    conn_id, partner, our_public = pgp_connection
    landing = tmp_path / "landing"
    uri = landing.resolve().as_uri()

    def events() -> int:
        with create_session() as session:
            return (
                session.query(AssetEvent)
                .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                .filter(AssetModel.uri == uri)
                .count()
            )

    body = _import(conn_id, landing, min_age=0, after_import="delete", quarantine_location="quarantine", retries=2)
    (folders["inbound"] / "plain.csv").write_text("not encrypted\n")
    chown_tree(folders["inbound"], sshd.user)
    refused = run_dag("refusal_no_retry", body)
    assert task_states(refused) == {"import": "failed"}
    assert _tries(refused) == 1
    assert [path.name for path in folders["quarantine"].iterdir()] == ["plain.csv"]
    empty = run_dag("refusal_no_retry", body)
    assert task_states(empty) == {"import": "success"}
    assert events() == 0  # nothing moved: no downstream run
    source = tmp_path / "good.csv"
    source.write_text("id\n1\n")
    partner.encrypt_to(our_public, source, folders["inbound"] / "good.csv.pgp")
    chown_tree(folders["inbound"], sshd.user)
    assert task_states(run_dag("refusal_no_retry", body)) == {"import": "success"}
    assert events() == 1


@pytest.fixture
def no_rename_sshd(sftp_user: SftpUser) -> Iterator[SshServer]:
    """A partner server that forbids renaming files (``internal-sftp -P rename``), as some restrict drop folders."""
    yield from _restricted_sshd(sftp_user, "-P rename,posix-rename@openssh.com")


def test_a_server_that_forbids_renames_is_told_to_use_claim_none(
    airflow_db: Path, make_connection: ConnectionFactory, no_rename_sshd: SshServer, tmp_path: Path
):
    """Issue 14.7: the claim rename is refused by the server itself: the file is refused (not retried) with the
    way out, nothing moves on the server; claim='none' with the ledger then imports it once."""
    inbound = no_rename_sshd.make_folder("inbound")
    (inbound / "report.csv").write_text("renames forbidden\n")
    chown_tree(inbound, no_rename_sshd.user)
    conn_id = make_connection(
        conn_id="no_rename",
        host=no_rename_sshd.host,
        port=no_rename_sshd.port,
        ssh_private_key=(Path(no_rename_sshd.workdir) / "client-key").read_text(),
        host_key=no_rename_sshd.host_key_line,
        locations={"inbound": str(inbound)},
    )
    landing = tmp_path / "landing"
    refused = run_dag("no_rename_default", _import(conn_id, landing, min_age=0))
    assert task_states(refused) == {"import": "failed"}
    [record] = import_records(refused)
    assert "could not rename it to claim it" in record["error"]
    assert "claim='none'" in record["error"]
    assert [path.name for path in inbound.iterdir()] == ["report.csv"]  # untouched
    first = run_dag("no_rename", _import(conn_id, landing, min_age=0, claim="none"))
    assert task_states(first) == {"import": "success"}
    assert (landing / "report.csv").read_text() == "renames forbidden\n"


def test_names_whose_staged_marker_would_not_fit_are_refused_before_the_claim(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    """Issue 21.14: names of 190 and 200 bytes fit a claim marker in 255 bytes, not the staged one: they used to
    be claimed, then fail at staging on every run. Now they are refused at once (no retry), untouched, with the
    reason and the ways out; claim='none' imports them."""
    inbound = folders["inbound"]
    long_names = ["n" * 186 + ".csv", "é" * 97 + "xx.csv"]  # 190 and 200 bytes in UTF-8
    assert [len(name.encode()) for name in long_names] == [190, 200]
    for name in [*long_names, "short.csv"]:
        (inbound / name).write_text(f"{name[:5]}\n")
    chown_tree(inbound, sshd.user)
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    landing = tmp_path / "landing"
    run = run_dag("long_names", _import(conn_id, landing, min_age=0, after_import="delete", retries=2))
    assert task_states(run) == {"import": "failed"}
    assert _tries(run) == 1  # a refusal: not retried
    assert [path.name for path in landing.iterdir() if not path.name.startswith(".")] == ["short.csv"]
    assert sorted(path.name for path in inbound.iterdir()) == sorted(long_names)  # untouched, no marker left
    records = {record["remote_path"].rsplit("/", 1)[-1]: record for record in import_records(run)}
    for name in long_names:
        assert records[name]["retryable"] is False
        assert "over the 255-byte limit of file names" in records[name]["error"]
        assert "rename it on the server to at most 183 bytes, or import it with claim='none'" in records[name]["error"]
    in_place = run_dag("long_names_in_place", _import(conn_id, landing, min_age=0, claim="none"))
    assert task_states(in_place) == {"import": "success"}
    landed = sorted(path.name for path in landing.iterdir() if not path.name.startswith("."))
    assert landed == sorted([*long_names, "short.csv"])


def test_names_refused_before_any_claim_go_to_quarantine_once_and_later_runs_do_not_meet_them(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, folders: dict[str, Path], tmp_path: Path
):
    """Issue 21.12 and 21.14, with a quarantine location: a name too long for our markers, one that is not
    UTF-8 and one with a control character are refused once and moved there under their own names (no run can
    claim them, so none competes); the next run imports the rest without failing."""
    inbound, quarantine = folders["inbound"], folders["quarantine"]
    odd_names = [("q" * 196 + ".csv").encode(), b"caf\xe9.csv", b"tab\there.csv"]
    for name in [*odd_names, b"first.csv"]:
        (Path(os.fsdecode(bytes(inbound) + b"/" + name))).write_bytes(b"id\n1\n")
    chown_tree(inbound, sshd.user)
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    landing = tmp_path / "landing"
    options = {"min_age": 0, "after_import": "delete", "quarantine_location": "quarantine"}
    run = run_dag("odd_names_quarantined", _import(conn_id, landing, **options))
    assert task_states(run) == {"import": "failed"}  # refused: the task says so, once
    refused = [record for record in import_records(run) if record["status"] == "failed"]
    assert len(refused) == 3
    assert all(f"; moved to {quarantine}/" in record["error"] for record in refused), refused
    assert any(record["remote_path"].endswith("/caf\\xe9.csv") for record in refused)  # shown escaped
    assert sorted(os.listdir(bytes(quarantine))) == sorted(odd_names)  # their own names, bytes as they were
    (inbound / "second.csv").write_text("id\n2\n")
    chown_tree(inbound, sshd.user)
    again = run_dag("odd_names_quarantined_again", _import(conn_id, landing, **options))
    assert task_states(again) == {"import": "success"}
    assert sorted(path.name for path in landing.iterdir() if not path.name.startswith(".")) == [
        "first.csv",
        "second.csv",
    ]
