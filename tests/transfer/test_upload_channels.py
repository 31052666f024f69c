"""A large upload is written over several SFTP channels of one connection, intact (real sshd)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_actito_sftp.hooks.actito_sftp import ActitoSftpHook
from airflow_provider_actito_sftp.transfer import streams, upload
from tests.conftest import ConnectionFactory


def _spy_on_handles(monkeypatch: pytest.MonkeyPatch) -> set[int]:
    used: set[int] = set()
    write_at = streams.PipelinedWriter._write_at

    async def spy(self: streams.PipelinedWriter, remote: Any, data: bytes, offset: int) -> None:
        used.add(id(remote))
        await write_at(self, remote, data, offset)

    monkeypatch.setattr(streams.PipelinedWriter, "_write_at", spy)
    return used


def test_a_large_upload_goes_over_several_channels_and_arrives_intact(
    make_connection: ConnectionFactory, folders: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(upload, "MULTI_CHANNEL_SIZE", 1 << 20)
    monkeypatch.setattr(upload, "WRITE_CHUNK", 64 << 10)  # read in small pieces: the extra channels open meanwhile
    monkeypatch.setattr(streams, "WRITE_CHUNK", 64 << 10)
    used = _spy_on_handles(monkeypatch)
    conn_id = make_connection(locations={"outbound": str(folders["outbound"])})
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(16 << 20))
    result = ActitoSftpHook(conn_id).export_files("outbound", source)
    assert len(result.uploaded) == 1
    assert not result.failed
    assert not result.refused
    assert (folders["outbound"] / "big.bin").read_bytes() == source.read_bytes()
    assert len(used) > 1  # the extra channels took pieces
    assert not list(folders["outbound"].glob("*.part"))


def test_a_small_upload_stays_on_the_sessions_channel(
    make_connection: ConnectionFactory, folders: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(streams, "WRITE_CHUNK", 64 << 10)
    used = _spy_on_handles(monkeypatch)
    conn_id = make_connection(locations={"outbound": str(folders["outbound"])})
    source = tmp_path / "small.bin"
    source.write_bytes(os.urandom(1 << 20))
    ActitoSftpHook(conn_id).export_files("outbound", source)
    assert (folders["outbound"] / "small.bin").read_bytes() == source.read_bytes()
    assert len(used) == 1
