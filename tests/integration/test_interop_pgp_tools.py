"""The interoperability matrix, its OpenPGP part (issue 14): partners encrypting to our key with gpg, sq and rnp,
and our exports decrypted by each, through the provider's real paths (hook imports and exports over a real sshd).
Each case records its outcome; the last test checks the page's "pgp-tools" section says the same.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from airflow_provider_actito_sftp.pgp.armor import key_file_text
from airflow_provider_actito_sftp.pgp.keys import PgpKeyType, export_newest_public_key, generate_inbound_key
from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.openpgp_tools import PartnerRnp, PartnerSq, installed
from partner_sandbox.sshd import SshServer, chown_tree
from tests.conftest import ConnectionFactory
from tests.support.interop_cells import PLAINTEXT, outcome_of
from tests.support.interop_matrix import WORKS, Matrix, Table, check_section, outcome
from tests.support.pgp_files import sq_file_gpg_cannot_read

pytestmark = pytest.mark.skipif(
    not (installed("sq") and installed("rnp")),
    reason="the matrix needs sq and rnp (.ci/run installs them)",
)

OUR_KEYS = {"our ed25519 key": PgpKeyType.ED25519, "our RSA 3072 key": PgpKeyType.RSA3072}
DECRYPTORS = ("gpg", "sq", "rnp")
INBOUND, OUTBOUND = "inbound", "outbound"
MATRIX = Matrix(
    "pgp-tools",
    "tests/integration/test_interop_pgp_tools.py",
    {
        INBOUND: Table(
            "Partners encrypting files to our key (import, inbound PGP required)",
            "One import of all these files per key of ours; signatures are not required (`signature_policy`).",
            "How the partner made the file",
            tuple(OUR_KEYS),
        ),
        OUTBOUND: Table(
            "Our exports decrypted by the partner (export, outbound PGP)",
            "One export per partner key, encrypted to it (zlib level 1 for a CSV), then decrypted with each tool.",
            "The partner's key",
            DECRYPTORS,
        ),
    },
)


# --- inbound: partners encrypting to our key -------------------------------------------------------------------


def _inbound_files(folder: Path, ours: tuple[str, str, str], work: Path) -> dict[str, tuple[str, str | None]]:
    """Make one file per way a partner encrypts to ``ours`` (secret keys, public key, fingerprint); return
    ``case -> (file name, expected refusal or None)``."""
    secret_keys, our_public, fingerprint = ours
    source, public = work / "customers.csv", work / "ours.asc"
    source.write_bytes(PLAINTEXT)
    public.write_text(our_public)
    sq, rnp = PartnerSq(work / "sq"), PartnerRnp(work / "rnp")
    rnp.import_key(public)
    sq_signer, _ = sq.generate("partner")
    cases: dict[str, tuple[str, str | None]] = {}

    def add(case: str, name: str, refused: str | None, make: Callable[[Path], object]) -> None:
        make(folder / name)
        cases[case] = (name, refused)

    with PartnerGpg() as gpg:
        signer = gpg.generate()
        add("gpg, defaults", "gpg.csv.pgp", None, lambda out: gpg.encrypt_to(our_public, source, out))
        gpg.encrypt_to(our_public, source, work / "gpg.pgp")
        add(
            "gpg: the encrypted file signed (`gpg --sign file.pgp`: the signature outside)",
            "gpg-signed-outside.csv.pgp",
            None,
            lambda out: gpg.gpg("--local-user", signer, "--sign", "--output", str(out), str(work / "gpg.pgp")),
        )
        add(
            "gpg, cut short in transit (the last 100 bytes missing)",
            "gpg-truncated.csv.pgp",
            "truncated: the file ends inside an OpenPGP packet",
            lambda out: out.write_bytes((work / "gpg.pgp").read_bytes()[:-100]),
        )
        add(
            "gpg --symmetric (a passphrase, not our key)",
            "symmetric.csv.pgp",
            "encrypted with a passphrase (symmetric)",
            lambda out: _gpg_symmetric(gpg, source, out),
        )
    add(
        "sq encrypt, defaults (padded so that gpg 2.2 cannot read it)",
        "sq.csv.pgp",
        None,
        lambda out: sq_file_gpg_cannot_read(public, source, out, secret_keys),
    )
    add(
        "sq encrypt --compression none",
        "sq-uncompressed.csv.pgp",
        None,
        lambda out: sq.encrypt(public, source, out, "--compression", "none"),
    )
    sq_file_gpg_cannot_read(public, source, work / "sq.pgp", secret_keys)
    add(
        "sq: the encrypted file signed (`sq sign`, armored: the signature outside)",
        "sq-signed-outside.csv.pgp",
        None,
        lambda out: sq.sign(sq_signer, work / "sq.pgp", out),
    )
    _, partner_cert = sq.generate("someone")
    add(
        "sq encrypt to another key than ours",
        "sq-other-key.csv.pgp",
        "not encrypted to any of our inbound PGP keys",
        lambda out: sq.encrypt(partner_cert, source, out),
    )
    add("rnp, defaults", "rnp.csv.pgp", None, lambda out: rnp.encrypt(fingerprint, source, out))
    for mode in ("EAX", "OCB"):
        add(
            f"rnp --aead={mode}",
            f"rnp-{mode}.csv.pgp",
            None,
            lambda out, mode=mode: rnp.encrypt(fingerprint, source, out, f"--aead={mode}"),  # type: ignore[misc]
        )
    add(
        "rnp --cipher SM4",
        "rnp-sm4.csv.pgp",
        "with a cipher gpg does not support",
        lambda out: rnp.encrypt(fingerprint, source, out, "--cipher", "SM4"),
    )
    add(
        "a plaintext file (no PGP)",
        "plain.csv.pgp",
        "not PGP-encrypted",
        lambda out: out.write_bytes(PLAINTEXT),
    )
    return cases


def _gpg_symmetric(gpg: PartnerGpg, source: Path, out: Path) -> None:
    command = ["gpg", "--homedir", str(gpg.home), "--batch", "--yes", "--pinentry-mode", "loopback"]
    subprocess.run(
        [*command, "--passphrase", "shared secret", "--symmetric", "--output", str(out), str(source)],
        capture_output=True,
        timeout=120,
        check=True,
    )


@pytest.mark.parametrize("our_key", list(OUR_KEYS))
def test_partners_encrypting_to_our_key(
    our_key: str,
    airflow_db: Path,
    make_connection: ConnectionFactory,
    sshd: SshServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret_keys, info = generate_inbound_key("interop", OUR_KEYS[our_key])
    our_public, _ = export_newest_public_key(secret_keys)
    inbound = sshd.make_folder(f"interop/{OUR_KEYS[our_key].value}/inbound")
    cases = _inbound_files(inbound, (secret_keys, our_public, info.fingerprint), tmp_path)
    chown_tree(inbound, sshd.user)
    conn_id = make_connection(
        locations={"inbound": str(inbound)}, inbound_pgp_required=True, inbound_pgp_private_keys=secret_keys
    )
    landing = tmp_path / "landing"
    result = ActitoSftpHook(conn_id).import_files("inbound", landing, owner="interop", after_import="delete", min_age=0)
    for case, (name, _) in cases.items():
        MATRIX.record(INBOUND, case, our_key, outcome(outcome_of(result, name)))
    for case, (name, refused) in cases.items():
        seen = outcome_of(result, name)
        if refused is None:
            assert seen is None, f"{case}: {seen}"
            assert (landing / name.removesuffix(".pgp")).read_bytes() == PLAINTEXT, case
        else:
            assert seen is not None, case
            assert refused in seen, f"{case}: {seen}"
    if our_key == next(iter(OUR_KEYS)):
        _without_sq(conn_id, sshd, secret_keys, tmp_path, monkeypatch)


def _without_sq(conn_id: str, sshd: SshServer, secret_keys: str, work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker without ``sq``: the padded file is refused, naming the partner's fix."""
    from airflow_provider_actito_sftp.transfer import download

    inbound = Path(ActitoSftpHook(conn_id).settings.locations["inbound"])
    sq_file_gpg_cannot_read(work / "ours.asc", work / "customers.csv", inbound / "padded.csv.pgp", secret_keys)
    chown_tree(inbound, sshd.user)
    monkeypatch.setattr(download, "sequoia_installed", lambda: False)
    hook = ActitoSftpHook(conn_id)
    result = hook.import_files("inbound", work / "landing-2", owner="interop", after_import="delete", min_age=0)
    seen = outcome_of(result, "padded.csv.pgp")
    case = "sq encrypt, defaults (padded), on a worker without `sq` installed"
    MATRIX.record(INBOUND, case, next(iter(OUR_KEYS)), outcome(seen))
    assert seen is not None
    assert "sq encrypt --compression none" in seen


