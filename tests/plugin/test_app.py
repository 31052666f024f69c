"""The plugin's app as built (no server): its URLs, and how its modules import each other (the whole package's
layers and cycles: tests/test_layers.py)."""

from __future__ import annotations

from airflow_provider_actito_sftp.plugin.app import create_app
from tests.support.import_graph import Import, cycles, imports

# The URLs the page (static/*.js) and the tests call: a change here is a change of the API.
ROUTES = {
    ("GET", "/"),
    ("GET", "/docs"),
    ("GET", "/openapi.json"),
    ("GET", "/api/rights"),
    ("GET", "/api/schema"),
    ("GET", "/api/overview"),
    ("POST", "/api/host-key/fetch"),
    ("GET", "/api/connections"),
    ("POST", "/api/connections"),
    ("GET", "/api/connections/{connection_id}"),
    ("PATCH", "/api/connections/{connection_id}"),
    ("DELETE", "/api/connections/{connection_id}"),
    ("POST", "/api/connections/{connection_id}/test"),
    ("POST", "/api/connections/{connection_id}/connection-json"),
    ("POST", "/api/connections/{connection_id}/host-key"),
    ("PUT", "/api/connections/{connection_id}/locations/{name}"),
    ("DELETE", "/api/connections/{connection_id}/locations/{name}"),
    ("GET", "/api/connections/{connection_id}/overview"),
    ("GET", "/api/connections/{connection_id}/activity"),
    ("GET", "/api/connections/{connection_id}/ssh-public-key"),
    ("GET", "/api/connections/{connection_id}/pgp-public-key"),
    ("POST", "/api/connections/{connection_id}/ssh-key/generate"),
    ("POST", "/api/connections/{connection_id}/ssh-key/rotate"),
    ("POST", "/api/connections/{connection_id}/pgp-key/generate"),
    ("POST", "/api/connections/{connection_id}/pgp-key/rotate"),
    ("POST", "/api/connections/{connection_id}/pgp-key/retire"),
    ("PUT", "/api/connections/{connection_id}/partner-key"),
    ("DELETE", "/api/connections/{connection_id}/partner-key"),
}


def test_the_app_serves_the_pages_urls_and_no_other() -> None:
    app = create_app()
    served = {(method, route.path) for route in app.routes for method in getattr(route, "methods", None) or ()}
    assert served == ROUTES
    assert "/static" in {route.path for route in app.routes}  # the page's modules


def plugin_imports() -> list[Import]:
    """Every import made by a module of plugin/ (top-level, in a function or for typing alike)."""
    return [found for found in imports() if found.importer.split(".")[0] == "plugin"]


def test_no_plugin_module_imports_one_that_imports_it_back() -> None:
    found = plugin_imports()
    assert ("plugin.app", "plugin.routes.connections") in {(each.importer, each.imported) for each in found}
    assert cycles(found) == []


def test_the_plugin_never_imports_the_cli() -> None:
    assert [f"{each.importer} -> {each.imported}" for each in plugin_imports() if each.imported.startswith("cli")] == []
