"""The page: one HTML document whose ES modules (``static/``) call the JSON API.

A logged-in user who may not read connections gets an HTML page saying so (403) rather than JSON; a user not
logged in gets Airflow's usual 401.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, status
from fastapi.responses import HTMLResponse

from airflow_provider_actito_sftp.plugin.security import MayReadConnections

STATIC = Path(__file__).parents[1] / "static"

router = APIRouter(tags=["page"])


@router.get("/", response_class=HTMLResponse)
def page(may_read: MayReadConnections) -> HTMLResponse:
    """The page; a logged-in user who may not read connections is told so in words (403), not JSON."""
    if not may_read:
        return HTMLResponse((STATIC / "forbidden.html").read_text(), status_code=status.HTTP_403_FORBIDDEN)
    return HTMLResponse((STATIC / "index.html").read_text())
