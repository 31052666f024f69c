"""The interoperability matrix, partner files and key files as they come in the wild (issue 26.6, 26.8): armor a
Windows tool saved with a byte-order mark or as UTF-16, files encrypted to us and another key, files without
integrity protection, partner keys with expired and revoked subkeys, key files holding several keys. Inbound: one
import of every file over the real sshd; key files: read as ``partner-key set`` and the page's upload read them
(:func:`~airflow_provider_actito_sftp.pgp.armor.key_file_text`, then the management layer's ``partner_key_set``),
then one export each, decrypted by the partner's gpg. The last test checks the page's "windows-armor-and-keys"
section says what this run measured.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.connection.store import ConnectionRecord
from airflow_provider_actito_sftp.exceptions import PgpKeyError
from airflow_provider_actito_sftp.hooks import ActitoSftpHook
from airflow_provider_actito_sftp.management import partner_key_set
from airflow_provider_actito_sftp.pgp.armor import key_file_text
from airflow_provider_actito_sftp.pgp.keys import export_newest_public_key, generate_inbound_key
from airflow_provider_actito_sftp.pgp.packets import sniff
from airflow_provider_actito_sftp.pgp.verdict import NO_INTEGRITY
from airflow_provider_actito_sftp.transfer.import_report import ImportResult
from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.openpgp_tools import installed
from partner_sandbox.sshd import SshServer, chown_tree
from tests.support.interop_cells import PLAINTEXT, outcome_of
from tests.support.interop_matrix import Matrix, Table, check_section, outcome
from tests.support.pgp_files import sq_file_gpg_cannot_read

pytestmark = pytest.mark.skipif(not installed("sq"), reason="the matrix needs sq (.ci/run installs it)")

INBOUND, KEYS = "inbound", "keys"
RESULT = "result"
MATRIX = Matrix(
    "windows-armor-and-keys",
    "tests/integration/test_interop_partner_files.py",
    {
        INBOUND: Table(
            "Partner files in the wild (import, inbound PGP required)",
            "One import of all these files, encrypted to our ed25519 key; signatures are not required. Windows "
            "tools save text with a byte-order mark or as UTF-16 (PowerShell's `Out-File` and `>`, Notepad's "
            '"Unicode"): such armor is read as the ASCII armor it holds, as it streams into gpg or sq.',
            "How the partner made the file",
            (RESULT,),
        ),
        KEYS: Table(
            "Partner key files in the wild (partner-key set, then an export encrypted to the key)",
            "The key file as the partner sent it, read as `actito-sftp partner-key set` and the page's upload "
            "read it; then one export, decrypted by the partner with gpg.",
            "The partner's key file",
            (RESULT,),
        ),
    },
)
WINDOWS_TEXT: dict[str, Callable[[str], bytes]] = {
    "UTF-8 with a byte-order mark": lambda text: b"\xef\xbb\xbf" + text.encode(),
    "UTF-16 LE": lambda text: b"\xff\xfe" + text.replace("\n", "\r\n").encode("utf-16-le"),
    "UTF-16 BE": lambda text: b"\xfe\xff" + text.replace("\n", "\r\n").encode("utf-16-be"),
}


@dataclass(frozen=True)
class InboundCase:
    """A file of the one import: its name on the server, and the words of its refusal (None: imported)."""

    name: str
    refused: str | None


@dataclass
class Partner:
    """The test's connections to the session's sshd (module-scoped, so its import and exports run once)."""

    sshd: SshServer
    client_key: str
    monkeypatch: pytest.MonkeyPatch

    def record(self, conn_id: str, **extra: object) -> ConnectionRecord:
        """A connection as stored: the sshd, key auth, its host key pinned; ``extra`` adds fields."""
        return ConnectionRecord(
            conn_id=conn_id,
            host=self.sshd.host,
            port=self.sshd.port,
            login=self.sshd.user.name,
            extra={
                "entity": "acme",
                "auth_type": "ssh_key",
                "ssh_private_key": self.client_key,
                "host_key": self.sshd.host_key_line,
                **extra,
            },
        )

    def define(self, record: ConnectionRecord) -> str:
        """Put ``record`` where Airflow finds it (the environment); return its conn_id."""
        columns = {"conn_type": "actito_sftp", "host": record.host, "port": record.port, "login": record.login}
        self.monkeypatch.setenv(
            f"AIRFLOW_CONN_{record.conn_id.upper()}", json.dumps({**columns, "extra": record.extra})
        )
        return record.conn_id


@pytest.fixture(scope="module")
def partner(sshd: SshServer, client_key: str) -> Iterator[Partner]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield Partner(sshd, client_key, monkeypatch)


# --- inbound: partner files in the wild ----------------------------------------------------------------------


def _inbound_files(folder: Path, secret_keys: str, our_public: str, work: Path) -> dict[str, InboundCase]:
    """Write one file per case into ``folder``; return ``case -> InboundCase``."""
    source, ours = work / "customers.csv", work / "ours.asc"
    source.write_bytes(PLAINTEXT)
    ours.write_text(our_public)
    cases: dict[str, InboundCase] = {}
    with PartnerGpg() as gpg:
        armored = work / "gpg.asc"
        gpg.gpg("--armor", "--encrypt", "--recipient-file", str(ours), "--output", str(armored), str(source))
        for index, (encoding, write) in enumerate(WINDOWS_TEXT.items()):
            (folder / f"windows-{index}.csv.asc").write_bytes(write(armored.read_text()))
            cases[f"gpg --armor, saved as {encoding}"] = InboundCase(f"windows-{index}.csv.asc", None)
        other = gpg.export_public(gpg.generate("Someone else <else@example.com>"))
        (work / "other.asc").write_text(other)
        two = folder / "two-recipients.csv.pgp"
        gpg.gpg("--encrypt", "--recipient-file", str(work / "other.asc"), "--recipient-file", str(ours),
                "--output", str(two), str(source))  # fmt: skip
        cases["gpg, to another key first and then to ours (two recipients)"] = InboundCase(two.name, None)
        no_mdc = folder / "no-integrity.csv.pgp"
        gpg.gpg("--rfc2440", "--cipher-algo", "AES256", "--encrypt", "--recipient-file", str(ours),
                "--output", str(no_mdc), str(source))  # fmt: skip
        cases["gpg --rfc2440 --cipher-algo AES256 (no integrity protection: no MDC)"] = InboundCase(
            no_mdc.name, NO_INTEGRITY
        )
    padded = sq_file_gpg_cannot_read(ours, source, work / "sq.asc", secret_keys)
    (folder / "sq-windows.csv.asc").write_bytes(WINDOWS_TEXT["UTF-16 LE"](padded.read_text()))
    case = "sq encrypt (armored, padded so that gpg 2.2 cannot read it: sq decrypts it), saved as UTF-16 LE"
    cases[case] = InboundCase("sq-windows.csv.asc", None)
    return cases


@pytest.fixture(scope="module")
def imported(
    airflow_db: Path, partner: Partner, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, InboundCase], ImportResult, Path]:
    """One import of every inbound case: the cases, the import's result and the landing folder."""
    work = tmp_path_factory.mktemp("partner-files")
    secret_keys, _ = generate_inbound_key("wild")
    our_public, _ = export_newest_public_key(secret_keys)
    inbound = partner.sshd.make_folder("wild/inbound")
    cases = _inbound_files(inbound, secret_keys, our_public, work)
    chown_tree(inbound, partner.sshd.user)
    record = partner.record(
        "wild_files",
        locations={"inbound": str(inbound)},
        inbound_pgp_required=True,
        inbound_pgp_private_keys=secret_keys,
    )
    landing = work / "landing"
    hook = ActitoSftpHook(partner.define(record))
    result = hook.import_files("inbound", landing, owner="interop", after_import="delete", min_age=0)
    return cases, result, landing


