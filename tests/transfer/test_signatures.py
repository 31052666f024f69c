"""Detached signatures (issue 26, point 7): which file signs which (fast), and real imports over the real sshd of
files a partner's real gpg signed: published only once the signature verifies, the signature given the data file's
fate, a missing one waited for (bounded) under ``require``, a lonely one left alone, every outcome reported."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from airflow_provider_actito_sftp.connection.settings import ConnectionSettings
from airflow_provider_actito_sftp.exceptions import ConnectionConfigError
from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from airflow_provider_actito_sftp.pgp.keys import export_newest_public_key, generate_inbound_key
from airflow_provider_actito_sftp.ssh.session import RemoteEntry
from airflow_provider_actito_sftp.transfer.destinations import Destination
from airflow_provider_actito_sftp.transfer.import_report import ImportResult
from airflow_provider_actito_sftp.transfer.import_state import ImportRequest
from airflow_provider_actito_sftp.transfer.importer import ImportJob
from airflow_provider_actito_sftp.transfer.names import new_claim
from airflow_provider_actito_sftp.transfer.options import ImportOptions
from airflow_provider_actito_sftp.transfer.selection import FileFilter
from airflow_provider_actito_sftp.transfer.signatures import (
    SIGNATURE_GRACE,
    Covers,
    check_signature_keys,
    pair_signatures,
)
from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.sshd import SshServer, chown_tree
from tests.conftest import ConnectionFactory
from tests.support.memory_stores import MemoryLedger

NOW = 1_800_000_000.0
DATA = b"id;email\n" + b"".join(b"%d;user%d@example.com\n" % (i, i) for i in range(2_000))


# --- which file signs which (no server) --------------------------------------------------------------------------


def _entry(name: str, age: float = 3600.0) -> RemoteEntry:
    return RemoteEntry(name, f"/inbound/{name}", 10, datetime.fromtimestamp(NOW - age, tz=UTC), True, False)


def _pairs(*names: str, pattern: str = "*", min_age: float = 60.0) -> tuple[dict[str, tuple[str, Covers]], Any]:
    pairing = pair_signatures([_entry(name) for name in names], FileFilter(pattern, min_age=min_age), now=NOW)
    return {data: (signature.name, signature.covers) for data, signature in pairing.of.items()}, pairing


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (("data.csv", "data.csv.sig"), {"data.csv": ("data.csv.sig", Covers.STORED)}),
        (("data.csv", "data.csv.asc"), {"data.csv": ("data.csv.asc", Covers.STORED)}),
        (("data.csv.pgp", "data.csv.pgp.sig"), {"data.csv.pgp": ("data.csv.pgp.sig", Covers.STORED)}),
        (("data.csv.gpg", "data.csv.sig"), {"data.csv.gpg": ("data.csv.sig", Covers.PLAINTEXT)}),
        # the file as stored wins: data.csv.sig signs data.csv, and data.csv.pgp has none
        (("data.csv", "data.csv.pgp", "data.csv.sig"), {"data.csv": ("data.csv.sig", Covers.STORED)}),
        (("data.csv.asc",), {}),  # armored data (an encrypted file), not a signature
        (("data.csv.asc", "data.csv.pgp"), {}),  # two encryptions of data.csv, armored and binary
        (("data.csv.asc", "data.csv.asc.sig"), {"data.csv.asc": ("data.csv.asc.sig", Covers.STORED)}),
        (("DATA.CSV", "DATA.CSV.SIG"), {"DATA.CSV": ("DATA.CSV.SIG", Covers.STORED)}),
        (("data.csv", "data.csv.sig.part"), {}),  # a signature still being uploaded is no signature yet
    ],
)
def test_a_signature_signs_what_its_name_says(names: tuple[str, ...], expected: dict[str, tuple[str, Covers]]) -> None:
    pairs, pairing = _pairs(*names)
    assert pairs == expected
    assert {name for name in names if name.lower().endswith(".sig")} <= pairing.names  # never imported themselves


def test_lonely_and_spare_signatures_are_left_alone_and_reported_when_they_concern_the_pattern() -> None:
    claimed_elsewhere = new_claim("busy.csv", "0123456789ab").name
    _, pairing = _pairs(
        "lonely.csv.sig", "other.txt.sig", "busy.csv.sig", claimed_elsewhere, "x.csv.pgp", "x.csv.pgp.sig", "x.csv.sig",
        pattern="*.csv*",
    )  # fmt: skip
    reasons = dict(pairing.left_alone)
    assert reasons == {
        "lonely.csv.sig": "a detached signature, but its data file 'lonely.csv' is not in the location: left alone "
        "(it may be arriving)",
        "x.csv.sig": "a detached signature of 'x.csv.pgp', which has another one: left alone",
    }  # other.txt.sig concerns another pattern; busy.csv is being imported by another run
    assert {"lonely.csv.sig", "other.txt.sig", "busy.csv.sig", "x.csv.sig"} <= pairing.names


def test_a_signature_younger_than_min_age_is_not_complete() -> None:
    pairing = pair_signatures([_entry("data.csv"), _entry("data.csv.sig", age=10.0)], FileFilter(min_age=60.0), now=NOW)
    assert not pairing.of["data.csv"].complete
    assert pair_signatures([_entry("a"), _entry("a.sig", age=10.0)], FileFilter(min_age=0), now=NOW).of["a"].complete


def test_require_without_a_partner_key_is_refused_naming_the_connection_and_the_fix() -> None:
    """Issue 26, point 8: refused before anything is read, and not as "not signed with the partner's key"."""

    def settings(key: str | None) -> ConnectionSettings:
        return cast(
            "ConnectionSettings", SimpleNamespace(conn_id="acme", keys=SimpleNamespace(partner_pgp_public_key=key))
        )

    with pytest.raises(ConnectionConfigError) as refused:
        check_signature_keys(settings(None), ImportOptions(signature_policy=ImportOptions.signature_policy.REQUIRE))
    assert str(refused.value).startswith("Connection 'acme', field 'partner_pgp_public_key': signature_policy=")
    assert "none is configured: set it (`actito-sftp partner-key set acme FILE`" in str(refused.value)
    assert not refused.value.retryable
    for policy in ("accept", "ignore"):
        check_signature_keys(settings(None), ImportOptions.parse(signature_policy=policy))
    check_signature_keys(settings("a key"), ImportOptions.parse(signature_policy="require"))


# --- real imports ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keys() -> Iterator[SimpleNamespace]:
    """Our inbound key pair and the partner's gpg with its key and another one (made once for the module)."""
    secret_keys, _ = generate_inbound_key("signatures")
    our_public, _ = export_newest_public_key(secret_keys)
    with PartnerGpg() as gpg:
        yield SimpleNamespace(
            secret=secret_keys,
            ours=our_public,
            gpg=gpg,
            partner=gpg.generate(),
            other=gpg.generate("X <x@example.com>"),
        )


