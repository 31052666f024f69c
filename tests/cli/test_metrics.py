"""``actito-sftp metrics``: the transfer overview of one connection or all, in a date range."""

from __future__ import annotations

import json

from tests.cli.support import CreateConnection, RunCli


def test_metrics_of_a_connection_without_transfers(run_cli: RunCli, create_connection: CreateConnection):
    create_connection("quiet", "--display-name", "Quiet partner")
    data = json.loads(run_cli("metrics", "quiet", "--days", "7", "--until", "2026-01-31", "--json").stdout)
    assert (data["conn_id"], data["since"], data["total_requests"], len(data["per_day"])) == (
        "quiet",
        "2026-01-25",
        0,
        7,
    )
    table = run_cli("metrics", "quiet", "--days", "7", "--until", "2026-01-31").stdout
    assert table.startswith("Transfers of quiet, 2026-01-25 to 2026-01-31\n")
    assert "  2026-01-31" in table
    everything = json.loads(run_cli("metrics", "--entity", "acme", "--json").stdout)
    assert (everything["conn_id"], everything["entity"]) == (None, "acme")
    run_cli("connection", "delete", "quiet", "--yes")


def test_metrics_of_an_unknown_connection(run_cli: RunCli):
    assert run_cli("metrics", "missing", expect=1).stderr == "actito-sftp: error: Connection 'missing' does not exist\n"
