"""A 512 MiB file moves through import (download + decrypt) and export (encrypt + upload) with flat memory."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from airflow_provider_actito_sftp.pgp.keys import export_newest_public_key, generate_inbound_key
from partner_sandbox.dag_files import write_dag
from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.sshd import SshServer, chown_tree
from tests.conftest import ConnectionFactory

SIZE = 512 * 1024 * 1024
MAX_GROWTH_MB = 150  # peak RSS above the RSS after a warm-up run of the same DAG on a 1 MiB file


def _random_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as handle:
        for _ in range(size // (8 << 20)):
            block = os.urandom(8 << 20)
            digest.update(block)
            handle.write(block)
    return digest.hexdigest()


def test_512_mib_pgp_import_and_export_with_flat_memory(
    airflow_db: Path, make_connection: ConnectionFactory, sshd: SshServer, tmp_path: Path
):
    inbound = sshd.make_folder("rss/inbound")
    outbound = sshd.make_folder("rss/outbound")
    secret_keys, _ = generate_inbound_key("rss")
    with PartnerGpg() as partner:
        partner_fingerprint = partner.generate()
        plaintext = tmp_path / "big.bin"
        expected_sha = _random_file(plaintext, SIZE)
        partner.encrypt_to(export_newest_public_key(secret_keys)[0], plaintext, inbound / "big.bin.pgp", compress=False)
        plaintext.unlink()
        conn_id = make_connection(
            conn_id="rss_conn",
            locations={"inbound": str(inbound), "outbound": str(outbound)},
            inbound_pgp_required=True,
            inbound_pgp_private_keys=secret_keys,
            outbound_pgp=True,
            partner_pgp_public_key=partner.export_public(partner_fingerprint),
        )
        landing = tmp_path / "landing"
        small = tmp_path / "small.bin"
        small.write_bytes(os.urandom(1 << 20))
        partner.encrypt_to(export_newest_public_key(secret_keys)[0], small, inbound / "small.bin.pgp", compress=False)
        chown_tree(inbound, sshd.user)
        dag_file = write_dag(
            "rss_512",
            f"""
            for size in ("small", "big"):
                with DAG(f"rss_{{size}}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as sized:
                    imported = ActitoSftpImportOperator(min_age=0, task_id="import", conn_id={conn_id!r},
                                                        location="inbound", destination={str(landing)!r},
                                                        pattern=f"{{size}}.bin.pgp", after_import="delete")
                    exported = ActitoSftpExportOperator(task_id="export", conn_id={conn_id!r},
                                                        location="outbound",
                                                        source=f"{landing!s}/{{size}}.bin")
                    imported >> exported
                globals()[sized.dag_id] = sized
            """,
        )
        child = subprocess.run(
            [sys.executable, "-m", "partner_sandbox.rss_child", str(dag_file), "rss_big", "rss_small"],
            capture_output=True,
            text=True,
            env=os.environ,
            cwd=Path(__file__).parents[2],
            check=False,
        )
        assert child.returncode == 0, child.stderr[-3000:]
        measured = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"512 MiB PGP import + export: {measured}")
        assert measured["states"] == {"import": "success", "export": "success"}
        growth = measured["peak_rss_mb"] - measured["baseline_rss_mb"]
        assert growth < MAX_GROWTH_MB, measured
        # The content survived both directions: the partner decrypts our upload to the original bytes.
        partner.decrypt(outbound / "big.bin.pgp", tmp_path / "roundtrip.bin")
    digest = hashlib.sha256()
    with (tmp_path / "roundtrip.bin").open("rb") as handle:
        while block := handle.read(8 << 20):
            digest.update(block)
    assert digest.hexdigest() == expected_sha
