"""The interoperability matrix, its detached-signature part (issue 26, point 7): files a partner signs with gpg, sq and
rnp beside the data file (``data.csv.sig`` / ``.asc``), imported over the real sshd under
``signature_policy="require"``, and the ways it goes wrong. Each case records its outcome; the last test checks the
page's "detached-signatures" section says the same.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from airflow_provider_actito_sftp.exceptions import ConnectionConfigError
from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from airflow_provider_actito_sftp.pgp.keys import export_newest_public_key, generate_inbound_key
from airflow_provider_actito_sftp.transfer.import_report import ImportResult
from airflow_provider_actito_sftp.transfer.signatures import SIGNATURE_GRACE
from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.openpgp_tools import installed, run
from partner_sandbox.sshd import SshServer, chown_tree
from tests.conftest import ConnectionFactory
from tests.support.interop_cells import PLAINTEXT, outcome_of
from tests.support.interop_matrix import Matrix, Table, check_section, outcome

pytestmark = pytest.mark.skipif(
    not (installed("sq") and installed("rnp")), reason="the matrix needs sq and rnp (.ci/run installs them)"
)

SIGNED, WRONG = "signed", "wrong"
COLUMNS = {
    "plain": "a plaintext file: `data.csv` + `data.csv.sig`",
    "cipher": "an encrypted file, signed as sent: `data.csv.pgp` + `data.csv.pgp.sig`",
    "before": "an encrypted file, signed before encrypting: `data.csv.pgp` + `data.csv.sig`",
}
MATRIX = Matrix(
    "detached-signatures",
    "tests/integration/test_interop_detached_signatures.py",
    {
        SIGNED: Table(
            'Detached signatures beside the data file (import, `signature_policy="require"`)',
            'One import of all these pairs, `after_import="move"`; the partner\'s key (made by gpg: ed25519 + '
            "cv25519) signs with each tool; the signature file is archived with its data file. `X.sig` (or `.asc`) "
            "signs the file `X` as stored, or (`.sig` only), when `X` is the name an encrypted file decrypts to, its "
            "decrypted content (so in the last column every tool's signature is named `.sig`, armored or not).",
            "How the partner signed",
            tuple(COLUMNS.values()),
        ),
        WRONG: Table(
            "Detached signatures that do not verify, or are missing",
            "In the same import (refused files go to `quarantine_location` with their signature); a missing "
            f"signature waits {SIGNATURE_GRACE / 60:g} minutes from the file's last modification, then the file is "
            "refused.",
            "Case",
            ("result",),
        ),
    },
)
TOOLS = {
    "gpg --detach-sign (binary `.sig`)": ("gpg", ".sig"),
    "gpg --armor --detach-sign (`.asc`)": ("gpg-armor", ".asc"),
    "sq sign --detached (armored `.sig`)": ("sq", ".sig"),
    "rnp --sign --detach (binary `.sig`)": ("rnp", ".sig"),
    "rnp --sign --detach --armor (`.asc`)": ("rnp-armor", ".asc"),
}


@pytest.fixture(scope="module")
def partner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """Our key pair, and the partner's key in gpg, sq (its secret key file) and rnp (imported), plus another key."""
    work = tmp_path_factory.mktemp("detached")
    secret_keys, _ = generate_inbound_key("interop")
    our_public, _ = export_newest_public_key(secret_keys)
    with PartnerGpg() as gpg:
        key = gpg.generate()
        other = gpg.generate("Someone Else <else@example.com>")
        (work / "partner.key").write_text(gpg.export_secret(key))
        rnp_home = work / "rnp"
        rnp_home.mkdir(mode=0o700)
        run("rnpkeys", "--homedir", str(rnp_home), "--import", str(work / "partner.key"))
        yield SimpleNamespace(
            work=work, secret=secret_keys, ours=our_public, gpg=gpg, key=key, other=other, rnp_home=rnp_home
        )


