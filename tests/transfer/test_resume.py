"""The bytes of a large download kept across tries (issue 22): a retry reads only the rest from the server, a file
changed on the server is read from zero, the kept bytes are private and removed once imported. A real sshd behind
the cutting proxy and a real gpg; then the store itself, on local disk."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.transfer import reconnect, resume
from airflow_provider_actito_sftp.transfer.names import parse_marker
from airflow_provider_actito_sftp.transfer.resume import KeptBytes, ResumeKey, sweep_kept
from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.sshd import SshServer, chown_tree
from tests.conftest import ConnectionFactory
from tests.support.large_import import (
    OWNER,
    drop,
    import_once,
    kept_files,
    pgp_extra,
    quick_resume,
    server_folders,
    sha256_of,
)
from tests.support.tcp_proxy import TcpProxy

CUT_AT = 0.8  # of the file, downstream


@pytest.fixture
def kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Kept bytes under ``tmp_path``; no reconnection within a try: a cut ends the try."""
    folder = quick_resume(monkeypatch, tmp_path)
    monkeypatch.setattr(reconnect, "RECONNECT_ATTEMPTS", 0)
    return folder


@pytest.fixture
def folders(sshd: SshServer, tmp_path: Path) -> dict[str, Path]:
    return server_folders(sshd, tmp_path)


@pytest.fixture
def partner() -> Iterator[PartnerGpg]:
    with PartnerGpg() as gpg:
        yield gpg


def _cut_try(conn_id: str, proxy: TcpProxy, size: int, landing: Path) -> None:
    """The first try: cut at 80% of the file, it fails for a retry and leaves its claim."""
    proxy.cut_next(downstream=int(size * CUT_AT))
    result = import_once(conn_id, landing)
    assert not result.imported
    assert [record.retryable for record in result.failed] == [True]
    assert proxy.cuts_done == 1


def _the_claim(inbound: Path) -> Path:
    [claim] = [path for path in inbound.iterdir() if parse_marker(path.name)]
    return claim


@pytest.mark.parametrize("pgp", [True, False], ids=["pgp", "plain"])
def test_a_retry_reads_only_what_the_cut_try_did_not_receive(
    make_connection: ConnectionFactory,
    sshd: SshServer,
    folders: dict[str, Path],
    proxy: TcpProxy,
    kept: Path,
    partner: PartnerGpg,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    pgp: bool,
) -> None:
    extra, our_public = pgp_extra(partner) if pgp else ({}, "")
    locations = {name: str(path) for name, path in folders.items()}
    conn_id = make_connection(host=proxy.host, port=proxy.port, locations=locations, **extra)
    large = drop(sshd, folders["inbound"], "big.csv", partner=partner if pgp else None, to=our_public)
    landing = tmp_path / "landing"

    _cut_try(conn_id, proxy, large.size, landing)

    assert _the_claim(folders["inbound"])  # hidden for the retry of this task instance, which resumes it at once
    bytes_file, sidecar = (
        next(path for path in kept_files(kept) if path.suffix == suffix) for suffix in (".bytes", ".json")
    )
    received = bytes_file.stat().st_size
    assert 0.5 * large.size <= received < large.size  # as received: the ciphertext, for a PGP file
    assert json.loads(sidecar.read_text())["durable"] == received
    assert bytes_file.read_bytes() == _the_claim(folders["inbound"]).read_bytes()[:received]
    assert stat.S_IMODE(bytes_file.stat().st_mode) == stat.S_IMODE(sidecar.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.stat().st_mode) == 0o700
    assert not (landing / large.local_name).exists()

    with caplog.at_level("WARNING", logger=reconnect.__name__):
        result = import_once(conn_id, landing)  # the retry: same owner

    assert len(result.imported) == 1
    assert not result.failed
    assert not result.refused
    assert sha256_of(landing / large.local_name) == large.plain_sha  # the whole file, hashed at the end
    retry = proxy.traffic[-1]
    print(f"\n{large.size} bytes on the server, {received} kept by the cut try, {retry.downstream} read by the retry")
    assert retry.downstream < 0.4 * large.size, f"{retry.downstream} of {large.size} bytes read again"
    assert retry.downstream < large.size - received + 0.05 * large.size
    assert f"resuming at byte {received} of {large.size} from the bytes an earlier try kept" in caplog.text
    assert list(folders["inbound"].iterdir()) == []
    assert kept_files(kept) == []  # removed once the file is imported


@pytest.mark.parametrize("change", ["mtime", "size"])
def test_a_file_changed_on_the_server_between_tries_is_read_from_zero(
    make_connection: ConnectionFactory,
    sshd: SshServer,
    folders: dict[str, Path],
    proxy: TcpProxy,
    kept: Path,
    tmp_path: Path,
    change: str,
) -> None:
    locations = {name: str(path) for name, path in folders.items()}
    conn_id = make_connection(host=proxy.host, port=proxy.port, locations=locations)
    large = drop(sshd, folders["inbound"], "big.csv")
    landing = tmp_path / "landing"
    _cut_try(conn_id, proxy, large.size, landing)
    claim = _the_claim(folders["inbound"])
    expected_sha = large.plain_sha
    if change == "mtime":  # same bytes, touched: nothing proves the kept start is still the file's
        os.utime(claim, (time.time() - 7200, time.time() - 7200))
    else:  # the partner replaced it with other content, longer
        replacement = drop(sshd, folders["archive"], "other.csv", large.size + 4096)
        os.replace(replacement.remote, claim)
        chown_tree(folders["inbound"], sshd.user)
        expected_sha = replacement.plain_sha
    size_now = claim.stat().st_size

    result = import_once(conn_id, landing)

    assert len(result.imported) == 1
    assert not result.failed
    assert sha256_of(landing / large.local_name) == expected_sha
    assert proxy.traffic[-1].downstream >= size_now  # all of it again
    assert kept_files(kept) == []  # the earlier version's bytes are gone too


