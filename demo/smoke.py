"""Smoke demo: a throwaway OpenSSH server, an ``actito_sftp`` connection, the hook's Test and a listing.

Every step checks its result; the exit code is 0 only if all of them passed. Later issues grow this
into the full import/export demo.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    started = time.monotonic()
    airflow_home = Path(tempfile.mkdtemp(prefix="actito-demo-airflow-"))
    os.environ["AIRFLOW_HOME"] = str(airflow_home)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

    import asyncssh

    from airflow_provider_actito_sftp.hooks import ActitoSftpHook
    from tests.support.sshd import chown_tree, ensure_test_user, find_sshd, remove_server, start_sshd

    if find_sshd() is None:
        print("demo: OpenSSH sshd is not installed (apt-get install openssh-server)", file=sys.stderr)
        return 1
    server = start_sshd(ensure_test_user())
    try:
        print(f"1. Partner SFTP server (OpenSSH) on {server.host}:{server.port}")
        client_key = asyncssh.generate_private_key("ssh-ed25519", comment="actito-demo")
        server.add_authorized_key(client_key.export_public_key().decode())
        inbound = server.make_folder("inbound")
        outbound = server.make_folder("outbound")
        sample = inbound / "customers.csv"
        sample.write_text("id;email\n1;ada@example.com\n2;alan@example.com\n")
        chown_tree(inbound, server.user)
        connection = {
            "conn_type": "actito_sftp",
            "host": server.host,
            "port": server.port,
            "login": server.user.name,
            "extra": {
                "display_name": "Demo partner",
                "entity": "demo",
                "auth_type": "ssh_key",
                "ssh_private_key": client_key.export_private_key().decode(),
                "host_key": server.host_key_line,
                "locations": {"inbound": str(inbound), "outbound": str(outbound)},
            },
        }
        os.environ["AIRFLOW_CONN_ACTITO_DEMO"] = json.dumps(connection)
        print("2. Connection 'actito_demo' defined (ssh_key auth, host key pinned)")

        ok, message = ActitoSftpHook("actito_demo").test_connection()
        print(f"3. Test button: {'OK' if ok else 'FAILED'} - {message}")
        if not ok:
            return 1
        with ActitoSftpHook("actito_demo") as session:
            entries = session.list_location("inbound")
        for entry in entries:
            print(f"   inbound: {entry.name} {entry.size} bytes, modified {entry.mtime:%Y-%m-%d %H:%M:%S}Z")
        if [entry.name for entry in entries] != ["customers.csv"] or entries[0].size != sample.stat().st_size:
            print("demo: the listing does not show the sample file", file=sys.stderr)
            return 1
        print(f"4. Listing verified. Demo passed in {time.monotonic() - started:.1f} s")
        return 0
    finally:
        remove_server(server)
        shutil.rmtree(airflow_home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
