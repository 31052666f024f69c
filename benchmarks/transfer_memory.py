"""Peak memory of a PGP import + export of one large file, against a throwaway OpenSSH server.

    .venv/bin/python -m benchmarks.transfer_memory --size-mib 2048

Prints the task process's baseline and peak RSS (VmRSS/VmHWM) and the same-run time of the `gpg` and
`sftp` command-line tools on the same data, for comparison. Not a test: no pass/fail.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=512)
    args = parser.parse_args()
    size = args.size_mib * 1024 * 1024
    home = Path(tempfile.mkdtemp(prefix="actito-bench-"))
    os.environ.update(
        AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False", AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags")
    )
    from airflow_provider_actito_sftp.pgp.keys import export_newest_public_key, generate_inbound_key
    from partner_sandbox.dag_files import write_dag
    from partner_sandbox.gpg import PartnerGpg
    from partner_sandbox.sshd import chown_tree, ensure_test_user, generate_ssh_key, remove_server, start_sshd

    subprocess.run([str(Path(sys.executable).with_name("airflow")), "db", "migrate"], check=True, capture_output=True)
    server = start_sshd(ensure_test_user())
    partner = PartnerGpg()
    try:
        key_path = home / "id_ed25519"
        server.add_authorized_key(generate_ssh_key(key_path))
        inbound, outbound = server.make_folder("in"), server.make_folder("out")
        secret_keys, _ = generate_inbound_key("bench")
        partner_fpr = partner.generate()
        plaintext = home / "big.bin"
        with plaintext.open("wb") as handle:
            for _ in range(size // (8 << 20)):
                handle.write(os.urandom(8 << 20))
        started = time.monotonic()
        partner.encrypt_to(export_newest_public_key(secret_keys)[0], plaintext, inbound / "big.bin.pgp", compress=False)
        gpg_encrypt_s = time.monotonic() - started
        plaintext.unlink()
        chown_tree(inbound, server.user)
        os.environ["AIRFLOW_CONN_BENCH"] = json.dumps(
            {
                "conn_type": "actito_sftp",
                "host": server.host,
                "port": server.port,
                "login": server.user.name,
                "extra": {
                    "entity": "bench",
                    "ssh_private_key": key_path.read_text(),
                    "host_key": server.host_key_line,
                    "locations": {"inbound": str(inbound), "outbound": str(outbound)},
                    "inbound_pgp_required": True,
                    "inbound_pgp_private_keys": secret_keys,
                    "outbound_pgp": True,
                    "partner_pgp_public_key": partner.export_public(partner_fpr),
                },
            }
        )
        landing = home / "landing"
        small = home / "small.bin"
        small.write_bytes(os.urandom(1 << 20))
        partner.encrypt_to(export_newest_public_key(secret_keys)[0], small, inbound / "small.bin.pgp", compress=False)
        chown_tree(inbound, server.user)
        dag_file = write_dag(
            "bench_memory",
            f"""
            for size in ("small", "big"):
                with DAG(f"bench_{{size}}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as sized:
                    imported = ActitoSftpImportOperator(min_age=0, task_id="import", conn_id="bench",
                                                        location="inbound", destination={str(landing)!r},
                                                        pattern=f"{{size}}.bin.pgp", after_import="keep")
                    exported = ActitoSftpExportOperator(task_id="export", conn_id="bench",
                                                        location="outbound", source=f"{landing!s}/{{size}}.bin")
                    imported >> exported
                globals()[sized.dag_id] = sized
            """,
        )
        # A warm-up run on 1 MiB first: the figures then isolate what the large file adds.
        child = subprocess.run(
            [sys.executable, "-m", "partner_sandbox.rss_child", str(dag_file), "bench_big", "bench_small"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parents[1],
            check=True,
        )
        measured = json.loads(child.stdout.strip().splitlines()[-1])
        started = time.monotonic()
        subprocess.run(
            [
                "sftp",
                "-q",
                "-b",
                "-",
                "-i",
                str(key_path),
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-P",
                str(server.port),
                f"{server.user.name}@{server.host}",
            ],
            input=f"get {inbound}/big.bin.pgp {home}/cli.pgp\n",
            text=True,
            check=True,
            capture_output=True,
        )
        sftp_get_s = time.monotonic() - started
        print(
            json.dumps(
                {
                    "size_mib": args.size_mib,
                    "task_rss_after_warmup_mb": measured["baseline_rss_mb"],
                    "task_peak_rss_mb": measured["peak_rss_mb"],
                    "task_rss_growth_mb": round(measured["peak_rss_mb"] - measured["baseline_rss_mb"], 1),
                    "import_plus_export_seconds": measured["seconds"],
                    "reference_gpg_cli_encrypt_seconds": round(gpg_encrypt_s, 2),
                    "reference_sftp_cli_get_seconds": round(sftp_get_s, 2),
                    "states": measured["states"],
                },
                indent=1,
            )
        )
    finally:
        partner.close()
        remove_server(server)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