# --- outbound: our exports decrypted by the partner --------------------------------------------------------------


def _partner_keys(work: Path) -> dict[str, tuple[str, Path]]:
    """``case -> (the public key as the partner hands it to us, their secret key file)`` for keys made by each
    tool; the sq RSA key is handed over as a binary ``.pgp`` file."""
    keys: dict[str, tuple[str, Path]] = {}
    work.mkdir(parents=True, exist_ok=True)
    with PartnerGpg() as gpg:
        fingerprint = gpg.generate()
        secret = work / "gpg.sec.asc"
        secret.write_text(gpg.export_secret(fingerprint))
        keys["made by gpg (ed25519 + cv25519)"] = (gpg.export_public(fingerprint), secret)
    sq = PartnerSq(work / "sq")
    secret, cert = sq.generate("acme")
    keys["made by sq (cv25519, armored)"] = (cert.read_text(), secret)
    rsa_secret, rsa_cert = PartnerSq(work / "sq-rsa").generate("acme", cipher_suite="rsa3k")
    keys["made by sq (RSA 3072), sent as a binary .pgp file"] = (key_file_text(sq.binary(rsa_cert)), rsa_secret)
    rnp_secret, rnp_public = PartnerRnp(work / "rnp").generate("acme")
    keys["made by rnp (its defaults)"] = (rnp_public.read_text(), rnp_secret)
    return keys


