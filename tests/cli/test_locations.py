"""``actito-sftp location``: refusals, and listing without editing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.support import CreateConnection, RunCli


def test_invalid_location_is_refused(run_cli: RunCli, create_connection: CreateConnection):
    create_connection("locs")
    assert "must not contain '..'" in run_cli("location", "add", "locs", "in", "/data/../etc", expect=1).stderr
    assert "absolute folder path" in run_cli("location", "add", "locs", "in", "relative", expect=1).stderr
    run_cli("location", "add", "locs", "in", "/in", "--no-check")
    assert "already has location" in run_cli("location", "add", "locs", "in", "/in2", "--no-check", expect=1).stderr
    assert "has no location 'out'" in run_cli("location", "update", "locs", "out", "/o", expect=1).stderr
    assert "has no location 'out'" in run_cli("location", "remove", "locs", "out", expect=1).stderr
    assert run_cli("location", "list", "locs").stdout == "in\t/in\n"
    run_cli("connection", "delete", "locs", "--yes")


def test_listing_a_connection_outside_the_db_writes_nothing(
    run_cli: RunCli, env_connection: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    assert json.loads(run_cli("location", "list", env_connection, "--json").stdout) == {}
    assert run_cli("location", "list", env_connection).stdout == "none\n"
    assert list(tmp_path.iterdir()) == []