def test_a_refused_file_leaves_no_kept_bytes(
    make_connection: ConnectionFactory,
    sshd: SshServer,
    folders: dict[str, Path],
    proxy: TcpProxy,
    kept: Path,
    partner: PartnerGpg,
    tmp_path: Path,
) -> None:
    """Encrypted to someone else's key: refused, whatever the tries; nothing of it stays on this machine."""
    extra, _ = pgp_extra(partner)
    stranger = partner.export_public(partner.generate())
    locations = {name: str(path) for name, path in folders.items()}
    conn_id = make_connection(host=proxy.host, port=proxy.port, locations=locations, **extra)
    large = drop(sshd, folders["inbound"], "big.csv", partner=partner, to=stranger)
    landing = tmp_path / "landing"
    _cut_try(conn_id, proxy, large.size, landing)
    assert kept_files(kept)

    result = import_once(conn_id, landing)

    assert len(result.refused) == 1
    assert not result.imported
    assert kept_files(kept) == []


# --- the store, on local disk -------------------------------------------------------------------------------

KEY = ResumeKey(OWNER, "actito_test", "inbound", "big.csv.pgp", 10_000, 1_700_000_000_000_000_000)


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return quick_resume(monkeypatch, tmp_path)


def _keep(key: ResumeKey, data: bytes, *, durable: bool = True) -> None:
    kept = KeptBytes.open(key)
    assert kept is not None
    kept.append(data)
    if durable:
        asyncio.run(kept.checkpoint())
    kept.close()


def _replayed(kept: KeptBytes) -> bytes:
    async def read() -> bytes:
        return b"".join([block async for block in kept.replay()])

    return asyncio.run(read())


def test_only_bytes_made_durable_are_trusted_by_a_later_try(store: Path) -> None:
    _keep(KEY, b"a" * 3000)
    _keep(KEY, b"b" * 2000, durable=False)  # appended, never checkpointed (a crash of the machine)
    kept = KeptBytes.open(KEY)
    assert kept is not None
    assert (kept.reused, kept.size) == (3000, 3000)
    assert _replayed(kept) == b"a" * 3000
    kept.remove()
    assert kept_files(store) == []


def test_another_version_of_the_file_starts_from_zero_and_removes_the_old_bytes(store: Path) -> None:
    _keep(KEY, b"a" * 3000)
    changed = ResumeKey(**{**KEY.__dict__, "mtime_ns": KEY.mtime_ns + 1_000_000_000})
    kept = KeptBytes.open(changed)
    assert kept is not None
    assert kept.reused == 0
    assert [path.name for path in kept_files(store)] == [f"{changed.stem}.bytes"]
    kept.remove()


def test_a_sidecar_that_does_not_match_is_not_trusted(store: Path) -> None:
    _keep(KEY, b"a" * 3000)
    sidecar = store / f"{KEY.stem}.json"
    recorded = json.loads(sidecar.read_text())
    for forged in ({**recorded, "durable": 20_000}, {**recorded, "key": {**recorded["key"], "owner": "x"}}, "garbage"):
        sidecar.write_text(json.dumps(forged))
        kept = KeptBytes.open(KEY)
        assert kept is not None
        assert kept.reused == 0
        kept.close()


def test_bytes_in_use_by_another_live_try_are_neither_shared_nor_swept(store: Path) -> None:
    holder = KeptBytes.open(KEY)
    assert holder is not None
    assert KeptBytes.open(KEY) is None  # a zombie beside its retry: the second keeps nothing
    old = time.time() - 7200
    for path in kept_files(store):
        os.utime(path, (old, old))
    assert sweep_kept(3600) == []
    holder.close()
    assert sweep_kept(3600) == [f"{KEY.stem}.bytes"]
    assert kept_files(store) == []


def test_the_sweep_leaves_bytes_younger_than_max_age(store: Path) -> None:
    _keep(KEY, b"a" * 3000)
    assert sweep_kept(3600) == []
    assert len(kept_files(store)) == 2


def test_a_full_disk_drops_the_kept_bytes_and_never_fails_the_download(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = KeptBytes.open(KEY)
    assert kept is not None

    def full(*_: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(resume.os, "pwrite", full)
    kept.append(b"a" * resume.REPLAY_CHUNK)  # written at once: fails, dropped
    assert kept.dropped
    kept.append(b"more")  # ignored
    asyncio.run(kept.checkpoint())
    assert kept_files(store) == []


def test_checkpoints_come_every_checkpoint_bytes(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resume, "CHECKPOINT_BYTES", 1000)
    kept = KeptBytes.open(KEY)
    assert kept is not None
    kept.append(b"a" * 999)
    assert not kept.due()
    kept.append(b"a")
    assert kept.due()
    asyncio.run(kept.checkpoint())
    assert not kept.due()
    assert json.loads((store / f"{KEY.stem}.json").read_text())["durable"] == 1000
    kept.close()


def test_the_kept_file_is_locked_while_open(store: Path) -> None:
    kept = KeptBytes.open(KEY)
    assert kept is not None
    fd = os.open(kept.path, os.O_RDONLY)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)
        kept.close()
