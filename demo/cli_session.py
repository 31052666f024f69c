"""A full ``actito-sftp`` session against a throwaway OpenSSH server, printed as a transcript.

Runs the installed console script (a real process per command) in a temporary Airflow home with a
SQLite metadata DB: create (host key pinned), SSH key install, test, locations, PGP keys, partner key,
policy, SSH key rotation, show, delete. Exits non-zero if any step does not end as expected.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    airflow_home = Path(tempfile.mkdtemp(prefix="actito-cli-demo-"))
    os.environ.update(AIRFLOW_HOME=str(airflow_home), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    from partner_sandbox.gpg import PartnerGpg
    from partner_sandbox.sshd import ensure_test_user, remove_server, start_sshd

    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "airflow"), "db", "migrate"], check=True, capture_output=True)
    server = start_sshd(ensure_test_user())
    partner = PartnerGpg()
    work = airflow_home / "work"
    work.mkdir()

    def run(*args: str, expect: int = 0, stdin: str | None = None) -> str:
        result = subprocess.run([str(bin_dir / "actito-sftp"), *args], capture_output=True, text=True, input=stdin)
        print(f"$ actito-sftp {' '.join(args)}")
        for line in (result.stdout + result.stderr).rstrip().splitlines():  # all a user would see
            print(f"  {line}")
        print(f"  [exit {result.returncode}]")
        if result.returncode != expect:
            raise SystemExit(f"unexpected exit {result.returncode} (expected {expect})")
        return result.stdout

    try:
        inbound = server.make_folder("inbound")
        outbound = server.make_folder("outbound")
        common = ["--entity", "acme", "--host", server.host, "--port", str(server.port), "--username", server.user.name]
        first = subprocess.run(
            [str(bin_dir / "actito-sftp"), "connection", "create", "acme_sftp", *common], capture_output=True, text=True
        )
        fingerprint = first.stderr.split("presents host key ")[1].split()[0]
        run("connection", "create", "acme_sftp", *common, expect=1)
        created = json.loads(
            run(
                "connection",
                "create",
                "acme_sftp",
                *common,
                "--display-name",
                "ACME",
                "--location",
                f"inbound={inbound}",
                "--accept-host-key",
                fingerprint,
                "--json",
            )
        )
        server.add_authorized_key(created["ssh_key"]["public_key"])
        print("  (partner installs the public key in authorized_keys)")
        run("ssh-key", "public", "acme_sftp")
        run("location", "add", "acme_sftp", "outbound", str(outbound))
        run("location", "list", "acme_sftp")
        run("connection", "test", "acme_sftp")
        run("pgp-key", "generate", "acme_sftp")
        public_key = run("pgp-key", "public", "acme_sftp")
        sample = work / "customers.csv"
        sample.write_text("id;email\n1;ada@example.com\n")
        partner.encrypt_to(public_key, sample, work / "customers.csv.pgp")
        print("  (partner encrypts customers.csv to that key with the gpg CLI)")
        run("pgp-key", "rotate", "acme_sftp")
        run("pgp-key", "list", "acme_sftp")
        run("policy", "acme_sftp", "--outbound-pgp", expect=1)
        partner_fpr = partner.generate()
        (work / "partner.asc").write_text(partner.export_public(partner_fpr))
        run("partner-key", "set", "acme_sftp", str(work / "partner.asc"))
        run("policy", "acme_sftp", "--inbound-pgp-required", "--outbound-pgp")
        rotation = json.loads(run("ssh-key", "rotate", "acme_sftp", "--json"))
        run("ssh-key", "rotate", "acme_sftp", expect=1)
        server.add_authorized_key(rotation["public_key"])
        print("  (partner installs the new public key)")
        run("ssh-key", "rotate", "acme_sftp")
        run("connection", "test", "acme_sftp")
        run("connection", "show", "acme_sftp")
        run("connection", "delete", "acme_sftp", "--yes")
        run("connection", "show", "acme_sftp", expect=1)
        print("CLI session verified.")
        return 0
    finally:
        partner.close()
        remove_server(server)
        shutil.rmtree(airflow_home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
