"""``actito-sftp metrics``: the transfer overview from Airflow's task history."""

from __future__ import annotations

from datetime import UTC, datetime, time

import click

from airflow_provider_actito_sftp.cli import app, render


@app.cli.command(
    cls=app.Command,
    epilog=app.example(
        "actito-sftp metrics",
        "actito-sftp metrics acme_sftp --days 7 --json",
        "actito-sftp metrics --entity acme --until 2026-10-31",
    ),
)
@click.argument("conn_id", metavar="[CONN_ID]", required=False)
@click.option(
    "--days", type=click.IntRange(1, 366), default=30, show_default=True, help="How many days, ending with --until."
)
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Last day of the range (default: today).")
@click.option("--entity", help="Only connections of this entity.")
@app.json_option
def metrics(conn_id: str | None, days: int, until: datetime | None, entity: str | None, as_json: bool) -> None:
    """Transfer overview of connection CONN_ID (or all connections) from Airflow's task history.

    The range is the DAYS days ending with UNTIL (default: the last 30 days up to now).
    """
    from airflow.utils.session import create_session  # Airflow is configured by now, not at import

    from airflow_provider_actito_sftp.metrics import overview  # SQLAlchemy: only when the command runs

    if conn_id:
        app.load(conn_id)
    end = None if until is None else datetime.combine(until.date(), time.max, tzinfo=UTC)
    with create_session() as session:
        result = overview(session, conn_id=conn_id, entity=entity, days=days, now=end)
    app.emit(result.as_dict(), as_json, render.metrics)
