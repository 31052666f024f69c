"""The API's description: its OpenAPI document (``/openapi.json``) and Swagger UI (``/docs``), both behind the
read right like the API they describe; the Swagger UI only where ``[api] enable_swagger_ui`` is on (404
elsewhere), as for Airflow's own API.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from airflow_provider_actito_sftp.plugin.security import CanRead

OPENAPI_PATH = "/openapi.json"

router = APIRouter(dependencies=[CanRead], include_in_schema=False)


@router.get(OPENAPI_PATH)
async def openapi(request: Request) -> JSONResponse:
    """The OpenAPI document, its server the path the plugin is mounted at (``/actito``)."""
    root_path = _root_path(request)
    schema = request.app.openapi()
    return JSONResponse({**schema, "servers": [{"url": root_path}]} if root_path else schema)


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI on the OpenAPI document (it reads it with the user's session cookie)."""
    if not swagger_ui_enabled():
        raise HTTPException(404, "Not Found")
    return get_swagger_ui_html(openapi_url=_root_path(request) + OPENAPI_PATH, title=f"{request.app.title} API")


def swagger_ui_enabled() -> bool:
    """Whether Airflow serves its own Swagger UI (``[api] enable_swagger_ui``)."""
    from airflow.configuration import conf

    return conf.getboolean("api", "enable_swagger_ui", fallback=True)


def _root_path(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")