@pytest.fixture
def signed(make_connection: ConnectionFactory, folders: dict[str, Path], keys: SimpleNamespace) -> str:
    """A connection with our key pair (PGP not required: plaintext files too) and the partner's key."""
    return make_connection(
        locations={name: str(path) for name, path in folders.items()},
        inbound_pgp_private_keys=keys.secret,
        partner_pgp_public_key=keys.gpg.export_public(keys.partner),
    )


def _put(folder: Path, name: str, content: bytes = DATA) -> Path:
    (folder / name).write_bytes(content)
    return folder / name


def _sign(keys: SimpleNamespace, data: Path, name: str, *options: str, key: str | None = None) -> None:
    keys.gpg.gpg("--local-user", key or keys.partner, *options, "--detach-sign", "--output", str(data.parent / name),
                 str(data))  # fmt: skip


def _encrypt(keys: SimpleNamespace, folder: Path, name: str, sign_with: str = "") -> Path:
    source = _put(folder.parent, f"{name}.plain")
    keys.gpg.encrypt_to(keys.ours, source, folder / name, sign_with=sign_with)
    source.unlink()
    return folder / name


def _run(
    conn_id: str, landing: Path, sshd: SshServer, ledger: MemoryLedger | None = None, **options: Any
) -> ImportResult:
    """One import run over a fresh session (files chowned to the SFTP user first)."""
    for folder in ActitoSftpHook(conn_id).settings.locations.values():
        chown_tree(Path(folder), sshd.user)
    min_age = options.pop("min_age", 0.0)

    async def run() -> ImportResult:
        async with ActitoSftpHook(conn_id).open_async_session() as session:
            request = ImportRequest(
                location="inbound",
                file_filter=FileFilter(min_age=min_age),
                destination=Destination(landing, owner="sig"),
                options=ImportOptions.parse(min_age=min_age, **options),
                owner="sig",
            )
            return await ImportJob(session, request, ledger or MemoryLedger()).run()

    return asyncio.run(run())