def _signer(partner: SimpleNamespace, tool: str) -> Callable[[Path, Path], object]:
    """How ``tool`` writes ``signature`` for ``data``, with the partner's key."""
    gpg, key = partner.gpg, partner.key
    rnp = ["rnp", "--homedir", str(partner.rnp_home), "--password", "", "-u", key, "--sign", "--detach", "--overwrite"]
    return {
        "gpg": lambda data, out: gpg.gpg("-u", key, "--detach-sign", "--output", str(out), str(data)),
        "gpg-armor": lambda data, out: gpg.gpg("-u", key, "--armor", "--detach-sign", "--output", str(out), str(data)),
        "sq": lambda data, out: run(
            "sq", "sign", "--detached", "--signer-key", str(partner.work / "partner.key"), "--output", str(out),
            str(data),
        ),
        "rnp": lambda data, out: run(*rnp, str(data), "--output", str(out)),
        "rnp-armor": lambda data, out: run(*rnp, "--armor", str(data), "--output", str(out)),
    }[tool]  # fmt: skip


def _make_pairs(partner: SimpleNamespace, inbound: Path) -> dict[tuple[str, str], str]:
    """Every tool x column pair in ``inbound``; returns ``(case, column) -> data file name``."""
    plain = partner.work / "data.csv"
    plain.write_bytes(PLAINTEXT)
    names = {}
    for case, (tool, suffix) in TOOLS.items():
        sign = _signer(partner, tool)
        stem = f"{tool}-plain.csv"
        (inbound / stem).write_bytes(PLAINTEXT)
        sign(inbound / stem, inbound / f"{stem}{suffix}")
        stem = f"{tool}-cipher.csv.pgp"
        partner.gpg.encrypt_to(partner.ours, plain, inbound / stem)
        sign(inbound / stem, inbound / f"{stem}{suffix}")
        stem = f"{tool}-before.csv"
        sign(plain, inbound / f"{stem}.sig")  # .sig whatever the armor: X.asc signs only a file X beside it
        partner.gpg.encrypt_to(partner.ours, plain, inbound / f"{stem}.pgp")
        for column, name in zip(COLUMNS, (f"{tool}-plain.csv", f"{tool}-cipher.csv.pgp", f"{stem}.pgp"), strict=True):
            names[case, column] = name
    return names


WRONG_CASES = {
    "a bad signature (the file changed after it was signed)": ("bad.csv", "is BAD: the file was changed"),
    "another key's signature": ("foreign.csv", "is made with another key"),
    "a signed file (`gpg --sign`) named `.sig`, not a detached signature": ("inline.csv", "not a detached OpenPGP"),
}


def _make_wrong(partner: SimpleNamespace, inbound: Path) -> None:
    gpg, key = partner.gpg, partner.key
    for name in ("bad.csv", "foreign.csv", "inline.csv", "missing.csv"):
        (inbound / name).write_bytes(PLAINTEXT)
    gpg.gpg("-u", key, "--detach-sign", "--output", str(inbound / "bad.csv.sig"), str(inbound / "bad.csv"))
    (inbound / "bad.csv").write_bytes(PLAINTEXT.replace(b"user7@", b"evil7@"))
    gpg.gpg(
        "-u", partner.other, "--detach-sign", "--output", str(inbound / "foreign.csv.sig"), str(inbound / "foreign.csv")
    )
    gpg.gpg("-u", key, "--sign", "--output", str(inbound / "inline.csv.sig"), str(inbound / "inline.csv"))
    gpg.gpg("-u", key, "--detach-sign", "--output", str(inbound / "lonely.csv.sig"), str(inbound / "inline.csv"))


def _import(conn_id: str, landing: Path, server: SshServer, inbound: Path) -> ImportResult:
    chown_tree(inbound.parent, server.user)
    return ActitoSftpHook(conn_id).import_files(
        "inbound", landing, owner="interop", after_import="move", archive_location="archive",
        quarantine_location="quarantine", signature_policy="require", min_age=0,
    )  # fmt: skip


