"""The response models check and document what the routes answer, and never change it."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from airflow_provider_actito_sftp.connection.schema import FIELDS
from airflow_provider_actito_sftp.plugin import models

RESPONSE_MODELS = [
    cls
    for _, cls in inspect.getmembers(models, inspect.isclass)
    if issubclass(cls, models.ResponseModel) and cls is not models.ResponseModel
]
SECRET_FIELDS = {field.name for field in FIELDS if field.secret}
PUBLIC_FIELDS = {field.name for field in FIELDS if not field.secret}
KEY = {
    "fingerprint": "ABCD",
    "user_id": "Actito SFTP inbound (acme)",
    "algorithm": "eddsa",
    "created": "2026-01-01T00:00:00+00:00",
    "expires": None,
    "can_encrypt": True,
    "expired": False,
    "revoked": False,
}
DESCRIBED: dict[str, Any] = {
    "conn_id": "acme",
    "id": 7,
    **{name: None for name in PUBLIC_FIELDS},
    "host_key": ["SHA256:abc"],
    "locations": {"inbound": "/in", "outbound": "/out"},
    "partner_pgp_public_key": {**KEY, "warning": None},
    "port": 22,
    "secrets_set": ["ssh_private_key"],
    "stored_in": "metadata DB",
    "ssh_key": {"public_key": "ssh-ed25519 AAAA acme", "fingerprint": "SHA256:def"},
    "ssh_pending_key": None,
    "inbound_pgp_keys": [KEY],
    "warnings": [],
    "writable": True,
    "read_only_reason": None,
    "rights": {"edit": True, "delete": False},
}
INVALID: dict[str, Any] = {  # as stored: any value, even under a name the valid view gives a type
    "conn_id": "broken",
    "locations": "not JSON",
    "ssh_key": "whatever an extra holds",
    "host": "sftp.example.com",
    "port": None,
    "username": "acme",
    "error": "Locations: not a JSON object",
    "error_field": "locations",
    "writable": False,
    "read_only_reason": "defined outside the Airflow metadata DB",
    "rights": {"edit": False, "delete": False},
}


def answered(response_model: Any, content: Any) -> Any:
    """What FastAPI sends for ``content`` under ``response_model``: validated, then serialized as JSON."""
    adapter = TypeAdapter(response_model)
    return adapter.dump_python(adapter.validate_python(content), mode="json")


@pytest.mark.parametrize("content", [DESCRIBED, INVALID], ids=["described", "invalid"])
def test_a_connection_is_answered_exactly_as_the_route_built_it(content: dict[str, Any]) -> None:
    assert answered(models.ConnectionWithRights, content) == content
    row = {key: value for key, value in content.items() if key not in ("writable", "read_only_reason", "rights")}
    row.pop("error_field", None)
    assert answered(models.ConnectionRows, [row]) == [row]


def test_a_partner_key_is_answered_in_each_of_its_shapes() -> None:
    for partner_key in ({**KEY, "warning": "expires in 3 days"}, {"error": "unreadable"}, {"configured": True}):
        content = {**DESCRIBED, "partner_pgp_public_key": partner_key}
        assert answered(models.ConnectionWithRights, content) == content


def test_a_described_connection_missing_a_key_is_refused_not_completed() -> None:
    with pytest.raises(ValueError, match="stored_in"):
        answered(models.ConnectionWithRights, {key: value for key, value in DESCRIBED.items() if key != "stored_in"})


@pytest.mark.parametrize("model", RESPONSE_MODELS, ids=lambda model: model.__name__)
def test_no_response_model_adds_or_drops_a_key(model: type[BaseModel]) -> None:
    assert model.model_config.get("extra") == "allow"
    optional = [name for name, field in model.model_fields.items() if not field.is_required()]
    assert optional == [], f"{model.__name__} would add {optional} to an answer without them"


@pytest.mark.parametrize("model", RESPONSE_MODELS, ids=lambda model: model.__name__)
def test_no_response_model_declares_a_secret_field(model: type[BaseModel]) -> None:
    schema = model.model_json_schema(mode="serialization")
    named = set(schema.get("properties", {})) | {
        name for definition in schema.get("$defs", {}).values() for name in definition.get("properties", {})
    }
    assert named & SECRET_FIELDS == set()


def test_a_connection_documents_every_public_field_by_its_label() -> None:
    properties = models.Connection.model_json_schema(mode="serialization")["properties"]
    assert set(properties) >= PUBLIC_FIELDS
    assert properties["port"]["title"] == "Port"
    assert properties["locations"]["type"] == "object"  # a declared field keeps its type
