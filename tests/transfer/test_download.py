"""Downloading one file against the real sshd: exact bytes into a private staged file, size caps, and a
file that changes after it was listed refused with nothing left behind."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import stat
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.exceptions import GpgStreamError, OutputLimitError, RemoteChangedError
from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from airflow_provider_actito_sftp.ssh.session import mtime_ns_of
from airflow_provider_actito_sftp.transfer.destinations import Destination
from airflow_provider_actito_sftp.transfer.download import (
    EXPANSION_FLOOR,
    SMALL_FILE,
    DecryptOptions,
    Downloaded,
    Expected,
    OutputLimits,
    RemoteSource,
    download,
)
from airflow_provider_actito_sftp.transfer.streams import open_for_reading
from partner_sandbox.sshd import SshServer, chown_tree
from tests.conftest import ConnectionFactory

TIMEOUT = 60.0  # seconds for one download against the local server


@pytest.fixture
def remote_folder(sshd: SshServer) -> Path:
    return sshd.make_folder(f"download/{uuid.uuid4().hex[:8]}")


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    return folder


def put(sshd: SshServer, folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    chown_tree(folder, sshd.user)
    return path


def fetch(
    conn_id: str,
    remote: Path,
    landing: Path,
    *,
    limits: OutputLimits | None = None,
    decrypt: DecryptOptions | None = None,
    after_listing: Callable[[], None] | None = None,
) -> Downloaded:
    """List (stat) ``remote`` as the importer does, run ``after_listing``, then download it into ``landing``."""

    async def run() -> Downloaded:
        async with ActitoSftpHook(conn_id).open_async_session() as session:
            path = str(remote).encode()
            attrs = await session.sftp.stat(path)
            expected = Expected(attrs.size or 0, mtime_ns_of(attrs))
            if after_listing is not None:
                after_listing()
            async with open_for_reading(session.sftp, path) as handle:
                return await download(
                    RemoteSource(handle, expected),
                    Destination(landing),
                    remote.name,
                    decrypt=decrypt,
                    limits=limits or OutputLimits(),
                    label=f"download {remote.name}",
                )

    return asyncio.run(asyncio.wait_for(run(), TIMEOUT))


@pytest.mark.parametrize(
    "size",
    [SMALL_FILE + 7, 40_000],
    ids=["streamed to the partial file, over several read requests", "small, staged from memory in one step"],
)
def test_a_plain_file_is_staged_byte_for_byte_in_a_private_file(
    make_connection: ConnectionFactory, sshd: SshServer, remote_folder: Path, landing: Path, size: int
) -> None:
    data = os.urandom(size)
    remote = put(sshd, remote_folder, "customers.csv", data)
    downloaded = fetch(make_connection(), remote, landing)

    staged = downloaded.staged
    assert staged.final_name == "customers.csv"
    assert staged.partial.parent == landing
    assert staged.partial.name.startswith(".customers.csv.")  # hidden until published
    assert staged.partial.read_bytes() == data
    assert stat.S_IMODE(staged.partial.stat().st_mode) == 0o600
    assert downloaded.sha256 == hashlib.sha256(data).hexdigest()
    assert downloaded.wire_bytes == downloaded.plaintext_bytes == len(data)
    assert downloaded.pgp_fingerprint is None
    assert list(landing.iterdir()) == [staged.partial]  # nothing published under the final name
    assert remote.read_bytes() == data  # the server's copy is untouched


def test_an_empty_file_is_staged_empty(
    make_connection: ConnectionFactory, sshd: SshServer, remote_folder: Path, landing: Path
) -> None:
    downloaded = fetch(make_connection(), put(sshd, remote_folder, "empty.csv", b""), landing)
    assert downloaded.staged.partial.read_bytes() == b""
    assert (downloaded.wire_bytes, downloaded.plaintext_bytes) == (0, 0)
    assert downloaded.sha256 == hashlib.sha256(b"").hexdigest()


def test_head_peeks_at_the_first_block_which_blocks_still_yields(
    make_connection: ConnectionFactory, sshd: SshServer, remote_folder: Path
) -> None:
    data = os.urandom(600_000)
    remote = put(sshd, remote_folder, "peek.bin", data)

    async def run() -> tuple[bytes, bytes, bytes]:
        async with ActitoSftpHook(make_connection()).open_async_session() as session:
            path = str(remote).encode()
            async with open_for_reading(session.sftp, path) as handle:
                source = RemoteSource(handle, Expected(len(data), mtime_ns_of(await session.sftp.stat(path))))
                head, again = await source.head(), await source.head()
                body = b"".join([block async for block in source.blocks()])
                await source.verify_unchanged(len(body))
                return head, again, body

    head, again, body = asyncio.run(asyncio.wait_for(run(), TIMEOUT))
    assert 0 < len(head) < len(data)
    assert again == head
    assert head == data[: len(head)]
    assert body == data  # the head once, then the rest


@pytest.mark.parametrize("change", ["appended", "truncated", "rewritten"])
def test_a_file_changed_after_listing_is_refused_and_nothing_is_staged(
    make_connection: ConnectionFactory, sshd: SshServer, remote_folder: Path, landing: Path, change: str
) -> None:
    data = os.urandom(64 * 1024)
    remote = put(sshd, remote_folder, "growing.csv", data)

    def partner_writes() -> None:
        if change == "appended":
            with remote.open("ab") as handle:
                handle.write(b"late rows\n")
        elif change == "truncated":
            os.truncate(remote, 1000)
        else:  # same size, new content, a later mtime (SFTP v3 mtimes are whole seconds)
            remote.write_bytes(os.urandom(len(data)))
            later = remote.stat().st_mtime + 10
            os.utime(remote, (later, later))

    expected_message = {
        "appended": f"listed {len(data)} bytes, read {len(data)}, now {len(data) + 10} bytes",
        "truncated": f"listed {len(data)} bytes, read 1000, now 1000 bytes",
        "rewritten": f"listed {len(data)} bytes, read {len(data)}, now {len(data)} bytes, modified again",
    }[change]
    conn_id = make_connection()
    with pytest.raises(RemoteChangedError) as refused:
        fetch(conn_id, remote, landing, after_listing=partner_writes)
    assert expected_message in str(refused.value)
    assert "left on the server for a later run" in str(refused.value)
    assert list(landing.iterdir()) == []  # the staged file was removed
    assert remote.exists()


def test_output_past_max_file_size_is_refused_and_nothing_is_staged(
    make_connection: ConnectionFactory, sshd: SshServer, remote_folder: Path, landing: Path
) -> None:
    data = os.urandom(4096)
    remote = put(sshd, remote_folder, "big.csv", data)
    conn_id = make_connection()
    with pytest.raises(OutputLimitError, match="more than max_file_size=4095 bytes"):
        fetch(conn_id, remote, landing, limits=OutputLimits(max_file_size=4095))
    assert list(landing.iterdir()) == []

    at_the_cap = fetch(conn_id, remote, landing, limits=OutputLimits(max_file_size=4096))
    assert at_the_cap.staged.partial.read_bytes() == data


@pytest.mark.parametrize(
    ("limits", "written", "remote_size", "refused"),
    [
        (OutputLimits(max_file_size=100), 100, 100, None),
        (OutputLimits(max_file_size=100), 101, 1000, "max_file_size=100"),
        (OutputLimits(max_file_size=None, max_expansion_ratio=None), 1 << 40, 1, None),
        # The ratio counts only past 16 MiB of output...
        (OutputLimits(max_expansion_ratio=2), EXPANSION_FLOOR, 1, None),
        # ...then refuses more than ratio x the remote size,
        (OutputLimits(max_expansion_ratio=2), EXPANSION_FLOOR + 1, 1000, "max_expansion_ratio=2"),
        (OutputLimits(max_expansion_ratio=2), EXPANSION_FLOOR + 2, (EXPANSION_FLOOR + 2) // 2, None),
        (OutputLimits(max_expansion_ratio=2), EXPANSION_FLOOR + 4, (EXPANSION_FLOOR + 2) // 2, "decompression bomb"),
        # ...an empty remote file counting as one byte.
        (OutputLimits(max_expansion_ratio=1e9), EXPANSION_FLOOR + 1, 0, None),
    ],
)
def test_output_limits_check(limits: OutputLimits, written: int, remote_size: int, refused: str | None) -> None:
    if refused is None:
        limits.check(written, remote_size)
    else:
        with pytest.raises(OutputLimitError, match=refused):
            limits.check(written, remote_size)


def test_the_default_limits_are_finite() -> None:
    limits = OutputLimits()
    assert limits.max_file_size is not None
    assert limits.max_expansion_ratio is not None
    with pytest.raises(OutputLimitError):
        limits.check(limits.max_file_size + 1, limits.max_file_size + 1)


# --- decryption on the fly ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def our_key() -> tuple[str, str, str]:
    """Our inbound key pair: armored secret keys, armored public key, fingerprint."""
    from airflow_provider_actito_sftp.pgp.keys import export_newest_public_key, generate_inbound_key

    secret_keys, info = generate_inbound_key("download_test")
    public, _ = export_newest_public_key(secret_keys)
    return secret_keys, public, info.fingerprint


def put_encrypted(sshd: SshServer, folder: Path, name: str, data: bytes, public: str, tmp_path: Path) -> Path:
    from partner_sandbox.gpg import PartnerGpg

    plain = tmp_path / f"plain-{name}"
    plain.write_bytes(data)
    with PartnerGpg() as partner:
        partner.encrypt_to(public, plain, folder / name)
    chown_tree(folder, sshd.user)
    return folder / name


def test_a_pgp_file_is_decrypted_on_the_fly(
    make_connection: ConnectionFactory,
    sshd: SshServer,
    remote_folder: Path,
    landing: Path,
    tmp_path: Path,
    our_key: tuple[str, str, str],
) -> None:
    secret_keys, public, our_fingerprint = our_key
    data = os.urandom(200_000)
    remote = put_encrypted(sshd, remote_folder, "customers.csv.pgp", data, public, tmp_path)
    downloaded = fetch(make_connection(), remote, landing, decrypt=DecryptOptions(secret_keys))
    assert downloaded.staged.partial.read_bytes() == data
    assert downloaded.sha256 == hashlib.sha256(data).hexdigest()  # of the plaintext
    assert downloaded.plaintext_bytes == len(data)
    assert downloaded.wire_bytes == remote.stat().st_size != len(data)
    assert downloaded.pgp_fingerprint == our_fingerprint
    assert stat.S_IMODE(downloaded.staged.partial.stat().st_mode) == 0o600


def test_a_decompression_bomb_is_refused_and_nothing_is_staged(
    make_connection: ConnectionFactory,
    sshd: SshServer,
    remote_folder: Path,
    landing: Path,
    tmp_path: Path,
    our_key: tuple[str, str, str],
) -> None:
    secret_keys, public, _ = our_key
    zeros = bytes(EXPANSION_FLOOR + (1 << 20))  # 17 MiB of zeros: gpg compresses it to a few KiB
    remote = put_encrypted(sshd, remote_folder, "bomb.csv.pgp", zeros, public, tmp_path)
    assert remote.stat().st_size * 200 < len(zeros)
    with pytest.raises(OutputLimitError, match="a decompression bomb"):
        fetch(make_connection(), remote, landing, decrypt=DecryptOptions(secret_keys))
    assert list(landing.iterdir()) == []


def test_data_that_is_not_pgp_fails_decryption_and_nothing_is_staged(
    make_connection: ConnectionFactory,
    sshd: SshServer,
    remote_folder: Path,
    landing: Path,
    our_key: tuple[str, str, str],
) -> None:
    remote = put(sshd, remote_folder, "fake.csv.pgp", b"id;email\n1;a@example.com\n" * 100)
    with pytest.raises(GpgStreamError):
        fetch(make_connection(), remote, landing, decrypt=DecryptOptions(our_key[0]))
    assert list(landing.iterdir()) == []


def _put_sq_padded(sshd: SshServer, folder: Path, data: bytes, our_key: tuple[str, str, str], tmp_path: Path) -> Path:
    """What a partner's `sq encrypt` makes by default, padded so that gpg 2.2 cannot read it."""
    from tests.support.pgp_files import sq_file_gpg_cannot_read

    cert, plain = tmp_path / "ours.asc", tmp_path / "plain.csv"
    cert.write_text(our_key[1])
    plain.write_bytes(data)
    remote = sq_file_gpg_cannot_read(cert, plain, folder / "customers.csv.pgp", our_key[0])
    chown_tree(folder, sshd.user)
    return remote


