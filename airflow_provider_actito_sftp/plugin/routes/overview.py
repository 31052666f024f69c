"""Transfer numbers from Airflow's own records: the overview of every connection the user may read (or one
entity's), one connection's, and its latest transfer tries (:mod:`airflow_provider_actito_sftp.metrics`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Query

from airflow_provider_actito_sftp import metrics
from airflow_provider_actito_sftp.plugin import models
from airflow_provider_actito_sftp.plugin.errors import ERROR_RESPONSES
from airflow_provider_actito_sftp.plugin.security import CanRead, Readable
from airflow_provider_actito_sftp.plugin.views import listed_record

router = APIRouter(tags=["overview"], dependencies=[CanRead], responses=ERROR_RESPONSES)
Days = Annotated[int, Query(ge=1, le=366)]
Until = Annotated[date | None, Query(description="last day of the range, default today")]


@router.get("/api/overview", response_model=models.TransferOverview)
def overview_all(
    session: SessionDep,
    readable: Readable,
    entity: Annotated[str | None, Query()] = None,
    days: Days = 30,
    until: Until = None,
) -> dict[str, Any]:
    """The connections this user may read (those of one ``entity``), over ``days`` days up to ``until``."""
    return metrics.overview(session, conn_ids=readable, entity=entity, days=days, now=_end_of(until)).as_dict()


@router.get("/api/connections/{connection_id}/overview", response_model=models.TransferOverview)
def overview_one(connection_id: str, session: SessionDep, days: Days = 30, until: Until = None) -> dict[str, Any]:
    """One connection, over ``days`` days up to ``until``."""
    listed_record(session, connection_id)
    return metrics.overview(session, conn_id=connection_id, days=days, now=_end_of(until)).as_dict()


@router.get("/api/connections/{connection_id}/activity", response_model=metrics.Activity)
def activity_one(
    connection_id: str, session: SessionDep, limit: Annotated[int, Query(ge=1, le=100)] = 10
) -> dict[str, Any]:
    """The connection's latest transfer tries (for links to their Airflow pages) and last file each way."""
    listed_record(session, connection_id)
    return metrics.activity(session, connection_id, limit=limit).as_dict()


def _end_of(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.max, tzinfo=UTC)
