"""Markers of interrupted imports, and two live tries of one task instance (a zombie beside its retry).

A retry resumes its own task instance's markers at once: it cannot tell a dead earlier try from a live
one (a zombie: its host stalled, Airflow started the retry). Here the zombie is a real process frozen
with SIGSTOP at a chosen step while the retry runs against the real sshd, then continued: every file
must land exactly once, and the zombie must stop cleanly (no failed or refused record for a file the
retry imported).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from airflow_provider_actito_sftp.transfer.import_report import ImportResult
from airflow_provider_actito_sftp.transfer.importer import PARTIAL_SWEPT
from airflow_provider_actito_sftp.transfer.names import owner_id, parse_marker, partial_owner
from airflow_provider_actito_sftp.transfer.records import TransferRecord
from partner_sandbox.sshd import SshServer, chown_tree
from tests.conftest import ConnectionFactory

REPO = Path(__file__).resolve().parents[2]
OWNER = owner_id("zombie", "import", "scheduled__2026-01-01", "-1")
KiB = 1024


def _start_zombie(conn_id: str, landing: Path, freeze_at: str, log_path: Path) -> subprocess.Popen[bytes]:
    """The import as a task process of its own (tests.support.task_process) that freezes at ``freeze_at``."""
    command = [sys.executable, "-m", "tests.support.task_process", conn_id, "inbound", str(landing), OWNER]
    with log_path.open("wb") as log:
        return subprocess.Popen([*command, "delete", freeze_at], cwd=REPO, stdout=subprocess.PIPE, stderr=log)


def _wait_until_stopped(process: subprocess.Popen[bytes], log_path: Path) -> None:
    """Bounded wait for the process to stop itself (state T in /proc)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the zombie ended before it froze: {log_path.read_text()[-3000:]}")
        state = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "T":
            return
        time.sleep(0.005)
    process.kill()
    pytest.fail(f"the zombie did not freeze within 60 s: {log_path.read_text()[-3000:]}")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("freeze_at", ["claimed", "staged", "published"])
def test_a_zombie_beside_its_retry_loses_cleanly_and_every_file_lands_once(
    airflow_db: Path,
    make_connection: ConnectionFactory,
    sshd: SshServer,
    tmp_path: Path,
    freeze_at: str,
):
    """Issue 21.11: the zombie freezes with files claimed, staged or published; its retry (same owner)
    imports everything; the continued zombie ends with no failed or refused record, saying that another
    try of this task instance took its files over; every file is landed once, the server left empty."""
    folders = {name: sshd.make_folder(f"recovery/{tmp_path.name}/{name}") for name in ("inbound", "outbound")}
    inbound = folders["inbound"]
    contents = {f"f{index:02d}.csv": os.urandom(64 * KiB + index) for index in range(24)}
    for name, data in contents.items():
        (inbound / name).write_bytes(data)
    chown_tree(inbound, sshd.user)
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()}, transfer_concurrency=4)
    landing = tmp_path / "landing"
    landing.mkdir()

    log_path = tmp_path / "zombie.log"
    zombie = _start_zombie(conn_id, landing, freeze_at, log_path)
    try:
        _wait_until_stopped(zombie, log_path)
        held = [name for name in os.listdir(inbound) if parse_marker(name) is not None]
        assert held, "the zombie froze holding no file"
        # Its retry (the same task instance: the same owner) starts while it is frozen and resumes its markers.
        retry = ActitoSftpHook(conn_id).import_files("inbound", landing, owner=OWNER, after_import="delete", min_age=0)
        zombie.send_signal(signal.SIGCONT)
        out, _ = zombie.communicate(timeout=60)
    finally:
        if zombie.poll() is None:
            zombie.kill()
            zombie.wait(timeout=10)
    assert zombie.returncode == 0, log_path.read_text()[-3000:]
    zombie_result = json.loads(out.decode().strip().splitlines()[-1])
    held_files = sorted(marker.original for name in held if (marker := parse_marker(name)) is not None)
    print(f"\n[{freeze_at}] the zombie froze holding {held_files}; it then reported {zombie_result}")
    print(f"the retry: {len(retry.imported)} imported, skipped {retry.skipped}")

    # Nothing lost or doubled: each file imported by exactly one of the two tries, landed once, finished.
    assert not retry.failed, retry.failed
    assert not retry.refused, retry.refused
    imported = zombie_result["imported_names"] + [record.remote_path.rsplit("/", 1)[-1] for record in retry.imported]
    assert sorted(imported) == sorted(contents)
    landed = {path.name: path.read_bytes() for path in landing.iterdir() if partial_owner(path.name) is None}
    assert landed == contents  # no x-1.csv, nothing missing, nothing partial
    assert not [path for path in landing.iterdir() if partial_owner(path.name) is not None]
    assert os.listdir(inbound) == []  # every file finished, no marker left
    # The zombie stopped cleanly: no spurious failure; each file it held it either finished or left to the
    # retry, saying so.
    assert zombie_result["errors"] == []
    left_to_the_retry = {name for name, reason in zombie_result["skipped_with_reasons"] if "another live try" in reason}
    for name in held_files:
        assert name in zombie_result["imported_names"] or name in left_to_the_retry, name
    if freeze_at != "published":
        assert left_to_the_retry  # the file frozen right after its claim or stage was taken over