def _check_inbound(imported: tuple[dict[str, InboundCase], ImportResult, Path], words: str) -> None:
    """Record and check the inbound cases whose text holds ``words``."""
    cases, result, landing = imported
    chosen = {case: expected for case, expected in cases.items() if words in case}
    assert chosen, words
    for case, expected in chosen.items():
        seen = outcome_of(result, expected.name)
        MATRIX.record(INBOUND, case, RESULT, outcome(seen))
        if expected.refused is None:
            assert seen is None, f"{case}: {seen}"
            published = landing / expected.name.removesuffix(".asc").removesuffix(".pgp")
            assert published.read_bytes() == PLAINTEXT, case
        else:
            assert seen is not None, case
            assert seen.endswith(expected.refused), f"{case}: {seen}"


def test_armor_a_windows_tool_saved_is_imported(imported: tuple[dict[str, InboundCase], ImportResult, Path]) -> None:
    _check_inbound(imported, "saved as")


def test_a_file_encrypted_to_us_and_another_key_is_imported(
    imported: tuple[dict[str, InboundCase], ImportResult, Path],
) -> None:
    _check_inbound(imported, "two recipients")


def test_a_file_without_integrity_protection_is_refused_in_our_words(
    imported: tuple[dict[str, InboundCase], ImportResult, Path],
) -> None:
    _check_inbound(imported, "no integrity protection")


# --- partner key files in the wild ---------------------------------------------------------------------------