def _by_name(records: list[Any]) -> dict[str, Any]:
    return {record.remote_path.rpartition("/")[2]: record for record in records}


def test_signed_files_are_published_once_verified_and_their_signatures_go_with_them(
    signed: str, folders: dict[str, Path], keys: SimpleNamespace, sshd: SshServer, tmp_path: Path
) -> None:
    inbound = folders["inbound"]
    _sign(keys, _put(inbound, "plain.csv"), "plain.csv.sig")
    _sign(keys, _encrypt(keys, inbound, "cipher.csv.pgp"), "cipher.csv.pgp.asc", "--armor")  # signs the ciphertext
    _sign(keys, _put(tmp_path, "before.csv"), "before.csv.sig")  # signs the plaintext, then it is encrypted
    (tmp_path / "before.csv.sig").rename(inbound / "before.csv.sig")
    _encrypt(keys, inbound, "before.csv.pgp")
    result = _run(signed, tmp_path / "landing", sshd, after_import="delete", signature_policy="require")
    assert result.refused == result.failed == []
    imported = _by_name(result.imported)
    assert set(imported) == {"plain.csv", "cipher.csv.pgp", "before.csv.pgp"}
    for name in ("plain.csv", "cipher.csv", "before.csv"):
        assert (tmp_path / "landing" / name).read_bytes() == DATA
    signature_of = {
        "plain.csv": "plain.csv.sig",
        "cipher.csv.pgp": "cipher.csv.pgp.asc",
        "before.csv.pgp": "before.csv.sig",
    }
    for name, record in imported.items():
        assert record.remote_outcome == (
            f"deleted from the server; its detached signature '{signature_of[name]}' verified (the partner's key "
            f"{keys.partner}), deleted too"
        )
    assert sorted(path.name for path in inbound.iterdir()) == []
    assert [name for name, _ in result.skipped] == []  # no signature imported, nor reported on its own


