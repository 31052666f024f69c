"""The plugin API's errors: ``{"detail": "...", "field": "<field or null>"}`` in the page's words.

400 refused or invalid, 404 unknown connection, 409 the id is taken or the connection lives outside the metadata
DB. A body of the wrong shape (a missing key, a port that is not a number) is a 400 too, naming the field.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from airflow_provider_actito_sftp.exceptions import (
    ActitoSftpError,
    ConnectionExistsError,
    ConnectionNotFoundError,
    ConnectionNotWritableError,
)
from airflow_provider_actito_sftp.plugin import wording
from airflow_provider_actito_sftp.plugin.bodies import ApiError
from airflow_provider_actito_sftp.plugin.models import ErrorResponse

# The routers' error answers in the OpenAPI document: every 4xx (this also stands for FastAPI's 422, which
# the plugin answers as a 400).
REFUSED = "Refused: `detail` says why, `field` names the field at fault"
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {"4XX": {"model": ErrorResponse, "description": REFUSED}}
# The same for a route answering a file (its errors are JSON all the same, not its media type).
FILE_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "description": REFUSED,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ErrorResponse.__name__}"}}},
    }
}


def install(app: FastAPI) -> None:
    """Answer the plugin's errors as ``{"detail", "field"}``.

    :param app: the plugin's app.
    """
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ActitoSftpError, _provider_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)


def status_of(error: ActitoSftpError) -> int:
    """The HTTP status of a provider error: 404 not found, 409 taken or not writable here, else 400.

    :param error: the provider's error.
    """
    if isinstance(error, ConnectionNotFoundError):
        return 404
    if isinstance(error, ConnectionExistsError | ConnectionNotWritableError):
        return 409
    return 400


async def _api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return JSONResponse({"detail": error.detail, "field": error.field}, status_code=error.status)


async def _provider_error(request: Request, error: Exception) -> JSONResponse:
    """A provider error in the page's words (labels, buttons), with the field it concerns."""
    assert isinstance(error, ActitoSftpError)
    field = getattr(error, "field", None)  # a field's error (ConnectionConfigError, TargetNotAllowedError)
    return JSONResponse({"detail": wording.page_message(error), "field": field}, status_code=status_of(error))


async def _invalid_request(request: Request, error: Exception) -> JSONResponse:
    """A body or parameter of the wrong shape: 400 naming the first offending field."""
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0] if error.errors() else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    field = location[-1] if location else None
    detail = wording.invalid_request(location, str(first.get("msg", "invalid request")))
    return JSONResponse({"detail": detail, "field": field}, status_code=400)
