"""Reading a large file on after a cut, within the try (issue 22): a real sshd behind the cutting proxy, a real
gpg; what is asserted is what crossed the wire again after the cut, and what landed."""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.transfer import reconnect
from airflow_provider_actito_sftp.transfer.names import parse_marker
from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.sshd import SshServer
from tests.conftest import ConnectionFactory
from tests.support.large_import import (
    MiB,
    drop,
    import_once,
    kept_files,
    pgp_extra,
    quick_resume,
    resumed_at,
    server_folders,
    sha256_of,
)
from tests.support.tcp_proxy import TcpProxy

CUT_AT = 0.8  # of the file, downstream


@pytest.fixture
def kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return quick_resume(monkeypatch, tmp_path)


@pytest.fixture
def folders(sshd: SshServer, tmp_path: Path) -> dict[str, Path]:
    return server_folders(sshd, tmp_path)


@pytest.fixture
def partner() -> Iterator[PartnerGpg]:
    with PartnerGpg() as gpg:
        yield gpg


@pytest.mark.parametrize("pgp", [True, False], ids=["pgp", "plain"])
def test_a_large_file_cut_at_80_percent_is_read_on_within_the_try_not_again(
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
    conn_id = make_connection(
        host=proxy.host, port=proxy.port, locations={name: str(path) for name, path in folders.items()}, **extra
    )
    large = drop(sshd, folders["inbound"], "big.csv", partner=partner if pgp else None, to=our_public)
    size = large.size
    proxy.cut_next(downstream=int(size * CUT_AT))
    landing = tmp_path / "landing"

    with caplog.at_level(logging.WARNING, logger=reconnect.__name__):
        result = import_once(conn_id, landing)

    assert [record.remote_path.rsplit("/", 1)[1] for record in result.imported] == [large.remote.name]
    assert not result.failed
    assert not result.refused
    assert sha256_of(landing / large.local_name) == large.plain_sha
    assert stat.S_IMODE((landing / large.local_name).stat().st_mode) == 0o600
    assert proxy.cuts_done == 1
    assert proxy.connections == 2
    first, again = proxy.traffic
    print(f"\n{size} bytes on the server: {first.downstream} down before the cut, {again.downstream} after it")
    assert first.downstream >= 0.75 * size
    assert again.downstream < 0.4 * size, f"{again.downstream} of {size} bytes read again after the cut"
    assert again.downstream <= size - resumed_at(caplog.text) + MiB  # the rest only (and the protocol's bytes)
    assert list(folders["inbound"].iterdir()) == []  # imported, then deleted: no marker left
    assert kept_files(kept) == []  # the kept bytes are removed once the file is imported
    resumed = [record.getMessage() for record in caplog.records if "after a cut" in record.getMessage()]
    assert len(resumed) == 1, resumed
    assert f"of {size} after a cut (attempt 1)" in resumed[0]


def test_when_no_new_connection_can_be_made_the_file_fails_for_a_retry_and_its_bytes_are_kept(
    make_connection: ConnectionFactory,
    sshd: SshServer,
    folders: dict[str, Path],
    proxy: TcpProxy,
    kept: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reconnect, "RECONNECT_ATTEMPTS", 2)
    conn_id = make_connection(
        host=proxy.host, port=proxy.port, locations={name: str(path) for name, path in folders.items()}
    )
    large = drop(sshd, folders["inbound"], "big.csv")
    proxy.cut_next(downstream=int(large.size * CUT_AT))
    for _ in range(10):  # every later connection dies in the key exchange (an attempt also probes the host key)
        proxy.cut_next(downstream=10)
    landing = tmp_path / "landing"

    result = import_once(conn_id, landing)

    assert not result.imported
    assert [record.retryable for record in result.failed] == [True]
    assert 3 <= proxy.connections <= 1 + 2 * 2  # the try, then two attempts (each a connection and a probe): bounded
    proxy.clear()
    markers = [parse_marker(path.name) for path in folders["inbound"].iterdir()]
    assert [marker.original for marker in markers if marker] == ["big.csv"]  # left claimed for the retry
    assert not any(path.name == "big.csv" for path in landing.iterdir())
    [bytes_file] = [path for path in kept_files(kept) if path.suffix == ".bytes"]
    assert 0.5 * large.size <= bytes_file.stat().st_size < large.size  # what arrived before the cut