def test_partners_detached_signatures(
    partner: SimpleNamespace, make_connection: ConnectionFactory, sshd: SshServer, tmp_path: Path
) -> None:
    folders = {name: sshd.make_folder(f"detached/{name}") for name in ("inbound", "archive", "quarantine")}
    inbound = folders["inbound"]
    pairs = _make_pairs(partner, inbound)
    _make_wrong(partner, inbound)
    conn_id = make_connection(
        "interop_detached",
        locations={name: str(folder) for name, folder in folders.items()},
        inbound_pgp_private_keys=partner.secret,
        partner_pgp_public_key=partner.gpg.export_public(partner.key),
    )
    result = _import(conn_id, tmp_path / "landing", sshd, inbound)
    for (case, column), name in pairs.items():
        MATRIX.record(SIGNED, case, COLUMNS[column], outcome(outcome_of(result, name)))
    quarantine = str(folders["quarantine"])  # the server's folder: run-specific, shown as the location's name
    for case, (name, _) in WRONG_CASES.items():
        MATRIX.record(WRONG, case, "result", outcome(outcome_of(result, name)).replace(quarantine, "<quarantine>"))
    skipped = dict(result.skipped)
    MATRIX.record(WRONG, "a signature without its data file", "result", f"left alone: {skipped['lonely.csv.sig']}")
    waiting = re.sub(r"\(\d+ min left\)", "(<minutes> min left)", skipped["missing.csv"])
    MATRIX.record(WRONG, "no signature yet (a plaintext file)", "result", f"skipped: {waiting}")
    # every pair imported byte for byte, its signature archived with it
    for name in pairs.values():
        assert outcome_of(result, name) is None, f"{name}: {outcome_of(result, name)}"
        assert (tmp_path / "landing" / name.removesuffix(".pgp")).read_bytes() == PLAINTEXT, name
    archived = {path.name for path in folders["archive"].iterdir()}
    assert len(archived) == 2 * len(pairs)
    for case, (name, refused) in WRONG_CASES.items():
        seen = outcome_of(result, name)
        assert seen is not None, case
        assert refused in seen, f"{case}: {seen}"
    assert {path.name for path in folders["quarantine"].iterdir()} == {
        f"{name}{suffix}" for name, _ in WRONG_CASES.values() for suffix in ("", ".sig")
    }
    assert skipped["missing.csv"].startswith("waiting for its detached signature ('missing.csv.sig' or '.asc'")
    assert skipped["lonely.csv.sig"].endswith("left alone (it may be arriving)")
    assert {path.name for path in inbound.iterdir()} == {"missing.csv", "lonely.csv.sig"}
    # the grace over: the file without a signature is refused (not retried); the lonely signature stays
    past = time.time() - SIGNATURE_GRACE - 60
    os.utime(inbound / "missing.csv", (past, past))
    later = _import(conn_id, tmp_path / "landing", sshd, inbound)
    seen = outcome_of(later, "missing.csv")
    MATRIX.record(WRONG, f"no signature {SIGNATURE_GRACE / 60:g} minutes after the file's last change", "result",
                  outcome(seen))  # fmt: skip
    assert seen is not None
    assert seen.startswith("no detached signature ('missing.csv.sig' or '.asc') came within")
    assert [record.retryable for record in later.refused] == [False]
    assert {path.name for path in inbound.iterdir()} == {"lonely.csv.sig"}  # missing.csv went to quarantine


def test_require_without_a_partner_key_is_refused_before_anything_moves(
    partner: SimpleNamespace, make_connection: ConnectionFactory, sshd: SshServer, tmp_path: Path
) -> None:
    inbound = sshd.make_folder("detached-no-key/inbound")
    (inbound / "data.csv").write_bytes(PLAINTEXT)
    chown_tree(inbound, sshd.user)
    conn_id = make_connection("interop_no_partner_key", locations={"inbound": str(inbound)})
    with pytest.raises(ConnectionConfigError) as refused:
        ActitoSftpHook(conn_id).import_files(
            "inbound", tmp_path / "landing", owner="interop", after_import="delete", signature_policy="require",
            min_age=0,
        )  # fmt: skip
    MATRIX.record(WRONG, "`signature_policy=\"require\"` and no partner key configured", "result",
                  outcome(str(refused.value)))  # fmt: skip
    assert "none is configured: set it (`actito-sftp partner-key set interop_no_partner_key FILE`" in str(refused.value)
    assert [path.name for path in inbound.iterdir()] == ["data.csv"]  # not claimed, not read
    assert not (tmp_path / "landing").exists() or not any((tmp_path / "landing").iterdir())


EXPECTED_CELLS = len(TOOLS) * len(COLUMNS) + len(WRONG_CASES) + 4


@pytest.mark.server  # it reads what the module's server tests measured: not in the fast tier, which runs none
def test_the_interoperability_page_shows_this_run() -> None:
    """docs/interoperability.md's "detached-signatures" section says what this run measured (``UPDATE_DOCS=1``
    writes it)."""
    check_section(MATRIX, EXPECTED_CELLS)
