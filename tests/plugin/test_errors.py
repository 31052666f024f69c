"""The plugin's error answers: ``{"detail", "field"}``, a status by kind of error, the page's words."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from airflow_provider_actito_sftp.exceptions import (
    ActitoSftpError,
    ConnectionConfigError,
    ConnectionExistsError,
    ConnectionNotFoundError,
    ConnectionNotWritableError,
    RefusedError,
)
from airflow_provider_actito_sftp.plugin import errors
from airflow_provider_actito_sftp.plugin.bodies import ApiError


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ConnectionNotFoundError("Connection 'x' does not exist"), 404),
        (ConnectionExistsError("Connection 'x' already exists"), 409),
        (ConnectionNotWritableError(SimpleNamespace(conn_id="x")), 409),
        (RefusedError("refused"), 400),
        (ConnectionConfigError("x", "port", "not a number"), 400),
    ],
    ids=lambda value: type(value).__name__,
)
def test_each_provider_error_has_its_status(error: ActitoSftpError, status: int) -> None:
    assert errors.status_of(error) == status


class Port(BaseModel):
    port: int


def app() -> FastAPI:
    """An app raising each kind of error, with the plugin's error answers."""
    app = FastAPI()
    errors.install(app)

    @app.get("/api-error")
    def api_error() -> None:
        raise ApiError(400, "type the technical name to confirm", "confirm")

    @app.get("/provider-error")
    def provider_error() -> None:
        raise ConnectionConfigError("acme", "outbound_lock_suffix", "must start with a dot")

    @app.post("/body")
    def body(values: Port) -> None:
        return None

    return app


def call(method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app()), base_url="http://plugin") as client:
            return await client.request(method, path, json=body)

    return asyncio.run(send())


def test_an_api_error_is_answered_with_its_status_and_field() -> None:
    response = call("GET", "/api-error")
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "type the technical name to confirm", "field": "confirm"},
    )


def test_a_provider_error_is_answered_in_the_pages_words() -> None:
    response = call("GET", "/provider-error")
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "Lock suffix: must start with a dot", "field": "outbound_lock_suffix"},
    )


def test_a_body_of_the_wrong_shape_is_a_400_naming_its_field() -> None:
    response = call("POST", "/body", {"port": "twenty-two"})
    assert response.status_code == 400
    assert response.json()["field"] == "port"
    assert response.json()["detail"].startswith("Port: ")


def test_the_openapi_document_names_the_error_answer_for_every_4xx() -> None:
    assert errors.ERROR_RESPONSES["4XX"]["model"].model_json_schema()["required"] == ["detail"]