@pytest.mark.timeout(120)
def test_two_live_tries_running_at_once_import_each_file_once_and_neither_fails(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, tmp_path: Path
):
    """Issue 21.11 as reported: one try imports, and a second try of the same task instance (same owner)
    starts while the first still holds files. Neither freezes: they run side by side to the end."""
    folders = {name: sshd.make_folder(f"recovery/{tmp_path.name}/{name}") for name in ("inbound", "outbound")}
    inbound = folders["inbound"]
    contents = {f"g{index:02d}.csv": os.urandom(256 * KiB + index) for index in range(60)}
    for name, data in contents.items():
        (inbound / name).write_bytes(data)
    chown_tree(inbound, sshd.user)
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()}, transfer_concurrency=2)
    landing = tmp_path / "landing"
    results: dict[str, ImportResult] = {}

    def one_try(label: str) -> None:
        hook = ActitoSftpHook(conn_id)
        results[label] = hook.import_files("inbound", landing, owner=OWNER, after_import="delete", min_age=0)

    first = threading.Thread(target=one_try, args=("first",))
    first.start()
    deadline = time.monotonic() + 30
    while not any(parse_marker(name) for name in os.listdir(inbound)) and time.monotonic() < deadline:
        time.sleep(0.001)  # the first try holds a file: start the second one now
    second = threading.Thread(target=one_try, args=("second",))
    second.start()
    first.join(timeout=90)
    second.join(timeout=90)
    assert set(results) == {"first", "second"}
    for label, result in results.items():
        print(f"{label}: {len(result.imported)} imported, skipped {sorted({reason for _, reason in result.skipped})}")
        assert not result.failed, (label, result.failed)
        assert not result.refused, (label, result.refused)
    # A file whose local partial the second try swept at its start (while the first still held it) is put
    # back on the server under its own name, said so; the second try or the next run imports it.
    left = sorted(os.listdir(inbound))
    swept = {name for result in results.values() for name, reason in result.skipped if reason == PARTIAL_SWEPT}
    assert set(left) <= swept
    later = ActitoSftpHook(conn_id).import_files("inbound", landing, owner=OWNER, after_import="delete", min_age=0)
    assert _names(later.imported) == left
    imported = [name for result in [*results.values(), later] for name in _names(result.imported)]
    assert sorted(imported) == sorted(contents)  # each file once, by one of the tries
    assert {path.name: path.read_bytes() for path in landing.iterdir()} == contents
    assert os.listdir(inbound) == []


def _names(records: list[TransferRecord]) -> list[str]:
    return sorted(record.remote_path.rsplit("/", 1)[-1] for record in records)


@pytest.mark.parametrize("on_conflict", ["fail", "rename"])
def test_a_staged_file_the_other_try_publishes_after_the_retry_resumed_it_is_only_finished(
    airflow_db: Path,
    make_connection: ConnectionFactory,
    sshd: SshServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    on_conflict: str,
):
    """The narrowest race: the retry releases the live try's staged marker (nothing published yet), then
    the live try publishes it. The retry downloads the same content: it must not publish it a second time
    (``x-1.csv``) nor refuse it as a conflict; it finishes the remote step only."""
    from airflow_provider_actito_sftp.transfer import importer

    folders = {name: sshd.make_folder(f"recovery/{tmp_path.name}/{name}") for name in ("inbound", "outbound")}
    inbound, landing = folders["inbound"], tmp_path / "landing"
    landing.mkdir()
    data = os.urandom(100 * KiB)
    staged = inbound / f".daily.csv.actito-staged-{int(time.time())}-{OWNER}-{hashlib.sha256(data).hexdigest()[:32]}"
    staged.write_bytes(data)
    chown_tree(inbound, sshd.user)
    conn_id = make_connection(locations={name: str(path) for name, path in folders.items()})
    recover = importer.recover

    async def recover_then_the_live_try_publishes(job: importer.ImportJob, entries: list) -> list:  # type: ignore[type-arg]
        released = await recover(job, entries)
        assert not staged.exists()  # the retry released it: nothing was published yet
        (landing / "daily.csv").write_bytes(data)  # the live try's publish, right after
        return released

    monkeypatch.setattr(importer, "recover", recover_then_the_live_try_publishes)
    result = ActitoSftpHook(conn_id).import_files(
        "inbound", landing, owner=OWNER, after_import="delete", min_age=0, on_conflict=on_conflict
    )
    assert (result.imported, result.refused, result.failed) == ([], [], [])
    assert result.skipped == [("daily.csv", "already imported; deleted from the server")]
    assert {path.name: path.read_bytes() for path in landing.iterdir()} == {"daily.csv": data}
    assert os.listdir(inbound) == []
