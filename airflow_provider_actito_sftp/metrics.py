"""Transfer metrics computed from Airflow's own records, aggregated in SQL (SQLite and PostgreSQL).

Sources, nothing else:

- the ``actito_sftp_transfers`` XCom every try of the import/export operators pushes (files moved and
  failed, bytes), kept by Airflow for the latest try of each task instance;
- ``task_instance_history`` for earlier tries: each failed earlier try counts as one failed request of
  its task's direction (its XComs were cleared when the next try started), attributed to a connection
  through the latest try's summary of the same task instance.

A request is one file transfer (a download in an import, an upload in an export). :func:`activity` lists
a connection's latest tries (with their task instance's state) and the last file moved each way.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Integer, and_, cast, func, literal, select, union_all
from sqlalchemy.orm import Session

SUMMARY_XCOM_KEY = "actito_sftp_transfers"
DIRECTIONS = ("download", "upload")
MAX_PROBLEMS = 20  # files named per try in the summary (the task's own log and import report name them all)
MAX_REASON = 500  # characters of one problem's reason in the summary


@dataclass
class TransferSummary:
    """What one try moved; pushed as the ``actito_sftp_transfers`` XCom. Bounded whatever the number of files:
    counts, bytes, one last file, and at most :data:`MAX_PROBLEMS` problems of :data:`MAX_REASON` characters."""

    conn_id: str
    direction: str
    entity: str = ""
    location: str = ""
    succeeded: int = 0
    failed: int = 0
    wire_bytes: int = 0
    plaintext_bytes: int = 0
    last_file: str = ""
    last_file_bytes: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)  # {"file", "outcome", "reason"}

    def add_problem(self, remote_path: str, outcome: str, reason: str) -> None:
        """A file that did not move (``outcome``: refused / failed / not finished), up to MAX_PROBLEMS."""
        if len(self.problems) < MAX_PROBLEMS:
            if len(reason) > MAX_REASON:
                reason = reason[: MAX_REASON - 1] + "…"
            self.problems.append({"file": remote_path, "outcome": outcome, "reason": reason})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(kw_only=True)
class Counts:
    """Requests that succeeded and failed, and bytes each way (plaintext)."""

    succeeded: int = 0
    failed: int = 0
    bytes_down: int = 0
    bytes_up: int = 0


@dataclass(kw_only=True)
class DayPoint(Counts):
    """One day of the three charts."""

    day: str
    requests: int = 0


@dataclass(kw_only=True)
class Overview(Counts):
    """The numbers and the three chart series of one connection (or all) over a date range."""

    conn_id: str | None
    entity: str | None
    since: str
    until: str
    total_requests: int = 0
    downloads: int = 0
    uploads: int = 0
    by_type_status: dict[str, dict[str, int]] = field(default_factory=dict)
    per_day: list[DayPoint] = field(default_factory=list)

    @property
    def success_rate(self) -> float | None:
        return round(self.succeeded / self.total_requests, 4) if self.total_requests else None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["success_rate"] = self.success_rate
        return data


def _same_task_instance(one: Any, other: Any) -> Any:
    """The join condition of two tables keyed by task instance (dag, task, run, map index)."""
    return and_(
        one.dag_id == other.dag_id,
        one.task_id == other.task_id,
        one.run_id == other.run_id,
        one.map_index == other.map_index,
    )


def _day(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def overview(
    session: Session,
    *,
    conn_id: str | None = None,
    conn_ids: Collection[str] | None = None,
    entity: str | None = None,
    days: int = 30,
    now: datetime | None = None,
) -> Overview:
    """Compute the overview for the ``days`` days up to ``now`` (UTC), all in SQL.

    :param conn_id: one connection, or None for every connection.
    :param conn_ids: only these connections (those a user may read), or None for no restriction.
    :param entity: only connections of this entity.
    """
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.models.xcom import XComModel

    dialect = session.get_bind().dialect.name
    end = (now or datetime.now(UTC)).astimezone(UTC)
    first_day = end.date() - timedelta(days=days - 1)
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)

    summary = XComModel.value
    conn_value = summary["conn_id"].as_string()
    entity_value = summary["entity"].as_string()

    def matches() -> list[Any]:
        conditions = [XComModel.key == SUMMARY_XCOM_KEY]
        if conn_id is not None:
            conditions.append(conn_value == conn_id)
        if conn_ids is not None:
            conditions.append(conn_value.in_(sorted(conn_ids)))
        if entity is not None:
            conditions.append(entity_value == entity)
        return conditions

    latest = select(
        _day(XComModel.timestamp, dialect).label("day"),
        summary["direction"].as_string().label("direction"),
        summary["succeeded"].as_integer().label("succeeded"),
        summary["failed"].as_integer().label("failed"),
        summary["wire_bytes"].as_integer().label("wire_bytes"),
    ).where(*matches(), XComModel.timestamp >= since, XComModel.timestamp <= end)

    history = TaskInstanceHistory
    earlier_failures = (
        select(
            _day(history.end_date, dialect).label("day"),
            summary["direction"].as_string().label("direction"),
            literal(0, Integer).label("succeeded"),
            literal(1, Integer).label("failed"),
            literal(0, Integer).label("wire_bytes"),
        )
        .join(XComModel, _same_task_instance(XComModel, history))
        .where(
            *matches(),
            history.state.in_(("failed", "up_for_retry")),
            history.end_date >= since,
            history.end_date <= end,
        )
    )
    tries = union_all(latest, earlier_failures).subquery()
    rows = session.execute(
        select(
            tries.c.day,
            tries.c.direction,
            func.coalesce(func.sum(tries.c.succeeded), 0),
            func.coalesce(func.sum(tries.c.failed), 0),
            func.coalesce(func.sum(tries.c.wire_bytes), 0),
        ).group_by(tries.c.day, tries.c.direction)
    ).all()
    return _assemble(rows, conn_id, entity, first_day, end)


def _assemble(rows: Any, conn_id: str | None, entity: str | None, first_day: date, end: datetime) -> Overview:
    result = Overview(conn_id=conn_id, entity=entity, since=first_day.isoformat(), until=end.isoformat())
    result.by_type_status = {direction: {"succeeded": 0, "failed": 0} for direction in DIRECTIONS}
    points = {
        (first_day + timedelta(days=offset)).isoformat(): DayPoint(day=(first_day + timedelta(days=offset)).isoformat())
        for offset in range((end.date() - first_day).days + 1)
    }
    for day, direction, succeeded, failed, wire_bytes in rows:
        key = day.isoformat() if isinstance(day, date) else str(day)[:10]
        point = points.get(key)
        if point is None or direction not in DIRECTIONS:
            continue
        succeeded, failed, wire_bytes = int(succeeded), int(failed), int(wire_bytes)
        point.succeeded += succeeded
        point.failed += failed
        point.requests += succeeded + failed
        result.by_type_status[direction]["succeeded"] += succeeded
        result.by_type_status[direction]["failed"] += failed
        if direction == "download":
            point.bytes_down += wire_bytes
        else:
            point.bytes_up += wire_bytes
    result.per_day = list(points.values())
    result.succeeded = sum(point.succeeded for point in result.per_day)
    result.failed = sum(point.failed for point in result.per_day)
    result.total_requests = result.succeeded + result.failed
    result.downloads = sum(result.by_type_status["download"].values())
    result.uploads = sum(result.by_type_status["upload"].values())
    result.bytes_down = sum(point.bytes_down for point in result.per_day)
    result.bytes_up = sum(point.bytes_up for point in result.per_day)
    return result


@dataclass(kw_only=True)
class RunView:
    """One try of an import or export task: where it ran (for links to Airflow's pages) and what it moved.

    ``last_file`` is the remote path of the last file it moved (empty when none).
    """

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int | None
    state: str | None
    start_date: str | None
    end_date: str | None
    direction: str
    location: str
    succeeded: int
    failed: int
    wire_bytes: int
    last_file: str
    last_file_bytes: int
    problems: list[dict[str, str]]


@dataclass(kw_only=True)
class Activity:
    """A connection's latest tries, newest first, and the latest of them that moved a file, each way."""

    conn_id: str
    runs: list[RunView] = field(default_factory=list)
    last_files: dict[str, RunView | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def activity(session: Session, conn_id: str, *, limit: int = 10) -> Activity:
    """The latest ``limit`` tries of ``conn_id``'s transfer tasks and the last file moved each way.

    :param conn_id: the connection.
    :param limit: how many tries to list.
    """
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel

    summary = XComModel.value
    query = (
        select(
            XComModel.dag_id,
            XComModel.run_id,
            XComModel.task_id,
            XComModel.map_index,
            TaskInstance.try_number,
            TaskInstance.state,
            TaskInstance.start_date,
            TaskInstance.end_date,
            XComModel.value,
        )
        .outerjoin(TaskInstance, _same_task_instance(TaskInstance, XComModel))
        .where(XComModel.key == SUMMARY_XCOM_KEY, summary["conn_id"].as_string() == conn_id)
        .order_by(XComModel.timestamp.desc())
    )
    result = Activity(conn_id=conn_id)
    result.runs = [_run_view(row) for row in session.execute(query.limit(limit)).all()]
    for direction in DIRECTIONS:
        moved = query.where(summary["direction"].as_string() == direction, summary["last_file"].as_string() != "")
        row = session.execute(moved.limit(1)).first()
        result.last_files[direction] = None if row is None else _run_view(row)
    return result


def _run_view(row: Any) -> RunView:
    dag_id, run_id, task_id, map_index, try_number, state, start, end, value = row
    moved = value if isinstance(value, dict) else json.loads(value)  # JSON, or JSON text (serialize_value)
    return RunView(
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        map_index=map_index,
        try_number=try_number,
        state=None if state is None else str(state),
        start_date=None if start is None else start.isoformat(),
        end_date=None if end is None else end.isoformat(),
        direction=str(moved.get("direction", "")),
        location=str(moved.get("location", "")),
        succeeded=int(moved.get("succeeded", 0)),
        failed=int(moved.get("failed", 0)),
        wire_bytes=int(moved.get("wire_bytes", 0)),
        last_file=str(moved.get("last_file", "")),
        last_file_bytes=int(moved.get("last_file_bytes", 0)),
        problems=[
            {key: str(problem.get(key, "")) for key in ("file", "outcome", "reason")}
            for problem in moved.get("problems", [])
            if isinstance(problem, dict)
        ],
    )
