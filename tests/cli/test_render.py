"""The CLI's human text, rendered from the very data ``--json`` prints (no DB, no server)."""

from __future__ import annotations

from airflow_provider_actito_sftp import management
from airflow_provider_actito_sftp.cli import render
from airflow_provider_actito_sftp.connection.store import ConnectionRecord
from airflow_provider_actito_sftp.metrics import DayPoint, Overview

PGP_KEY = {"fingerprint": "AB" * 20, "algorithm": "eddsa", "created": "2026-01-02T03:04:05+00:00", "expires": None}


def _record(**extra: object) -> ConnectionRecord:
    return ConnectionRecord(
        conn_id="partner",
        host="sftp.partner.example",
        port=2222,
        login="actito",
        password="correct horse battery staple",
        extra={"entity": "acme", "auth_type": "password", "locations": {"in": "/in", "out": "/out"}, **extra},
    )


def test_description_of_a_connection():
    text = render.description(management.describe(_record(outbound_lock="no", compression=True)))
    assert text.splitlines()[:4] == [
        "partner  (partner, entity acme)",
        "  server:      actito@sftp.partner.example:2222 (password authentication)",
        "  host key:    NOT PINNED",
        "  stored in:   metadata DB",
    ]
    assert "  locations:   in=/in, out=/out" in text
    assert "  inbound:     PGP optional" in text
    assert "  outbound:    no lock, PGP off" in text
    assert "compression on" in text
    assert "correct horse" not in text
    assert "WARNING" not in text


def test_the_weaker_algorithms_a_connection_accepts_are_shown():
    assert "weaker" not in render.description(management.describe(_record()))
    text = render.description(management.describe(_record(legacy_algorithms="ssh-rsa,cbc")))
    assert "  weaker:      ssh-rsa, cbc accepted from this server (legacy_algorithms)" in text


def test_description_with_keys_and_warnings():
    view = management.describe(_record(display_name="Partner"))
    view.update(
        ssh_key={"public_key": "ssh-ed25519 AAAA", "fingerprint": "SHA256:abc"},
        ssh_pending_key={"public_key": "ssh-ed25519 BBBB", "fingerprint": "SHA256:def"},
        host_key=["SHA256:host"],
        inbound_pgp_required=True,
        inbound_pgp_keys=[PGP_KEY],
        partner_pgp_public_key={"error": "the key expired"},
        warnings=["partner the key expired"],
    )
    text = render.description(view)
    assert text.splitlines()[0] == "partner  (Partner, entity acme)"
    assert "  host key:    SHA256:host" in text
    assert "  SSH key:     SHA256:abc\n  SSH key:     a rotated key is pending activation" in text
    assert f"  inbound:     PGP required\n               key {'AB' * 20}  eddsa  created 2026-01-02" in text
    assert "               partner key the key expired" in text
    assert text.endswith("  WARNING:     partner the key expired")


def test_created():
    data = {"conn_id": "p", "host_key_fingerprint": "SHA256:h", "ssh_key": None}
    assert render.created(data) == "Created connection 'p'; pinned host key SHA256:h."
    with_key = render.created({**data, "ssh_key": {"public_key": "ssh-ed25519 AAAA", "fingerprint": "SHA256:k"}})
    assert with_key.splitlines()[1:] == [
        "Install this public key in the server's authorized_keys:",
        "ssh-ed25519 AAAA",
        "(fingerprint SHA256:k)",
    ]


def test_rotation_steps():
    pending = render.rotation("p", {"state": "pending", "public_key": "ssh-ed25519 AAAA", "fingerprint": "SHA256:k"})
    assert "`actito-sftp ssh-key rotate p` again" in pending
    assert pending.endswith("\nssh-ed25519 AAAA")
    active = render.rotation("p", {"state": "active", "public_key": "ssh-ed25519 AAAA", "fingerprint": "SHA256:k"})
    assert active.startswith("Activated SHA256:k;")


def test_keys_and_simple_lists():
    assert render.ssh_key({"public_key": "ssh-ed25519 AAAA", "fingerprint": "SHA256:k"}) == (
        "ssh-ed25519 AAAA\n# fingerprint SHA256:k"
    )
    assert render.pgp_key({**PGP_KEY, "expires": "2028-01-02T00:00:00+00:00"}).endswith("expires 2028-01-02")
    assert render.pgp_keys([]) == "none"
    assert render.pgp_keys([PGP_KEY], prefix="Retired ").startswith("Retired ABAB")
    assert render.pgp_keys([], empty="No key to retire.") == "No key to retire."
    assert render.locations({"in": "/in"}) == "in\t/in"
    assert render.locations({}) == "none"
    assert render.fields({"outbound_lock": True, "outbound_lock_suffix": ".part"}) == (
        "outbound_lock: True\noutbound_lock_suffix: .part"
    )


def test_metrics_table():
    overview = Overview(
        conn_id=None,
        entity="acme",
        since="2026-01-30",
        until="2026-01-31T23:59:59+00:00",
        total_requests=4,
        succeeded=3,
        failed=1,
        downloads=3,
        uploads=1,
        bytes_down=1_500_000,
        bytes_up=999,
        by_type_status={"download": {"succeeded": 3, "failed": 0}, "upload": {"succeeded": 0, "failed": 1}},
        per_day=[DayPoint(day="2026-01-30"), DayPoint(day="2026-01-31", requests=4, succeeded=3, failed=1)],
    )
    lines = render.metrics(overview.as_dict()).splitlines()
    assert lines[0] == "Transfers of all connections (entity acme), 2026-01-30 to 2026-01-31"
    assert lines[2] == "  success rate    75.0 %"
    assert lines[3] == "  downloads       3 (3 ok, 0 failed)"
    assert lines[5] == "  data down / up  1.5 MB / 999 B"
    assert lines[-1].split() == ["2026-01-31", "4", "3", "1", "0", "B", "0", "B"]


def test_byte_count():
    assert [render.byte_count(count) for count in (0, 999, 1000, 2_500_000, 3 * 10**9, 4 * 10**12)] == [
        "0 B",
        "999 B",
        "1.0 KB",
        "2.5 MB",
        "3.0 GB",
        "4.0 TB",
    ]
