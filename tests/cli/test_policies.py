"""``actito-sftp policy``: shown without editing, changed through the schema's flags, refused without keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_actito_sftp.connection.store import ConnectionStore
from tests.cli.support import CreateConnection, RunCli


def test_policies_need_their_keys(run_cli: RunCli, create_connection: CreateConnection):
    create_connection("bare")
    assert "without an inbound key pair" in run_cli("policy", "bare", "--inbound-pgp-required", expect=1).stderr
    assert "without the partner's public key" in run_cli("policy", "bare", "--outbound-pgp", expect=1).stderr
    policy = json.loads(run_cli("policy", "bare", "--json").stdout)
    assert policy["inbound_pgp_required"] is False
    assert policy["outbound_pgp"] is False
    changed = run_cli("policy", "bare", "--no-outbound-lock", "--outbound-pgp-armor").stdout
    assert "outbound_lock: False\n" in changed
    assert "outbound_pgp_armor: True\n" in changed
    assert "file-name suffix" in run_cli("policy", "bare", "--outbound-lock-suffix", "a/b", expect=1).stderr
    run_cli("connection", "delete", "bare", "--yes")


def test_policy_without_flags_only_reads(
    run_cli: RunCli, env_connection: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A connection in an environment variable: showing its policy exits 0 and writes no file."""
    monkeypatch.chdir(tmp_path)
    shown = json.loads(run_cli("policy", env_connection, "--json").stdout)
    assert shown == {
        "inbound_pgp_required": False,
        "outbound_lock": True,
        "outbound_lock_suffix": ".part",
        "outbound_pgp": False,
        "outbound_pgp_armor": False,
    }
    assert list(tmp_path.iterdir()) == []
    changed = run_cli("policy", env_connection, "--no-outbound-lock", expect=3)  # a change is exported
    assert "NOT SAVED" in changed.stderr
    assert [path.name for path in tmp_path.iterdir()] == [f"{env_connection}.connection.json"]


def test_policy_shows_text_values_as_the_hook_reads_them(run_cli: RunCli, create_connection: CreateConnection):
    create_connection("texts")
    store = ConnectionStore()
    record = store.get("texts")
    record.extra.update(inbound_pgp_required="false", outbound_lock="no", outbound_pgp="0")
    store.save(record)
    shown = json.loads(run_cli("policy", "texts", "--json").stdout)
    assert (shown["inbound_pgp_required"], shown["outbound_lock"], shown["outbound_pgp"]) == (False, False, False)
    run_cli("connection", "delete", "texts", "--yes")
