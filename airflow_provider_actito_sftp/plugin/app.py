"""The plugin's FastAPI app, mounted by Airflow under ``/actito``: the page, its JSON API and the API's
description (``/docs``, ``/openapi.json``), built from one router per resource (:mod:`.routes`).

Every route is behind Airflow's own authentication and authorization (:mod:`.security`); errors are answered
as ``{"detail", "field"}`` (:mod:`.errors`); request bodies are bounded (:mod:`.limits`). No endpoint ever
returns secret material.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from airflow_provider_actito_sftp.get_provider_info import VERSION
from airflow_provider_actito_sftp.plugin import errors
from airflow_provider_actito_sftp.plugin.limits import BodyLimit
from airflow_provider_actito_sftp.plugin.routes import connections, docs, host_keys, keys, locations, overview, page

ROUTERS = (
    page.router,
    docs.router,
    connections.router,
    host_keys.router,
    locations.router,
    keys.router,
    overview.router,
)


def create_app() -> FastAPI:
    """The app: static files, the routers and the error answers (FastAPI's own docs routes are replaced by
    :mod:`.routes.docs`, which needs the read right)."""
    app = FastAPI(
        title="Actito SFTP",
        description="The Actito SFTP page's API: connections, their keys and locations, transfer numbers.",
        version=VERSION,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(BodyLimit)
    app.mount("/static", StaticFiles(directory=page.STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)
    errors.install(app)
    return app