def _export_to(partner: Partner, conn_id: str, key_file: bytes, work: Path) -> Path:
    """Set the partner key from ``key_file`` as the CLI and the page do, then export a CSV encrypted to it;
    return the uploaded file. :raises PgpKeyError: the key file is refused."""
    outbound = partner.sshd.make_folder(f"wild/{conn_id}")
    record = partner.record(conn_id, locations={"outbound": str(outbound)}, outbound_pgp=True)
    partner_key_set(record, key_file_text(key_file))
    work.mkdir(parents=True, exist_ok=True)
    segment = work / "segment.csv"
    segment.write_bytes(PLAINTEXT)
    result = ActitoSftpHook(partner.define(record)).export_files("outbound", segment)
    assert [upload.status for upload in result.uploaded] == ["success"], result
    return outbound / "segment.csv.pgp"


def _decrypted_by(gpg: PartnerGpg, encrypted: Path) -> bytes:
    output = encrypted.with_suffix(".out")
    gpg.decrypt(encrypted, output)
    return output.read_bytes()


def test_a_partner_key_file_a_windows_tool_saved_is_used_for_exports(partner: Partner, tmp_path: Path) -> None:
    with PartnerGpg() as gpg:
        armored = gpg.export_public(gpg.generate("Windows partner <windows@example.com>"))
        for index, (encoding, write) in enumerate(WINDOWS_TEXT.items()):
            if encoding == "UTF-16 BE":
                continue  # the key file read in the two encodings Windows tools write by default
            encrypted = _export_to(partner, f"wild_key_{index}", write(armored), tmp_path / str(index))
            worked = _decrypted_by(gpg, encrypted) == PLAINTEXT
            MATRIX.record(
                KEYS, f"gpg --armor --export, saved as {encoding}", RESULT, outcome(None if worked else "differs")
            )
            assert worked, encoding


def _subkeys(gpg: PartnerGpg) -> dict[str, str]:
    """The keyring's encryption subkeys: key id -> gpg's validity letter (``e`` expired, ``r`` revoked, ``u``)."""
    lines = [line.split(":") for line in gpg.gpg("--with-colons", "--list-keys").splitlines()]
    return {fields[4]: fields[1] for fields in lines if fields[0] == "sub"}


def test_expired_and_revoked_subkeys_beside_a_valid_one_the_valid_one_is_used(partner: Partner, tmp_path: Path) -> None:
    """A key whose encryption subkeys are, oldest first: expired (2020), valid, revoked (the newest)."""
    with PartnerGpg() as gpg:
        primary = gpg.generate("Long-lived partner <old@example.com>", usage="none", expires="never",
                               faked_time="20190101T000000")  # fmt: skip
        gpg.gpg("--faked-system-time", "20200101T000000", "--quick-add-key", primary, "cv25519", "encr", "1d")
        gpg.gpg("--faked-system-time", str(int(time.time()) - 3600), "--quick-add-key", primary, "cv25519", "encr")
        gpg.gpg("--quick-add-key", primary, "cv25519", "encr")
        gpg.gpg("--command-fd", "0", "--edit-key", primary, input_text="key 3\nrevkey\ny\n0\n\ny\nsave\n")
        subkeys = _subkeys(gpg)
        assert sorted(subkeys.values()) == ["e", "r", "u"], subkeys
        encrypted = _export_to(partner, "wild_subkeys", gpg.export_public(primary).encode(), tmp_path)
        valid = [key_id for key_id, validity in subkeys.items() if validity == "u"]
        used = sniff(encrypted.read_bytes()[:4096], encrypted.stat().st_size).key_ids
        worked = used == tuple(valid) and _decrypted_by(gpg, encrypted) == PLAINTEXT
    case = "a key with an expired and a revoked (newest) encryption subkey beside a valid one: the valid one used"
    MATRIX.record(KEYS, case, RESULT, outcome(None if worked else f"encrypted to {used}, not {valid}"))
    assert worked


def test_a_key_file_with_several_keys_is_refused_naming_each(partner: Partner, tmp_path: Path) -> None:
    with PartnerGpg() as gpg:
        first = gpg.generate("ACME sales <sales@acme.example>")
        second = gpg.generate("ACME IT <it@acme.example>")
        with pytest.raises(PgpKeyError) as refused:
            _export_to(partner, "wild_two_keys", gpg.export_public(first, second).encode(), tmp_path)
    error = str(refused.value)
    MATRIX.record(KEYS, "gpg --armor --export of two keys in one file", RESULT, outcome(error))
    assert f'{first} "ACME sales <sales@acme.example>" (can encrypt)' in error
    assert f'{second} "ACME IT <it@acme.example>" (can encrypt)' in error
    assert "Ask the partner which one to use" in error


# --- the page ----------------------------------------------------------------------------------------------------

EXPECTED_CELLS = 6 + 4  # inbound files, key files


@pytest.mark.server  # it reads what the module's server tests measured: not in the fast tier, which runs none
def test_the_interoperability_page_shows_this_run() -> None:
    """docs/interoperability.md's "windows-armor-and-keys" section says what this run measured (``UPDATE_DOCS=1``
    writes it)."""
    check_section(MATRIX, EXPECTED_CELLS)
