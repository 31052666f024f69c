"""The interoperability matrix (issue 14): partners on other OpenPGP tools and other SFTP servers, through
the provider's real paths (hook imports and exports over real servers). Each case records its outcome, and
the last test renders them as ``docs/interoperability.md`` and checks the committed page says the same.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from airflow_provider_actito_sftp.pgp.armor import key_file_text
from airflow_provider_actito_sftp.pgp.keys import PgpKeyType, export_newest_public_key, generate_inbound_key
from airflow_provider_actito_sftp.transfer.import_report import ImportResult
from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.openpgp_tools import PartnerRnp, PartnerSq, installed
from partner_sandbox.proftpd import find_proftpd, start_proftpd, stop_proftpd
from partner_sandbox.sshd import (
    SftpUser,
    SshServer,
    chown_tree,
    generate_ssh_key,
    remove_server,
    running_as_root,
    start_sshd,
)
from tests.conftest import ConnectionFactory
from tests.support.dags import import_records, run_dag
from tests.support.interop_matrix import PAGE, WORKS, Matrix, Table, outcome, tool_versions
from tests.support.pgp_files import sq_file_gpg_cannot_read

pytestmark = pytest.mark.skipif(
    not (installed("sq") and installed("rnp") and running_as_root() and find_proftpd() is not None),
    reason="the matrix needs sq, rnp, ProFTPD and root (.ci/run installs them and runs as root)",
)

OUR_KEYS = {"our ed25519 key": PgpKeyType.ED25519, "our RSA 3072 key": PgpKeyType.RSA3072}
DECRYPTORS = ("gpg", "sq", "rnp")
INBOUND, OUTBOUND, SERVERS = "inbound", "outbound", "servers"
MATRIX = Matrix(
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
        SERVERS: Table(
            "Partner servers",
            "Host key pinned, key authentication, then the operation.",
            "Server: operation",
            ("result",),
        ),
    }
)
PLAINTEXT = b"id;email\n" + b"".join(b"%d;user%d@example.com\n" % (i, i) for i in range(12_000))  # ~300 kB


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


def _outcome_of(result: ImportResult, name: str) -> str | None:
    """None if ``name`` was imported and finished on the server, else the error its record carries."""
    for record in result.refused + result.failed + result.unfinished:
        if record.remote_path.endswith(f"/{name}"):
            return record.error or "no error given"
    imported = [record for record in result.imported if record.remote_path.endswith(f"/{name}")]
    return None if imported else "not imported, and no reason given"


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
        MATRIX.record(INBOUND, case, our_key, outcome(_outcome_of(result, name)))
    for case, (name, refused) in cases.items():
        seen = _outcome_of(result, name)
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
    seen = _outcome_of(result, "padded.csv.pgp")
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


# --- partner servers -------------------------------------------------------------------------------------------

RESTRICTIONS = {"": "", "-P remove": ", deletes forbidden (`-P remove`)", "-P rename,posix-rename@openssh.com": ""}
RESTRICTIONS["-P rename,posix-rename@openssh.com"] = ", renames forbidden (`-P rename`)"


@pytest.fixture(scope="module")
def chroot_sshds(sftp_user: SftpUser) -> Iterator[dict[str, SshServer]]:
    """OpenSSH servers jailing the user (ChrootDirectory + internal-sftp), by internal-sftp flags."""
    servers: dict[str, SshServer] = {}
    try:
        for flags in RESTRICTIONS:
            server = servers[flags] = start_sshd(sftp_user, sftp_flags=flags, chroot=True)
            server.add_authorized_key(generate_ssh_key(server.workdir / "client-key"))
        yield servers
    finally:
        for server in servers.values():
            remove_server(server)


def _on(make_connection: ConnectionFactory, server: SshServer, name: str, **extra: object) -> tuple[str, Path]:
    """A connection to ``server`` with inbound, outbound and archive locations; returns it and the inbound folder."""
    folders = {location: server.make_folder(f"{name}/{location}") for location in ("inbound", "outbound", "archive")}
    conn_id = make_connection(
        name,
        port=server.port,
        ssh_private_key=(server.workdir / "client-key").read_text(),
        host_key=server.host_key_line,
        locations={location: server.remote_path(folder) for location, folder in folders.items()},
        **extra,
    )
    return conn_id, folders["inbound"]


def _import_cell(
    conn_id: str, inbound: Path, user: SftpUser, work: Path, name: str = "customers.csv", **options: object
) -> str | None:
    """Import a new file ``name`` with ``options`` in an Airflow task (``keep`` writes its ledger to Variables):
    None if it arrived and finished on the server, else the error its record carries."""
    (inbound / name).write_bytes(PLAINTEXT)
    chown_tree(inbound, user)
    options = {"after_import": "delete", "min_age": 0, **options}
    arguments = "".join(f", {key}={value!r}" for key, value in options.items())
    run = run_dag(
        f"{conn_id}_{len(list(work.parent.iterdir()))}",
        f"""
        ActitoSftpImportOperator(task_id="import", conn_id={conn_id!r}, location="inbound",
                                 destination={str(work / "landing")!r}{arguments})
        """,
    )
    records = [record for record in import_records(run) if record["remote_path"].endswith(f"/{name}")]
    if not records:
        return "not imported, and no reason given"
    return records[0]["error"]


def _export_cell(conn_id: str, work: Path, **options: object) -> str | None:
    work.mkdir(parents=True, exist_ok=True)
    source = work / "segment.csv"
    source.write_bytes(PLAINTEXT)
    result = ActitoSftpHook(conn_id).export_files("outbound", source, **options)
    problems = [record.error or "no error given" for record in result.refused + result.failed]
    return problems[0] if problems else None


def _server_row(case: str, error: str | None, refused: str | None = None) -> None:
    MATRIX.record(SERVERS, case, "result", outcome(error))
    if refused is None:
        assert error is None, f"{case}: {error}"
    else:
        assert error is not None, case
        assert refused in error, f"{case}: {error}"


def test_openssh_with_rsa_ecdsa_and_ed25519_host_keys(
    make_connection: ConnectionFactory, multi_key_sshd: SshServer
) -> None:
    for key_type in ("ed25519", "ecdsa", "rsa"):
        conn_id = make_connection(
            f"interop_{key_type}",
            port=multi_key_sshd.port,
            host_key=multi_key_sshd.host_key_lines[key_type],
            locations={},
        )
        ok, message = ActitoSftpHook(conn_id).test_connection()
        case = f"OpenSSH with ed25519, ECDSA and RSA host keys: connect, the {key_type} key pinned"
        _server_row(case, None if ok else message)


def test_openssh_chroot_and_restricted_operations(
    airflow_db: Path,
    make_connection: ConnectionFactory,
    chroot_sshds: dict[str, SshServer],
    sftp_user: SftpUser,
    tmp_path: Path,
) -> None:
    plain, no_delete = chroot_sshds[""], chroot_sshds["-P remove"]
    no_rename = chroot_sshds["-P rename,posix-rename@openssh.com"]
    server = "OpenSSH, chroot + internal-sftp"
    conn_id, inbound = _on(make_connection, plain, "jail")
    _server_row(f"{server}: import, after_import='delete'", _import_cell(conn_id, inbound, sftp_user, tmp_path))
    _server_row(f"{server}: export (locked: .part, then renamed)", _export_cell(conn_id, tmp_path))

    conn_id, inbound = _on(make_connection, no_delete, "jail_no_delete")
    case = f"{server}{RESTRICTIONS['-P remove']}: import, after_import="
    _server_row(
        f"{case}'delete'",
        _import_cell(conn_id, inbound, sftp_user, tmp_path / "a"),
        "the server refuses to delete it (permission denied by the server)",
    )
    kept = _import_cell(conn_id, inbound, sftp_user, tmp_path / "b", "orders.csv", after_import="keep", claim_timeout=0)
    _server_row(f"{case}'keep' (which also finishes what 'delete' left)", kept)
    assert sorted(path.name for path in inbound.iterdir()) == ["customers.csv", "orders.csv"]

    conn_id, inbound = _on(make_connection, no_rename, "jail_no_rename")
    case = f"{server}{RESTRICTIONS['-P rename,posix-rename@openssh.com']}"
    _server_row(
        f"{case}: import (claimed by a rename)",
        _import_cell(conn_id, inbound, sftp_user, tmp_path / "c", after_import="keep"),
        "claim='none'",
    )
    in_place = _import_cell(conn_id, inbound, sftp_user, tmp_path / "d", after_import="keep", claim="none")
    _server_row(f"{case}: import, claim='none'", in_place)
    locked = _export_cell(conn_id, tmp_path / "e")
    _server_row(f"{case}: export (locked: .part, then renamed)", locked, "set outbound_lock to false")
    unlocked_id, _ = _on(make_connection, no_rename, "jail_no_rename_unlocked", outbound_lock=False)
    _server_row(f"{case}: export, outbound_lock=false", _export_cell(unlocked_id, tmp_path / "f"))


def test_proftpd_mod_sftp(
    airflow_db: Path, make_connection: ConnectionFactory, sftp_user: SftpUser, tmp_path: Path
) -> None:
    from airflow_provider_actito_sftp.ssh.key_type import PublicKeyFormat
    from airflow_provider_actito_sftp.ssh.keys import generate_ssh_key as our_key_pair
    from airflow_provider_actito_sftp.ssh.keys import public_key_text

    server = start_proftpd(sftp_user)
    try:
        pair = our_key_pair(comment="actito-sftp:interop")
        server.install_key(public_key_text(pair.public_line, PublicKeyFormat.RFC4716))
        folders = {location: server.make_folder(location) for location in ("inbound", "outbound")}
        conn_id = make_connection(
            "interop_proftpd",
            port=server.port,
            ssh_private_key=pair.private_key,
            host_key=server.host_key_lines["ed25519"],
            locations={location: str(folder) for location, folder in folders.items()},
        )
        case = "ProFTPD 1.3.8 mod_sftp (AllowOverwrite off)"
        _server_row(
            f"{case}: import, after_import='delete'", _import_cell(conn_id, folders["inbound"], sftp_user, tmp_path)
        )
        _server_row(f"{case}: export (locked: .part, then renamed)", _export_cell(conn_id, tmp_path / "a"))
        replaced = _export_cell(conn_id, tmp_path / "b", overwrite="replace")
        _server_row(f"{case}: export again, overwrite='replace'", replaced)
    finally:
        stop_proftpd(server)


# --- the page ----------------------------------------------------------------------------------------------------

EXPECTED_CELLS = 2 * 13 + 1 + 4 * 3 + 3 + 8 + 3  # inbound (two keys, one without sq), outbound, servers


@pytest.mark.server  # it reads what the module's server tests measured: not in the fast tier, which runs none
def test_the_interoperability_page_is_this_runs_matrix() -> None:
    """docs/interoperability.md says what this run measured (``UPDATE_DOCS=1`` writes it)."""
    if not MATRIX.complete(EXPECTED_CELLS):
        pytest.skip("only part of the matrix ran (run the whole module to check the page)")
    page = MATRIX.render(tool_versions())
    if os.environ.get("UPDATE_DOCS") == "1":
        PAGE.write_text(page)
    assert PAGE.read_text() == page, "docs/interoperability.md is stale: regenerate it with UPDATE_DOCS=1"