def test_bad_and_foreign_signatures_refuse_their_file_only_and_go_to_quarantine_with_it(
    signed: str, folders: dict[str, Path], keys: SimpleNamespace, sshd: SshServer, tmp_path: Path
) -> None:
    inbound = folders["inbound"]
    _sign(keys, _put(inbound, "good.csv"), "good.csv.sig")
    _sign(keys, _put(inbound, "tampered.csv"), "tampered.csv.sig")
    _put(inbound, "tampered.csv", DATA.replace(b"user7@", b"evil7@"))
    _sign(keys, _put(inbound, "foreign.csv"), "foreign.csv.sig", key=keys.other)
    keys.gpg.gpg("--local-user", keys.partner, "--sign", "--output", str(inbound / "inline.csv.sig"),
                 str(_put(inbound, "inline.csv")))  # fmt: skip
    result = _run(
        signed, tmp_path / "landing", sshd, after_import="delete", signature_policy="accept",
        quarantine_location="quarantine",
    )  # fmt: skip
    assert set(_by_name(result.imported)) == {"good.csv"}
    refused = {name: (record.error, record.retryable) for name, record in _by_name(result.refused).items()}
    moved = "; its detached signature moved to quarantine too, as {}/{}.sig"
    quarantine = ActitoSftpHook(signed).settings.locations["quarantine"]
    assert refused == {
        "tampered.csv": (
            "its detached signature 'tampered.csv.sig' is BAD: the file was changed after it was signed (or the "
            "signature is another file's); ask the partner to sign the file as sent and to send both again"
            + moved.format(quarantine, "tampered.csv"),
            False,
        ),
        "foreign.csv": (
            f"its detached signature 'foreign.csv.sig' is made with another key (key id {keys.other[-16:]}), not the "
            "partner's configured key: ask the partner to sign with the key they gave us, or set their new key on the "
            "connection" + moved.format(quarantine, "foreign.csv"),
            False,
        ),
        "inline.csv": (
            "'inline.csv.sig' next to it is not a detached OpenPGP signature (a signed or compressed OpenPGP message, "
            "as `gpg --sign` makes): a file named "
            "X.sig or X.asc beside X is read as X's signature; ask the partner to sign with --detach-sign (gpg), "
            "--detached (sq) or --detach (rnp)" + moved.format(quarantine, "inline.csv"),
            False,
        ),
    }
    assert sorted(path.name for path in inbound.iterdir()) == []
    assert sorted(path.name for path in folders["quarantine"].iterdir()) == sorted(
        f"{name}{suffix}" for name in ("tampered.csv", "foreign.csv", "inline.csv") for suffix in ("", ".sig")
    )
    assert not (tmp_path / "landing" / "tampered.csv").exists()


def test_a_missing_signature_is_waited_for_then_refused_under_require(
    signed: str, folders: dict[str, Path], keys: SimpleNamespace, sshd: SshServer, tmp_path: Path
) -> None:
    inbound = folders["inbound"]
    _put(inbound, "unsigned.csv")
    _put(inbound, "late.csv")
    _encrypt(keys, inbound, "unsigned.csv.pgp")
    _encrypt(keys, inbound, "signed-inside.csv.pgp", sign_with=keys.partner)  # no detached one needed
    first = _run(signed, tmp_path / "landing", sshd, after_import="delete", signature_policy="require")
    assert set(_by_name(first.imported)) == {"signed-inside.csv.pgp"}
    assert first.refused == first.failed == []
    waiting = dict(first.skipped)
    assert waiting["unsigned.csv"].startswith(
        "waiting for its detached signature ('unsigned.csv.sig' or '.asc'; it is not decrypted here, so no signature "
        "inside it is checked): refused if none comes within 15 minutes of its last modification ("
    )
    assert waiting["unsigned.csv.pgp"].startswith(
        "waiting for its detached signature ('unsigned.csv.pgp.sig' or '.asc'; it is not signed inside either)"
    )
    assert sorted(path.name for path in inbound.iterdir()) == ["late.csv", "unsigned.csv", "unsigned.csv.pgp"]
    assert not any(path.name.startswith(("unsigned", "late")) for path in (tmp_path / "landing").iterdir())
    _sign(keys, inbound / "late.csv", "late.csv.sig")  # the signature comes within the grace
    past_the_grace = time.time() - SIGNATURE_GRACE - 60
    for name in ("unsigned.csv", "unsigned.csv.pgp"):
        os.utime(inbound / name, (past_the_grace, past_the_grace))
    second = _run(signed, tmp_path / "landing", sshd, after_import="delete", signature_policy="require")
    assert set(_by_name(second.imported)) == {"late.csv"}
    refused = {name: record.error for name, record in _by_name(second.refused).items()}
    assert refused == {
        "unsigned.csv": "no detached signature ('unsigned.csv.sig' or '.asc') came within 15 minutes of its last "
        "modification, and it is not decrypted here, so no signature inside it is checked; signature_policy='require' "
        "needs the partner's signature: ask the partner to send the signature (gpg --detach-sign FILE), or import "
        "with signature_policy='accept'",
        "unsigned.csv.pgp": "no detached signature ('unsigned.csv.pgp.sig' or '.asc') came within 15 minutes of its "
        "last modification, and it is not signed inside either; signature_policy='require' needs the partner's "
        "signature: ask the partner to send the signature (gpg --detach-sign FILE), or import with "
        "signature_policy='accept'",
    }
    assert sorted(path.name for path in inbound.iterdir()) == ["unsigned.csv", "unsigned.csv.pgp"]  # left in place


