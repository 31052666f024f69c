"""A large file on the partner's real sshd, reached through the cutting proxy, imported by the tries of one task
instance: the bench of the resume tests (``transfer/test_reconnect.py``, ``transfer/test_resume.py``)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from airflow_provider_actito_sftp.pgp.keys import export_newest_public_key, generate_inbound_key
from airflow_provider_actito_sftp.transfer import reconnect, resume
from airflow_provider_actito_sftp.transfer.import_report import ImportResult
from airflow_provider_actito_sftp.transfer.names import owner_id
from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.sshd import SshServer, chown_tree

MiB = 1 << 20
SIZE = 48 * MiB  # a few tens of MiB: over the lowered threshold, quick on loopback, and well over what a cut
# loses in flight (the replies received but not yet handed on in order: a few MiB)
THRESHOLD = 1 * MiB  # RESUME_MIN_SIZE in these tests
TIMEOUT = 120.0  # seconds for one try, at most
OWNER = owner_id("resume", "import", "manual__2026-01-01", "-1")


@dataclass(frozen=True)
class LargeFile:
    """A file the partner dropped: its name and size on the server, what must land locally."""

    remote: Path
    local_name: str
    plain_sha: str
    size: int  # on the server


def server_folders(sshd: SshServer, tmp_path: Path) -> dict[str, Path]:
    """Folders on the server of this test alone (the shared ``folders`` fixture names them after the first 40
    characters of the test's name, which parametrized cases share)."""
    return {name: sshd.make_folder(f"resume/{tmp_path.name}/{name}") for name in ("inbound", "archive")}


def resumed_at(log_text: str) -> int:
    """The byte a resumed download went on from, as its log line says."""
    match = re.search(r"resuming at byte (\d+) of", log_text)
    assert match is not None, "no download was resumed"
    return int(match[1])


def quick_resume(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Lower the threshold, shorten the backoff, keep bytes under ``tmp_path``; return the folder they go to."""
    root = tmp_path / "private"
    monkeypatch.setattr(resume, "provider_temp_path", lambda: root)
    monkeypatch.setattr(resume, "RESUME_MIN_SIZE", THRESHOLD)
    monkeypatch.setattr(reconnect, "RECONNECT_BACKOFF", (0.05,))
    return root / resume.FOLDER


def kept_files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.exists() else []


def drop(
    sshd: SshServer, inbound: Path, name: str, size: int = SIZE, *, partner: PartnerGpg | None = None, to: str = ""
) -> LargeFile:
    """Random (incompressible) plaintext of ``size`` bytes, encrypted to ``to`` when a ``partner`` is given."""
    plain = os.urandom(size)
    if partner is None:
        remote = inbound / name
        remote.write_bytes(plain)
    else:
        source = inbound.parent / f"{name}.plain"
        source.write_bytes(plain)
        remote = inbound / f"{name}.pgp"
        partner.encrypt_to(to, source, remote, compress=False)
        source.unlink()
    chown_tree(inbound, sshd.user)
    return LargeFile(remote, name, hashlib.sha256(plain).hexdigest(), remote.stat().st_size)


def pgp_extra(partner: PartnerGpg) -> tuple[dict[str, Any], str]:
    """Connection fields for inbound PGP (a new key pair of ours), and our public key for the partner."""
    secret_keys, _ = generate_inbound_key("actito_test")
    our_public, _ = export_newest_public_key(secret_keys)
    return {"inbound_pgp_required": True, "inbound_pgp_private_keys": secret_keys}, our_public


def import_once(conn_id: str, landing: Path, *, owner: str = OWNER) -> ImportResult:
    """One try of the import task: the hook's own path (a session, the sweep, the job), bounded in time."""
    hook = ActitoSftpHook(conn_id)
    _ = hook.settings
    call = hook.aimport_files("inbound", landing, owner=owner, after_import="delete", min_age=0)
    return asyncio.run(asyncio.wait_for(call, TIMEOUT))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(4 * MiB):
            digest.update(block)
    return digest.hexdigest()