@pytest.mark.skipif(shutil.which("sq") is None, reason="sq is not installed (.ci/run installs it)")
def test_a_file_gpg_cannot_read_is_decrypted_again_with_sq(
    make_connection: ConnectionFactory,
    sshd: SshServer,
    remote_folder: Path,
    landing: Path,
    tmp_path: Path,
    our_key: tuple[str, str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret_keys, _, our_fingerprint = our_key
    data = os.urandom(300_000)
    remote = _put_sq_padded(sshd, remote_folder, data, our_key, tmp_path)
    with caplog.at_level("WARNING"):
        downloaded = fetch(make_connection(), remote, landing, decrypt=DecryptOptions(secret_keys))
    assert downloaded.staged.partial.read_bytes() == data  # the second pass only: nothing of gpg's output
    assert downloaded.sha256 == hashlib.sha256(data).hexdigest()
    assert downloaded.plaintext_bytes == len(data)
    assert downloaded.wire_bytes == remote.stat().st_size
    assert downloaded.pgp_fingerprint == our_fingerprint
    assert "Sequoia's sq reads it again for a second opinion" in caplog.text


@pytest.mark.skipif(shutil.which("sq") is None, reason="sq is not installed (.ci/run installs it)")
def test_without_sq_such_a_file_is_refused_naming_the_partners_fix(
    make_connection: ConnectionFactory,
    sshd: SshServer,
    remote_folder: Path,
    landing: Path,
    tmp_path: Path,
    our_key: tuple[str, str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow_provider_actito_sftp.transfer import download as download_module

    remote = _put_sq_padded(sshd, remote_folder, os.urandom(300_000), our_key, tmp_path)
    monkeypatch.setattr(download_module, "sequoia_installed", lambda: False)  # a worker without sq
    with pytest.raises(GpgStreamError, match=r"sq encrypt --compression none.*or install Sequoia's `sq`"):
        fetch(make_connection(), remote, landing, decrypt=DecryptOptions(our_key[0]))
    assert list(landing.iterdir()) == []


@pytest.mark.skipif(shutil.which("sq") is None, reason="sq is not installed (.ci/run installs it)")
def test_a_damaged_file_is_refused_in_gpgs_words_once_sq_agrees(
    make_connection: ConnectionFactory,
    sshd: SshServer,
    remote_folder: Path,
    landing: Path,
    tmp_path: Path,
    our_key: tuple[str, str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """gpg stops on a flipped byte; sq, asked again, fails too: refused as damaged, in gpg's words."""
    secret_keys, public, _ = our_key
    remote = put_encrypted(sshd, remote_folder, "customers.csv.pgp", os.urandom(200_000), public, tmp_path)
    data = bytearray(remote.read_bytes())
    data[len(data) // 2] ^= 0x01
    remote.write_bytes(bytes(data))
    gpg_words = r"^(integrity check failed|decryption did not complete with an integrity check): .*truncated"
    with caplog.at_level("WARNING"), pytest.raises(GpgStreamError, match=gpg_words):
        fetch(make_connection(), remote, landing, decrypt=DecryptOptions(secret_keys))
    assert "gpg finds it damaged; Sequoia's sq reads it again" in caplog.text
    assert list(landing.iterdir()) == []


@pytest.mark.skipif(shutil.which("sq") is None, reason="sq is not installed (.ci/run installs it)")
def test_a_file_growing_while_sq_reads_it_again_is_refused_and_nothing_is_staged(
    make_connection: ConnectionFactory,
    sshd: SshServer,
    remote_folder: Path,
    landing: Path,
    tmp_path: Path,
    our_key: tuple[str, str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The second pass (sq) ends with the same check as the first: a file that grew after it was listed is
    never staged, whichever implementation decrypted it."""
    remote = _put_sq_padded(sshd, remote_folder, os.urandom(300_000), our_key, tmp_path)

    def grow() -> None:
        with remote.open("ab") as handle:
            handle.write(b"still being written")

    with caplog.at_level("WARNING"), pytest.raises(RemoteChangedError, match="changed while being read"):
        fetch(make_connection(), remote, landing, decrypt=DecryptOptions(our_key[0]), after_listing=grow)
    assert "Sequoia's sq reads it again" in caplog.text  # refused after the second pass
    assert list(landing.iterdir()) == []
