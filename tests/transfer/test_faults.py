"""Fault injection on real servers (issue 9, "Proof"): network cuts in both directions, then kill -9.

A TCP proxy on 127.0.0.1 cuts the SSH connection after a random number of bytes, client to server
(upstream) or server to client (downstream), at least 20 times each way per scenario; every round is
an ordinary try of the same task (same owner, same delivery log), and the state is checked between
rounds. A final try without faults must then finish the batch: every file delivered exactly once with
the right content, nothing lost, no marker, no ``.part`` and no partial file left. Last, a real task
process is killed with SIGKILL in the middle of a download, and its rerun must clean up after it.

Where a random round found a defect, a deterministic test aims a cut at the same protocol step (the
offsets counted back from the end of a clean run, measured through a byte-counting forwarder): the
close of a downloaded file, the reply to an export's final rename, and the recovery of a keep-mode
staged file.

The cut plan comes from a fixed seed (printed; override it with ``ACTITO_FAULTS_SEED``). Where a cut
lands in the protocol also depends on timing, so a seed reproduces the plan, not every interleaving.
Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
import pytest

from airflow_provider_actito_sftp.exceptions import ExportRefusedError, RemoteConnectError, RemoteLocationError
from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from airflow_provider_actito_sftp.pgp.keys import export_newest_public_key, generate_inbound_key
from airflow_provider_actito_sftp.private_tmp import provider_temp_root
from airflow_provider_actito_sftp.transfer.destinations import Destination
from airflow_provider_actito_sftp.transfer.exporter import ExportJob, ExportRequest, ExportResult, resolve_sources
from airflow_provider_actito_sftp.transfer.import_state import ImportRequest
from airflow_provider_actito_sftp.transfer.importer import ImportJob, ImportResult
from airflow_provider_actito_sftp.transfer.ledger import LedgerEntry
from airflow_provider_actito_sftp.transfer.names import owner_id, parse_marker, partial_owner
from airflow_provider_actito_sftp.transfer.options import AfterImport, ImportOptions, Overwrite
from airflow_provider_actito_sftp.transfer.selection import FileFilter
from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.sshd import SftpUser, SshServer, chown_tree
from tests.conftest import ConnectionFactory
from tests.support.memory_stores import MemoryDeliveries, MemoryLedger
from tests.support.tcp_proxy import TcpProxy

SEED = int(os.environ.get("ACTITO_FAULTS_SEED", "20260917"))
CUTS_EACH_WAY = 20
MAX_ROUNDS = 110
ROUNDS_DEADLINE = 75.0  # seconds of cut rounds per scenario, at most
ROUND_TIMEOUT = 30.0  # a try that neither finishes nor fails in this time hangs: a bug
HANDSHAKE_BYTES = 3000  # a bit less than each direction carries to connect, authenticate, start SFTP
KiB, MiB = 1 << 10, 1 << 20
# What a cut raises out of a try (per-file errors are caught by the engine and reported as failed).
CUT_ERRORS = (RemoteConnectError, RemoteLocationError, asyncssh.Error, OSError, EOFError)

OWNER = owner_id("faults", "import", "manual__2026-01-01", "-1")
LOCAL = "local"  # the names of the local folders the tests write in


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha(path: Path) -> str:
    return _sha(path.read_bytes())


@dataclass(frozen=True)
class Original:
    """A file the partner dropped: its remote name and content, and what must land locally."""

    remote_name: str
    local_name: str
    remote_sha: str
    plain_sha: str
    size: int  # on the server
    plain_size: int  # landed


@dataclass
class CutStats:
    """Cuts planned and done, per direction, over the rounds of one scenario."""

    rounds: int = 0
    planned: Counter[str] = field(default_factory=Counter)
    done: Counter[str] = field(default_factory=Counter)
    completed_rounds: int = 0  # tries that ran to the end (the cut came too late or hit nothing)
    failures_reported: int = 0  # failure records of cut tries (retryable)

    def enough(self) -> bool:
        return min(self.done["upstream"], self.done["downstream"]) >= CUTS_EACH_WAY

    def summary(self) -> str:
        return (
            f"{self.rounds} rounds, cuts done upstream {self.done['upstream']}/{self.planned['upstream']} planned, "
            f"downstream {self.done['downstream']}/{self.planned['downstream']} planned, "
            f"{self.completed_rounds} tries ran to the end, {self.failures_reported} failure records"
        )


@pytest.fixture
def places(sshd: SshServer, tmp_path: Path) -> dict[str, Path]:
    """Server folders of this test alone (the shared ``folders`` fixture names them after the first 40
    characters of the test name, which parametrized cases share)."""
    return {name: sshd.make_folder(f"faults/{tmp_path.name}/{name}") for name in ("inbound", "outbound")}


def _log_uniform(rng: random.Random, low: float, high: float) -> int:
    return int(math.exp(rng.uniform(math.log(low), math.log(max(high, low + 1)))))


def _plan_cut(rng: random.Random, stats: CutStats, main: str, spans: dict[str, int]) -> tuple[str, int]:
    """Pick the direction that still needs cuts (``main`` more often) and a byte count.

    One cut in five lands during the key exchange / authentication / SFTP start. The others fall in the
    data phase, whose expected length (``spans``) comes from the work left: three in ten log-uniformly
    (listing, claims, opens, the first blocks: the protocol steps) and half uniformly (deep in transfers,
    end-of-file checks, renames).
    """
    other = "upstream" if main == "downstream" else "downstream"
    if stats.done[main] >= CUTS_EACH_WAY:
        direction = other
    elif stats.done[other] >= CUTS_EACH_WAY:
        direction = main
    else:
        direction = main if rng.random() < 0.6 else other
    where = rng.random()
    if where < 0.2:
        return direction, rng.randint(1, HANDSHAKE_BYTES)
    if where < 0.5:
        return direction, HANDSHAKE_BYTES + _log_uniform(rng, 16, spans[direction])
    return direction, HANDSHAKE_BYTES + rng.randint(16, max(spans[direction], 17))


def _cut(proxy: TcpProxy, direction: str, budget: int) -> None:
    if direction == "upstream":
        proxy.cut_next(upstream=budget)
    else:
        proxy.cut_next(downstream=budget)


def _our_gnupg_homes(pid: int) -> list[str]:
    """The temporary GNUPGHOMEs of process ``pid`` still on disk (``<root>/gnupg/<pid>-<random>``)."""
    folder = provider_temp_root() / "gnupg"
    if not folder.exists():
        return []
    return sorted(entry.name for entry in folder.iterdir() if entry.name.startswith(f"{pid}-"))


# --- imports ------------------------------------------------------------------------------------------


def _import_once(conn_id: str, landing: Path, after_import: AfterImport, ledger: MemoryLedger) -> ImportResult:
    """One try of the import task: a new session, a new destination, the same owner."""

    async def run() -> ImportResult:
        async with ActitoSftpHook(conn_id).open_async_session() as session:
            request = ImportRequest(
                location="inbound",
                file_filter=FileFilter("*", min_age=0, lock_suffix=".part"),
                destination=Destination(landing, owner=OWNER),
                options=ImportOptions(after_import=after_import),
                owner=OWNER,
            )
            return await ImportJob(session, request, ledger).run()

    return asyncio.run(asyncio.wait_for(run(), ROUND_TIMEOUT))


def _drop_inbound_files(
    inbound: Path,
    rng: random.Random,
    first: int,
    count: int,
    pgp_count: int,
    encrypt: Callable[[Path, Path], None],
    user: SftpUser,
) -> dict[str, Original]:
    """The partner's batch: plaintext files of random sizes (1 KiB - 2 MiB, log-uniform), a few
    PGP-encrypted, all last modified an hour ago (complete; no same-second ambiguity in keep mode)."""
    originals: dict[str, Original] = {}
    plain_folder = inbound.parent / "plaintext-of-pgp"
    plain_folder.mkdir(exist_ok=True)
    for index in range(first, first + count):
        size = _log_uniform(rng, KiB, 2 * MiB)
        data = b"id;payload\n" + os.urandom(size)  # a text header: never sniffed as PGP
        local_name = f"orders-{index:03d}.csv"
        if index - first < pgp_count:
            plain = plain_folder / local_name
            plain.write_bytes(data)
            remote = inbound / f"{local_name}.pgp"
            encrypt(plain, remote)
        else:
            remote = inbound / local_name
            remote.write_bytes(data)
        old = time.time() - 3600
        os.utime(remote, (old, old))
        originals[remote.name] = Original(
            remote.name, local_name, _file_sha(remote), _sha(data), remote.stat().st_size, len(data)
        )
    chown_tree(inbound, user)
    return originals


@dataclass
class ImportState:
    landed: dict[str, str]  # local final name -> sha256
    partials: list[str]
    remote_plain: dict[str, str]  # remote name -> sha256
    remote_markers: dict[str, tuple[str, str]]  # marker name -> (original, sha256)


def _import_state(landing: Path, inbound: Path) -> ImportState:
    """Both folders at one moment: after a cut the server may still carry out requests the cut session sent (a
    claim's rename, a delete), so the folders are read until two readings in a row agree."""
    previous = None
    for _ in range(100):
        try:
            current = _read_import_state(landing, inbound)
        except FileNotFoundError:  # renamed or deleted between the listing and the read
            current = None
        if current is not None and current == previous:
            return current
        previous = current
        time.sleep(0.05)
    raise AssertionError(f"the folders kept changing after the try ended: {landing}, {inbound}")


def _read_import_state(landing: Path, inbound: Path) -> ImportState:
    landed, partials = {}, []
    for path in landing.iterdir():
        if partial_owner(path.name) is not None:
            partials.append(path.name)
        else:
            landed[path.name] = _file_sha(path)
    plain, markers = {}, {}
    for path in inbound.iterdir():
        marker = parse_marker(path.name)
        if marker is None:
            plain[path.name] = _file_sha(path)
        else:
            markers[path.name] = (marker.original, _file_sha(path))
    return ImportState(landed, sorted(partials), plain, markers)


def _ledger_sha_matches(entry: LedgerEntry, original: Original) -> bool:
    """The recorded hash is the file's (a try that finishes an earlier try's staged file records only the
    32 hex digits its marker name holds: see test_keep_mode_recovery_records_the_full_sha256_in_the_ledger)."""
    return entry.sha256 in (original.plain_sha, original.plain_sha[:32])


def _check_import_invariants(
    state: ImportState,
    originals: dict[str, Original],
    ledger: MemoryLedger,
    keep: bool,
    where: str,
) -> None:
    """What must hold after any try, cut or not: nothing wrong published, lost, doubled or stray."""
    by_local = {original.local_name: original for original in originals.values()}
    # Under a final local name: only a complete, correct file, and only under its own name (no x-1.csv).
    for name, digest in state.landed.items():
        assert name in by_local, f"{where}: unexpected local file {name!r} (a duplicate or a stray)"
        assert digest == by_local[name].plain_sha, f"{where}: {name!r} published with the wrong/partial content"
    landed_counts = Counter(state.landed.values())
    assert all(count == 1 for count in landed_counts.values()), f"{where}: one content landed twice"
    # Partial files: hidden names only, private, ours (the loop checks that the next try sweeps them).
    for name in state.partials:
        assert partial_owner(name) == OWNER, f"{where}: partial file {name!r} of another owner"
    # On the server: only the originals, under their name or one of our markers, with the same content.
    remote_originals: Counter[str] = Counter()
    for name, digest in state.remote_plain.items():
        assert name in originals, f"{where}: stray remote file {name!r}"
        assert digest == originals[name].remote_sha, f"{where}: remote {name!r} changed"
        remote_originals[name] += 1
    for name, (original, digest) in state.remote_markers.items():
        marker = parse_marker(name)
        assert marker is not None
        assert original in originals, f"{where}: marker {name!r} of an unknown file"
        assert marker.owner == OWNER, f"{where}: marker {name!r} of another owner"
        assert digest == originals[original].remote_sha, f"{where}: marker {name!r} holds other content"
        remote_originals[original] += 1
    doubled = sorted(name for name, count in remote_originals.items() if count > 1)
    assert not doubled, f"{where}: files present twice on the server: {doubled}"
    landed_remote = {o.remote_name for o in originals.values() if o.local_name in state.landed}
    lost = sorted(set(originals) - landed_remote - set(remote_originals))
    assert not lost, f"{where}: files lost (neither landed nor on the server): {lost}"
    for remote_name in sorted(landed_remote & set(state.remote_plain)):
        # Landed and back under its own name: only keep mode, and only once the ledger has it.
        assert keep, f"{where}: {remote_name!r} landed but is still on the server under its name (delete mode)"
        entry = ledger.get(remote_name)
        assert entry is not None, f"{where}: {remote_name!r} landed and was put back without a ledger entry"
        assert _ledger_sha_matches(entry, originals[remote_name]), f"{where}: ledger entry of {remote_name!r} is wrong"


def _remaining_import_work(
    state: ImportState, originals: dict[str, Original], ledger: MemoryLedger, keep: bool
) -> tuple[int, int]:
    """Bytes and files (plus markers to resume) a try still has to handle, for the cut spans."""

    def done(original: Original) -> bool:
        if original.local_name not in state.landed:
            return False
        if not keep:
            return original.remote_name not in state.remote_plain
        entry = ledger.get(original.remote_name)
        return original.remote_name in state.remote_plain and entry is not None

    todo = [original for original in originals.values() if not done(original)]
    return sum(o.size for o in todo), len(todo) + len(state.remote_markers)


def _outcomes_per_file(result: ImportResult) -> Counter[str]:
    records = result.imported + result.refused + result.failed
    return Counter(record.remote_path.rsplit("/", 1)[-1] for record in records)


@pytest.mark.timeout(170)
@pytest.mark.parametrize("after_import", ["delete", "keep"])
def test_import_survives_random_cuts_then_a_clean_retry_imports_everything_once(
    after_import: str,
    airflow_db: Path,
    make_connection: ConnectionFactory,
    sshd: SshServer,
    places: dict[str, Path],
    proxy: TcpProxy,
    tmp_path: Path,
):
    """>= 20 cuts each way (mostly downstream: the data flows to us), each round a retry of the same
    task; when the batch is done before that, the partner drops another one."""
    rng = random.Random(SEED * 10 + (1 if after_import == "delete" else 2))
    mode = AfterImport(after_import)
    keep = mode is AfterImport.KEEP
    inbound = places["inbound"]
    secret_keys, _ = generate_inbound_key("actito_test")
    our_public, _ = export_newest_public_key(secret_keys)
    conn_id = make_connection(
        host=proxy.host,
        port=proxy.port,
        locations={name: str(path) for name, path in places.items()},
        inbound_pgp_private_keys=secret_keys,  # PGP optional: .pgp files are decrypted, the others not
    )
    landing = tmp_path / LOCAL
    landing.mkdir()
    ledger = MemoryLedger()
    stats = CutStats()
    doubled_records = 0
    partials_leaked: list[str] = []  # partial files a cut try left (the next try sweeps them)
    with PartnerGpg() as partner:

        def drop(first: int, count: int, pgp_count: int) -> dict[str, Original]:
            def encrypt(plain: Path, remote: Path) -> None:
                partner.encrypt_to(our_public, plain, remote, compress=False)

            return _drop_inbound_files(inbound, rng, first, count, pgp_count, encrypt, sshd.user)

        originals = drop(0, 24, 3)
        batches = 1
        print(
            f"\n[import {after_import}] seed {SEED}: first batch {len(originals)} files (3 PGP), "
            f"{sum(o.size for o in originals.values())} bytes, owner {OWNER}"
        )
        started = time.monotonic()
        state = _import_state(landing, inbound)
        while not stats.enough() and stats.rounds < MAX_ROUNDS and time.monotonic() - started < ROUNDS_DEADLINE:
            remaining_bytes, remaining_files = _remaining_import_work(state, originals, ledger, keep)
            if remaining_files == 0:  # all imported: the partner drops the next batch
                originals |= drop(len(originals), 8, 1)
                batches += 1
                remaining_bytes, remaining_files = _remaining_import_work(state, originals, ledger, keep)
            spans = {
                "downstream": remaining_bytes + 300 * remaining_files + KiB,
                "upstream": remaining_bytes // 400 + 250 * remaining_files + 512,
            }
            direction, budget = _plan_cut(rng, stats, "downstream", spans)
            stats.rounds += 1
            stats.planned[direction] += 1
            where = f"seed {SEED}, {after_import}, round {stats.rounds}, cut {direction} after {budget} bytes"
            cuts_before = proxy.cuts_done
            partials_before = set(state.partials)
            sessions_before = sshd.sessions()
            _cut(proxy, direction, budget)
            swept = True  # the try got a session, so its destination swept our old partial files first
            try:
                result = _import_once(conn_id, landing, mode, ledger)
            except TimeoutError:
                pytest.fail(f"{where}: the try hung for {ROUND_TIMEOUT} s after the cut")
            except RemoteConnectError:
                swept = False
            except CUT_ERRORS:
                pass
            else:
                stats.failures_reported += len(result.failed)
                doubled_records += sum(1 for count in _outcomes_per_file(result).values() if count > 1)
                assert not result.refused, f"{where}: a cut made refusals (never retried): {result.refused}"
                if proxy.cuts_done == cuts_before:
                    stats.completed_rounds += 1
            proxy.clear()  # a plan the try did not consume (it never connected) must not hit the next one
            cut = proxy.cuts_done - cuts_before
            stats.done[direction] += cut
            sshd.wait_for_sessions_to_end(sessions_before)  # what a cut session sent is carried out before we look
            state = _import_state(landing, inbound)
            _check_import_invariants(state, originals, ledger, keep, where)
            if swept:
                stale = sorted(partials_before & set(state.partials))
                assert not stale, f"{where}: partial files of an earlier try not swept: {stale}"
            if not cut:
                assert not state.partials, f"{where}: a try that was not cut left partial files: {state.partials}"
            leaked = sorted(set(state.partials) - partials_before)
            if leaked:  # see test_a_cut_while_closing_a_downloaded_file_leaves_no_partial_file
                partials_leaked.append(f"round {stats.rounds} ({direction} {budget}): {len(leaked)}")
                for name in leaked:
                    assert stat.S_IMODE((landing / name).stat().st_mode) == 0o600, f"{where}: {name} not private"
            assert not _our_gnupg_homes(os.getpid()), f"{where}: temporary GNUPGHOMEs left"
        elapsed = time.monotonic() - started
    landed_during_cuts = len(state.landed)

    # The retry without faults finishes the batch.
    result = _import_once(conn_id, landing, mode, ledger)
    where = f"seed {SEED}, {after_import}, final retry after {stats.rounds} rounds"
    state = _import_state(landing, inbound)
    _check_import_invariants(state, originals, ledger, keep, where)
    total = sum(o.size for o in originals.values())
    pgp_files = sum(1 for name in originals if name.endswith(".pgp"))
    print(
        f"[import {after_import}] {stats.summary()} in {elapsed:.1f} s; {batches} batch(es), {len(originals)} files "
        f"({pgp_files} PGP, {total} bytes), {landed_during_cuts} landed under cuts; files with two outcome records "
        f"in one try: {doubled_records}; partial files left by cut tries (swept by the next): {partials_leaked}"
    )
    truncated = sorted(name for name, entry in ledger.entries.items() if len(entry.sha256) != 64)
    if keep:
        print(f"[import {after_import}] ledger entries with a 32-digit sha256 (finished by recovery): {truncated}")
    print(
        f"[import {after_import}] final retry: {len(result.imported)} imported, {len(result.skipped)} skipped, "
        f"{len(result.failed)} failed, {len(result.refused)} refused; proxy cuts_done={proxy.cuts_done}"
    )
    assert not result.failed, f"{where}: {result.failed}"
    assert not result.refused, f"{where}: {result.refused}"
    assert not result.unfinished, f"{where}: {result.unfinished}"
    assert state.landed == {o.local_name: o.plain_sha for o in originals.values()}, where
    assert not state.partials, where
    assert not state.remote_markers, f"{where}: markers left: {sorted(state.remote_markers)}"
    if keep:
        assert state.remote_plain == {name: o.remote_sha for name, o in originals.items()}, where
        assert sorted(ledger.entries) == sorted(originals), where
        assert all(_ledger_sha_matches(ledger.entries[name], o) for name, o in originals.items()), where
    else:
        assert state.remote_plain == {}, f"{where}: left on the server: {sorted(state.remote_plain)}"
    assert not _our_gnupg_homes(os.getpid())
    assert stats.done["downstream"] >= CUTS_EACH_WAY, stats.summary()
    assert stats.done["upstream"] >= CUTS_EACH_WAY, stats.summary()
    assert proxy.cuts_done == stats.done["upstream"] + stats.done["downstream"]


@pytest.mark.timeout(90)
def test_a_cut_while_closing_a_downloaded_file_leaves_no_partial_file(
    airflow_db: Path,
    make_connection: ConnectionFactory,
    sshd: SshServer,
    places: dict[str, Path],
    proxy: TcpProxy,
    tmp_path: Path,
):
    """A cut the random rounds hit by chance, made deterministic: the download of ``a.csv`` is complete and
    verified, then the connection drops while the remote file is being closed. The try fails (retryable)
    and must remove its partial file, as on every other failure, instead of leaving plaintext behind until
    some later try sweeps it.

    The offsets are counted back from the end of a clean run of the same import (measured here): with
    OpenSSH 9 and this file name they fall on the close of the remote file (windows found by sweeping
    every 6 bytes of the last 900: downstream 140-200 bytes before the end; upstream 776-854 with a
    49-character folder path, i.e. 629-707 plus three times the path's length).
    """
    inbound = places["inbound"]
    landing = tmp_path / LOCAL
    landing.mkdir()
    data = b"id;payload\n" + os.urandom(64 * KiB)

    def drop() -> None:
        for folder in (inbound, landing):
            for path in folder.iterdir():
                path.unlink()
        (inbound / "a.csv").write_bytes(data)
        os.utime(inbound / "a.csv", (time.time() - 3600, time.time() - 3600))
        chown_tree(inbound, sshd.user)

    locations = {name: str(path) for name, path in places.items()}
    drop()
    with TcpProxy(sshd.host, sshd.port) as counter:  # no cut planned: it only counts
        counting = make_connection(conn_id="actito_count", host=counter.host, port=counter.port, locations=locations)
        _import_once(counting, landing, AfterImport.DELETE, MemoryLedger())
        counter.wait_closed()
        total = counter.total()
        totals = {"upstream": total.upstream, "downstream": total.downstream}
    conn_id = make_connection(host=proxy.host, port=proxy.port, locations=locations)
    # After the close, the client still sends two renames and a removal naming the folder three times.
    tail = 3 * len(str(inbound))
    offsets = {"upstream": tuple(tail + back for back in (645, 668, 690)), "downstream": (145, 160, 170, 180, 195)}
    leaks = []
    for direction, backs in offsets.items():
        for back in backs:
            drop()
            cuts_before = proxy.cuts_done
            _cut(proxy, direction, totals[direction] - back)
            with contextlib.suppress(*CUT_ERRORS):
                _import_once(conn_id, landing, AfterImport.DELETE, MemoryLedger())
            proxy.clear()
            assert proxy.cuts_done == cuts_before + 1, f"the {direction} cut {back} bytes before the end did not happen"
            partials = sorted(path.name for path in landing.iterdir() if partial_owner(path.name) is not None)
            if partials:
                size = (landing / partials[0]).stat().st_size
                leaks.append(f"{direction} cut {back} bytes before the end: {partials} ({size} of {len(data)} bytes)")
            # Whatever the cut left, the retry imports the file once.
            result = _import_once(conn_id, landing, AfterImport.DELETE, MemoryLedger())
            assert not result.failed
            assert not result.refused
            assert sorted(os.listdir(landing)) == ["a.csv"]
            assert (landing / "a.csv").read_bytes() == data
            assert os.listdir(inbound) == []
    print(f"\nclean run: {totals}; partial files left by a cut try: {leaks}")
    assert not leaks, f"a try cut while closing the downloaded file left its partial file: {leaks}"


def test_keep_mode_recovery_records_the_full_sha256_in_the_ledger(
    make_connection: ConnectionFactory, sshd: SshServer, places: dict[str, Path], tmp_path: Path
):
    """Keep mode, a try cut after publishing and before recording the file: the retry finishes the staged
    marker (ledger entry, rename back). The entry must carry the file's sha256 like any other import,
    not the 32 hex digits the marker name holds, or a later same-size, same-second listing of the file
    (compared by content hash) would be taken for a new file and imported again."""
    inbound = places["inbound"]
    landing = tmp_path / LOCAL
    landing.mkdir()
    content = b"id;email\n1;ada@example.com\n"
    digest = _sha(content)
    (landing / "daily.csv").write_bytes(content)  # published by the cut try
    (inbound / f".daily.csv.actito-staged-{int(time.time())}-{OWNER}-{digest[:32]}").write_bytes(content)
    chown_tree(inbound, sshd.user)
    conn_id = make_connection(locations={name: str(path) for name, path in places.items()})
    ledger = MemoryLedger()
    result = _import_once(conn_id, landing, AfterImport.KEEP, ledger)
    assert not result.failed
    assert not result.refused
    assert os.listdir(inbound) == ["daily.csv"]  # put back under its name
    assert sorted(ledger.entries) == ["daily.csv"]
    print(f"\nledger entry after recovery: sha256={ledger.entries['daily.csv'].sha256!r}")
    assert ledger.entries["daily.csv"].sha256 == digest


# --- exports ------------------------------------------------------------------------------------------


def _export_once(conn_id: str, sources: Path, deliveries: MemoryDeliveries) -> ExportResult:
    """One try of the export task (overwrite='fail'), with the task instance's delivery log."""

    async def run() -> ExportResult:
        async with ActitoSftpHook(conn_id).open_async_session() as session:
            request = ExportRequest(
                location="outbound",
                sources=resolve_sources(str(sources / "*")),
                overwrite=Overwrite.FAIL,
                deliveries=deliveries,
            )
            return await ExportJob(session, request).run()

    return asyncio.run(asyncio.wait_for(run(), ROUND_TIMEOUT))


def _check_export_invariants(
    outbound: Path, expected: dict[str, str], deliveries: MemoryDeliveries, where: str
) -> tuple[dict[str, str], list[str]]:
    """The partner only ever sees complete files under final names; return them and the ``.part`` left."""
    finals, parts = {}, []
    for path in outbound.iterdir():
        if path.name.endswith(".part") and path.name.removesuffix(".part") in expected:
            parts.append(path.name)  # a cut try could not remove its lock file; the retry rewrites it
            continue
        assert path.name in expected, f"{where}: stray remote file {path.name!r}"
        finals[path.name] = _file_sha(path)
        assert finals[path.name] == expected[path.name], f"{where}: {path.name!r} is partial or wrong on the server"
    for name, delivery in deliveries.entries.items():
        assert finals.get(name) == expected[name] == delivery.sha256, f"{where}: delivery of {name!r} not on the server"
    unrecorded = sorted(set(finals) - set(deliveries.entries))
    assert not unrecorded, (
        f"{where}: {unrecorded} complete on the server but not in the delivery log (the try failed after the "
        "server renamed the lock file into place): the next try will refuse the batch (overwrite='fail')"
    )
    return finals, sorted(parts)


def _drop_sources(sources: Path, rng: random.Random, first: int, count: int) -> dict[str, bytes]:
    files = {}
    for index in range(first, first + count):
        data = os.urandom(_log_uniform(rng, KiB, 2 * MiB))
        (sources / f"segment-{index:03d}.csv").write_bytes(data)
        files[f"segment-{index:03d}.csv"] = data
    return files


@pytest.mark.timeout(170)
def test_export_survives_random_cuts_then_a_clean_retry_delivers_everything_once(
    airflow_db: Path,
    make_connection: ConnectionFactory,
    places: dict[str, Path],
    proxy: TcpProxy,
    tmp_path: Path,
):
    """>= 20 cuts each way (mostly upstream: the data flows to the server), each round a retry of the same
    task with its delivery log; when everything is delivered before that, more files are added."""
    rng = random.Random(SEED * 10 + 3)
    outbound = places["outbound"]
    sources = tmp_path / LOCAL
    sources.mkdir()
    contents = _drop_sources(sources, rng, 0, 12)
    conn_id = make_connection(
        host=proxy.host, port=proxy.port, locations={name: str(path) for name, path in places.items()}
    )
    deliveries = MemoryDeliveries()
    stats = CutStats()
    parts_seen, batches = 0, 1
    print(
        f"\n[export] seed {SEED}: first batch {len(contents)} files, {sum(map(len, contents.values()))} bytes, "
        "overwrite='fail', lock .part"
    )

    started = time.monotonic()
    finals: dict[str, str] = {}
    where = "before the first round"
    while not stats.enough() and stats.rounds < MAX_ROUNDS and time.monotonic() - started < ROUNDS_DEADLINE:
        todo = [name for name in contents if name not in finals]
        if not todo:  # all delivered: the task has more to send
            contents |= _drop_sources(sources, rng, len(contents), 4)
            batches += 1
            todo = [name for name in contents if name not in finals]
        remaining = sum(len(contents[name]) for name in todo)
        spans = {
            "upstream": remaining + 300 * len(todo) + KiB,
            "downstream": remaining // 1000 + 300 * len(todo) + 512,
        }
        direction, budget = _plan_cut(rng, stats, "upstream", spans)
        stats.rounds += 1
        stats.planned[direction] += 1
        previous, where = where, f"seed {SEED}, export, round {stats.rounds}, cut {direction} after {budget} bytes"
        cuts_before = proxy.cuts_done
        _cut(proxy, direction, budget)
        try:
            result = _export_once(conn_id, sources, deliveries)
        except TimeoutError:
            pytest.fail(f"{where}: the try hung for {ROUND_TIMEOUT} s after the cut")
        except ExportRefusedError as e:
            listing = sorted(path.name for path in outbound.iterdir())
            pytest.fail(
                f"{where}: the try refused the batch after the previous one ({previous}): {e}; on the server: "
                f"{listing}; delivery log: {sorted(deliveries.entries)}"
            )
        except CUT_ERRORS:
            pass
        else:
            stats.failures_reported += len(result.failed)
            assert not result.refused, f"{where}: a cut made refusals (never retried): {result.refused}"
            if proxy.cuts_done == cuts_before:
                stats.completed_rounds += 1
        proxy.clear()
        stats.done[direction] += proxy.cuts_done - cuts_before
        expected = {name: _sha(data) for name, data in contents.items()}
        finals, parts = _check_export_invariants(outbound, expected, deliveries, where)
        parts_seen += len(parts)
    elapsed = time.monotonic() - started
    delivered_during_cuts = set(finals)

    where = f"seed {SEED}, export, final retry after {stats.rounds} rounds"
    try:
        result = _export_once(conn_id, sources, deliveries)
    except ExportRefusedError as e:
        pytest.fail(f"{where}: the retry refused the batch: {e}; on the server: {sorted(os.listdir(outbound))}")
    expected = {name: _sha(data) for name, data in contents.items()}
    finals, parts = _check_export_invariants(outbound, expected, deliveries, where)
    uploaded = sorted(Path(record.remote_path).name for record in result.uploaded)
    print(
        f"[export] {stats.summary()} in {elapsed:.1f} s; {batches} batch(es), {len(contents)} files "
        f"({sum(map(len, contents.values()))} bytes); {parts_seen} .part files seen between rounds"
    )
    print(
        f"[export] final retry: {len(uploaded)} reported uploaded, of which {len(delivered_during_cuts)} already "
        f"delivered by cut tries and {len(expected) - len(delivered_during_cuts)} sent now; "
        f"proxy cuts_done={proxy.cuts_done}"
    )
    assert not result.failed, f"{where}: {result.failed}"
    assert not result.refused, f"{where}: {result.refused}"
    assert uploaded == sorted(expected), where
    assert finals == expected, where
    assert not parts, f"{where}: .part left: {parts}"
    assert sorted(os.listdir(outbound)) == sorted(expected)
    assert stats.done["upstream"] >= CUTS_EACH_WAY, stats.summary()
    assert stats.done["downstream"] >= CUTS_EACH_WAY, stats.summary()
    assert proxy.cuts_done == stats.done["upstream"] + stats.done["downstream"]


@pytest.mark.timeout(90)
def test_export_retry_after_the_reply_to_the_final_rename_was_lost(
    airflow_db: Path,
    make_connection: ConnectionFactory,
    places: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    """The cut the random rounds hit by chance, made deterministic: the real server renames
    ``a.csv.part`` to ``a.csv`` but the reply never comes back (the connection drops right after), so
    the try fails with a transport error. The retry of the same task instance (same delivery log,
    overwrite='fail') finds ``a.csv``, exactly what it sent: it counts it as delivered instead of
    refusing the batch for good."""
    from airflow_provider_actito_sftp.transfer import upload as upload_module

    outbound = places["outbound"]
    sources = tmp_path / LOCAL
    sources.mkdir()
    data = os.urandom(64 * KiB)
    (sources / "a.csv").write_bytes(data)
    conn_id = make_connection(locations={name: str(path) for name, path in places.items()})
    real_rename = upload_module._rename_into_place

    async def rename_then_lose_the_reply(sftp: asyncssh.SFTPClient, *args: object, **kwargs: object) -> None:
        await real_rename(sftp, *args, **kwargs)  # type: ignore[arg-type]
        raise asyncssh.SFTPConnectionLost("Connection lost (the reply to the rename never came)")

    deliveries = MemoryDeliveries()
    monkeypatch.setattr(upload_module, "_rename_into_place", rename_then_lose_the_reply)
    cut_try = _export_once(conn_id, sources, deliveries)
    monkeypatch.setattr(upload_module, "_rename_into_place", real_rename)
    assert [record.retryable for record in cut_try.failed] == [True]  # a transport error: Airflow retries
    assert not cut_try.uploaded
    assert sorted(os.listdir(outbound)) == ["a.csv"]  # the server did rename it
    retry = _export_once(conn_id, sources, deliveries)
    assert [Path(record.remote_path).name for record in retry.uploaded] == ["a.csv"]
    assert not retry.failed
    assert not retry.refused
    assert sorted(os.listdir(outbound)) == ["a.csv"]
    assert (outbound / "a.csv").read_bytes() == data


# --- kill -9 ------------------------------------------------------------------------------------------


@pytest.fixture
def own_temp_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temp folder of this test's own, for this process and the task process it starts.

    The provider's temp root (and its GnuPG homes) is shared by every process of the user: with other
    pytest workers running PGP operations beside this test, any of them would sweep the killed task's
    GnuPG home (its process is dead) before this test looks at it. Short, so gpg-agent's socket fits.
    """
    folder = Path(tempfile.mkdtemp(prefix="k9-", dir="/tmp"))  # short: gpg-agent's socket path fits
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    for home in folder.glob(f"actito-sftp-{os.getuid()}/gnupg/*"):
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False, capture_output=True)
    shutil.rmtree(folder, ignore_errors=True)


def _start_task_process(conn_id: str, landing: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """The import as a real, separate process (what a worker runs), with our owner and our temp folder."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.task_process",
                conn_id,
                "inbound",
                str(landing),
                OWNER,
                "delete",
            ],
            cwd=Path(__file__).resolve().parents[2],
            env={**os.environ, "TMPDIR": tempfile.gettempdir()},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _kill_mid_transfer(
    process: subprocess.Popen[bytes], landing: Path, big_name: str, big_size: int, log_path: Path
) -> Path:
    """Wait (bounded) until the big file's partial has over 1 MiB (and a small file landed, or 16 MiB
    were written), then SIGKILL; return that partial."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the task process ended before it was killed: {log_path.read_text()[-3000:]}")
        partials = [p for p in landing.glob(f".{big_name}.actito-partial-*") if partial_owner(p.name) == OWNER]
        landed = [p for p in landing.iterdir() if partial_owner(p.name) is None]
        # Mid-transfer, ideally once some small files are published too (a mix of states to recover).
        written = partials[0].stat().st_size if partials else 0
        if written > 16 * MiB or (written > MiB and landed):
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)  # reaped: its pid is dead for the next run's sweep
            size = partials[0].stat().st_size
            assert size < big_size, "the download had finished: not killed mid-transfer"
            print(f"killed task process {process.pid} with {size} of {big_size} bytes in {partials[0].name}")
            return partials[0]
        time.sleep(0.002)
    process.kill()
    process.wait(timeout=10)
    pytest.fail(f"no partial file of {big_name} over 1 MiB within 60 s: {log_path.read_text()[-3000:]}")


def _kill_and_rerun(
    conn_id: str,
    inbound: Path,
    landing: Path,
    originals: dict[str, Original],
    big: Original,
    tmp_path: Path,
    *,
    pgp: bool,
) -> None:
    log_path = tmp_path / "task-process.log"
    process = _start_task_process(conn_id, landing, log_path)
    try:
        partial = _kill_mid_transfer(process, landing, big.local_name, big.plain_size, log_path)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    # What the killed task left: its claim on the server, its partial file (private), its gpg home.
    leftovers = _import_state(landing, inbound)
    claims = {name: original for name, (original, _) in leftovers.remote_markers.items()}
    assert big.remote_name in claims.values(), f"no claim of {big.remote_name} left: {leftovers.remote_markers}"
    assert all(getattr(parse_marker(name), "owner", None) == OWNER for name in claims)
    assert partial.name in leftovers.partials
    assert stat.S_IMODE(partial.stat().st_mode) == 0o600, oct(partial.stat().st_mode)
    homes_of_killed = _our_gnupg_homes(process.pid)
    if pgp:
        assert homes_of_killed, "the killed task was decrypting: its GNUPGHOME should be left"
    print(
        f"left by the kill: {len(claims)} claim(s) {sorted(claims.values())}, partial {partial.name} "
        f"(mode {stat.S_IMODE(partial.stat().st_mode):o}), {len(leftovers.landed)} file(s) already landed, "
        f"GNUPGHOMEs of the killed process: {homes_of_killed}"
    )

    # The rerun (a retry of the same task instance) resumes at once.
    started = time.monotonic()
    result = _import_once(conn_id, landing, AfterImport.DELETE, MemoryLedger())
    state = _import_state(landing, inbound)
    print(
        f"rerun in {time.monotonic() - started:.1f} s: {len(result.imported)} imported, "
        f"{len(result.skipped)} skipped, {len(result.failed)} failed, {len(result.refused)} refused"
    )
    assert not result.failed, result.failed
    assert not result.refused, result.refused
    _check_import_invariants(state, originals, MemoryLedger(), False, "after the rerun")
    assert state.landed == {o.local_name: o.plain_sha for o in originals.values()}
    assert not state.partials
    assert not partial.exists()
    assert not state.remote_markers
    assert state.remote_plain == {}
    assert not _our_gnupg_homes(process.pid), "the killed task's GNUPGHOME was not swept"
    assert not _our_gnupg_homes(os.getpid())


def _drop_kill_batch(inbound: Path, big_size: int, encrypt: Callable[[Path, Path], None] | None) -> dict[str, Original]:
    """One big file (the one to be killed in the middle of) and a few small ones."""
    originals: dict[str, Original] = {}
    plain_folder = inbound.parent / "plaintext-of-pgp"
    plain_folder.mkdir(exist_ok=True)
    sizes = {"big.csv": big_size} | {f"small-{index}.csv": (index + 1) * 64 * KiB for index in range(5)}
    for local_name, size in sizes.items():
        data = b"id;payload\n" + os.urandom(size)
        if encrypt is None:
            remote = inbound / local_name
            remote.write_bytes(data)
        else:
            plain = plain_folder / local_name
            plain.write_bytes(data)
            remote = inbound / f"{local_name}.pgp"
            encrypt(plain, remote)
        originals[remote.name] = Original(
            remote.name, local_name, _file_sha(remote), _sha(data), remote.stat().st_size, len(data)
        )
    return originals


@pytest.mark.timeout(120)
def test_kill_9_of_a_task_process_mid_download_then_the_rerun_imports_everything_once(
    airflow_db: Path,
    make_connection: ConnectionFactory,
    sshd: SshServer,
    places: dict[str, Path],
    tmp_path: Path,
    own_temp_root: Path,
):
    """SIGKILL a real task process while it downloads a 32 MiB file, then rerun the task: its claims are
    resumed at once, its private partial file swept, and every file imported exactly once."""
    inbound = places["inbound"]
    originals = _drop_kill_batch(inbound, 32 * MiB, None)
    chown_tree(inbound, sshd.user)
    conn_id = make_connection(locations={name: str(path) for name, path in places.items()})
    landing = tmp_path / LOCAL
    landing.mkdir()
    print(f"\n[kill -9] {len(originals)} files, {sum(o.size for o in originals.values())} bytes")
    _kill_and_rerun(conn_id, inbound, landing, originals, originals["big.csv"], tmp_path, pgp=False)


@pytest.mark.timeout(120)
def test_kill_9_of_a_task_process_mid_decryption_leaves_no_gnupg_home_after_the_rerun(
    airflow_db: Path,
    pgp_connection: tuple[str, PartnerGpg, str],
    sshd: SshServer,
    folders: dict[str, Path],
    tmp_path: Path,
    own_temp_root: Path,
):
    """The same with PGP: the killed task was decrypting, so its temporary GNUPGHOME (with our secret key
    imported in it) is left behind; the rerun must sweep it."""
    conn_id, partner, our_public = pgp_connection
    inbound = folders["inbound"]
    originals = _drop_kill_batch(
        inbound, 32 * MiB, lambda plain, remote: partner.encrypt_to(our_public, plain, remote, compress=False)
    )
    chown_tree(inbound, sshd.user)
    landing = tmp_path / LOCAL
    landing.mkdir()
    print(f"\n[kill -9, PGP] {len(originals)} files, {sum(o.size for o in originals.values())} bytes")
    _kill_and_rerun(conn_id, inbound, landing, originals, originals["big.csv.pgp"], tmp_path, pgp=True)