def test_a_lonely_signature_is_left_alone_and_a_young_one_holds_its_data_file_back(
    signed: str, folders: dict[str, Path], keys: SimpleNamespace, sshd: SshServer, tmp_path: Path
) -> None:
    inbound = folders["inbound"]
    _sign(keys, _put(tmp_path, "gone.csv"), "gone.csv.sig")
    (tmp_path / "gone.csv.sig").rename(inbound / "gone.csv.sig")
    _sign(keys, _put(inbound, "slow.csv"), "slow.csv.sig")
    old = time.time() - 3600
    for name in ("gone.csv.sig", "slow.csv"):
        os.utime(inbound / name, (old, old))
    result = _run(signed, tmp_path / "landing", sshd, after_import="delete", signature_policy="ignore", min_age=60)
    assert result.imported == result.refused == result.failed == []
    assert dict(result.skipped) == {
        "gone.csv.sig": "a detached signature, but its data file 'gone.csv' is not in the location: left alone (it "
        "may be arriving)",
        "slow.csv": "waiting for its detached signature 'slow.csv.sig' (modified less than min_age ago)",
    }
    assert sorted(path.name for path in inbound.iterdir()) == ["gone.csv.sig", "slow.csv", "slow.csv.sig"]


def test_keep_leaves_the_signature_beside_its_file_and_ignore_moves_it_unchecked(
    signed: str, folders: dict[str, Path], keys: SimpleNamespace, sshd: SshServer, tmp_path: Path
) -> None:
    inbound = folders["inbound"]
    _sign(keys, _put(inbound, "kept.csv"), "kept.csv.sig")
    old = time.time() - 3600  # not modified in the second of the import: the ledger is sure without reading it
    os.utime(inbound / "kept.csv", (old, old))
    ledger = MemoryLedger()
    for claim in ("rename", "none"):
        first = _run(signed, tmp_path / f"landing-{claim}", sshd, ledger, signature_policy="require", claim=claim)
        [record] = first.imported
        assert record.remote_outcome.endswith(
            f"; its detached signature 'kept.csv.sig' verified (the partner's key {keys.partner}), kept beside it"
        )
        again = _run(signed, tmp_path / f"landing-{claim}", sshd, ledger, signature_policy="require", claim=claim)
        assert again.imported == again.refused == []
        assert dict(again.skipped) == {
            "kept.csv": "already imported (ledger)",
            "kept.csv.sig": "the detached signature of 'kept.csv', kept beside it",
        }
        ledger.entries.clear()
    assert sorted(path.name for path in inbound.iterdir()) == ["kept.csv", "kept.csv.sig"]
    _put(inbound, "kept.csv", DATA + b"changed after signing\n")  # a bad signature: not checked under "ignore"
    result = _run(signed, tmp_path / "landing-ignore", sshd, after_import="move", archive_location="archive",
                  signature_policy="ignore")  # fmt: skip
    [record] = result.imported
    archive = ActitoSftpHook(signed).settings.locations["archive"]
    assert record.remote_outcome == (
        f"archived as {archive}/kept.csv; its detached signature 'kept.csv.sig' not checked "
        f"(signature_policy='ignore'), archived as {archive}/kept.csv.sig"
    )
    assert sorted(path.name for path in folders["archive"].iterdir()) == ["kept.csv", "kept.csv.sig"]