def _decrypt_with(tool: str, secret: Path, encrypted: Path, work: Path) -> bytes:
    if tool == "sq":
        return PartnerSq(work).decrypt(secret, encrypted)
    if tool == "rnp":
        rnp = PartnerRnp(work / "rnp-reader")
        rnp.import_secret(secret)
        return rnp.decrypt(encrypted)
    with PartnerGpg() as gpg:
        gpg.import_key(secret.read_text())
        output = work / "gpg-reader.out"
        gpg.decrypt(encrypted, output)
        return output.read_bytes()


def test_our_exports_decrypted_by_partners(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, tmp_path: Path
) -> None:
    segment = tmp_path / "segment.csv"
    segment.write_bytes(PLAINTEXT)
    failures = []
    for index, (case, (public_key, secret)) in enumerate(_partner_keys(tmp_path / "keys").items()):
        outbound = sshd.make_folder(f"interop/export-{index}")
        conn_id = make_connection(
            f"interop_export_{index}",
            locations={"outbound": str(outbound)},
            outbound_pgp=True,
            partner_pgp_public_key=public_key,
        )
        result = ActitoSftpHook(conn_id).export_files("outbound", segment)
        assert [record.status for record in result.uploaded] == ["success"], result
        for tool in DECRYPTORS:
            work = tmp_path / f"read-{index}-{tool}"
            work.mkdir()
            try:
                seen = (
                    None if _decrypt_with(tool, secret, outbound / "segment.csv.pgp", work) == PLAINTEXT else "differs"
                )
            except RuntimeError as e:
                seen = str(e).splitlines()[0]
            MATRIX.record(OUTBOUND, case, tool, WORKS if seen is None else f"fails: {seen}")
            if seen is not None:
                failures.append((case, tool, seen))
    assert failures == []


# --- the page ----------------------------------------------------------------------------------------------------

EXPECTED_CELLS = 2 * 13 + 1 + 4 * 3  # inbound (two keys, one without sq), outbound


@pytest.mark.server  # it reads what the module's server tests measured: not in the fast tier, which runs none
def test_the_interoperability_page_shows_this_run() -> None:
    """docs/interoperability.md's "pgp-tools" section says what this run measured (``UPDATE_DOCS=1`` writes it)."""
    check_section(MATRIX, EXPECTED_CELLS)
