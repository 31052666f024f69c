"""The UI plugin on a real Airflow API server: authentication, authorization, data, and the rendered page."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from partner_sandbox.dag_files import write_dag
from partner_sandbox.sshd import SshServer, chown_tree
from tests.plugin.conftest import REPO, plugin_stack, serve
from tests.plugin.test_app import ROUTES
from tests.support.browser import DARK_SURFACE, Browser, by_id, chromium_binary, css, screenshot, wait

BETA_BYTES = 700


@pytest.fixture(scope="module")
def ui(sshd: SshServer, tmp_path_factory: pytest.TempPathFactory):
    """An API server with the plugin, two connections with keys, and real task runs to show.

    "partner" may read only ``acme_*`` connections (tests.support.auth_manager), so not ``beta_ui``.
    """
    base = tmp_path_factory.mktemp("ui")
    dags = base / "dags"
    dags.mkdir()
    stack = plugin_stack(base / "airflow", dags)
    inbound, outbound = sshd.make_folder("ui/in"), sshd.make_folder("ui/out")
    beta_inbound = sshd.make_folder("ui/beta_in")
    for index in range(3):
        (inbound / f"customers-{index}.csv").write_bytes(b"id;email\n" * (1000 * (index + 1)))
    (beta_inbound / "beta.csv").write_bytes(b"x" * BETA_BYTES)
    chown_tree(sshd.data_root / "ui", sshd.user)
    for conn_id, entity, name, locations in (
        ("acme_ui", "acme", "ACME Europe", [f"inbound={inbound}", f"outbound={outbound}"]),
        ("beta_ui", "beta", "Beta Partner", [f"inbound={beta_inbound}"]),
    ):
        options = [f"--location={location}" for location in locations]
        created = json.loads(
            stack.actito_sftp(
                *("connection", "create", conn_id, "--entity", entity, "--display-name", name, "--host", sshd.host),
                *("--port", str(sshd.port), "--username", sshd.user.name, *options, "--trust-on-first-use", "--json"),
            )
        )
        sshd.add_authorized_key(created["ssh_key"]["public_key"])
        stack.actito_sftp("pgp-key", "generate", conn_id)
    (base / "segment.csv").write_bytes(b"id\n" * 5000)
    dag_file = write_dag(
        "ui_seed",
        f"""
        ActitoSftpImportOperator(min_age=0, task_id="import", conn_id="acme_ui", location="inbound",
                                 destination={str(base / "landing")!r})
        ActitoSftpExportOperator(task_id="export", conn_id="acme_ui", location="outbound",
                                 source={str(base / "segment.csv")!r})
        ActitoSftpExportOperator(task_id="export_missing", conn_id="acme_ui", location="outbound",
                                 source={str(base / "missing.csv")!r})
        ActitoSftpImportOperator(min_age=0, task_id="import_beta", conn_id="beta_ui", location="inbound",
                                 destination={str(base / "landing_beta")!r})
        """,
    )
    shutil.move(dag_file, dags / dag_file.name)
    seed = subprocess.run(
        [sys.executable, "-m", "partner_sandbox.rss_child", str(dags / dag_file.name), "ui_seed"],
        env={**stack.env, "_AIRFLOW_PROCESS_CONTEXT": "server"},
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert seed.returncode == 0, seed.stderr[-3000:]
    assert json.loads(seed.stdout.splitlines()[-1])["states"] == {
        "import": "success",
        "export": "success",
        "export_missing": "failed",
        "import_beta": "success",
    }, seed.stdout[-3000:] + seed.stderr[-3000:]
    server = serve(stack)
    yield {**server, "base": base}
    stack.stop()


def _get(ui: dict[str, Any], path: str, user: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {ui['tokens'][user]}"} if user else {}
    return httpx.get(f"{ui['url']}/actito{path}", headers=headers, timeout=30)


def _post(
    ui: dict[str, Any],
    path: str,
    user: str | None = None,
    origin: str | None = None,
    form: bool = False,
    payload: dict[str, Any] | None = None,
) -> httpx.Response:
    """POST like the page would (JSON), or like another site's form would (``form=True``)."""
    headers = {"Authorization": f"Bearer {ui['tokens'][user]}"} if user else {}
    if origin is not None:
        headers["Origin"] = origin
    body: dict[str, Any] = {"data": {"confirm": "yes"}} if form else {"json": payload or {}}
    return httpx.post(f"{ui['url']}/actito{path}", headers=headers, timeout=60, **body)


READ_ROUTES = [
    "/",
    "/api/connections",
    "/api/overview",
    "/api/connections/acme_ui/overview",
    "/api/connections/acme_ui/ssh-public-key",
    "/api/connections/acme_ui/pgp-public-key",
    "/openapi.json",  # the API's description: behind the same read right as the API
    "/docs",
]
EDIT_ROUTES = ["/api/connections/acme_ui/ssh-key/rotate", "/api/connections/acme_ui/pgp-key/rotate"]


@pytest.mark.parametrize("path", READ_ROUTES)
def test_no_data_without_login(ui, path: str):
    assert _get(ui, path).status_code == 401


@pytest.mark.parametrize("path", READ_ROUTES)
def test_no_data_for_users_who_cannot_read_connections(ui, path: str):
    assert _get(ui, path, "viewer").status_code == 403


@pytest.mark.parametrize("path", EDIT_ROUTES)
def test_key_regeneration_needs_edit_rights(ui, path: str):
    assert _post(ui, path).status_code == 401
    assert _post(ui, path, "viewer").status_code == 403
    assert _post(ui, path, "reader").status_code == 403  # may read connections, may not edit them
    assert _post(ui, path, "partner").status_code == 403  # may read acme_ui, may not edit it


def test_reader_sees_connections_without_secrets(ui):
    response = _get(ui, "/api/connections", "reader")
    assert response.status_code == 200
    assert [row["conn_id"] for row in response.json()] == ["acme_ui", "beta_ui"]
    connection = response.json()[0]
    assert connection["conn_id"] == "acme_ui"
    assert connection["display_name"] == "ACME Europe"
    assert connection["entity"] == "acme"
    assert set(connection["locations"]) == {"inbound", "outbound"}
    assert connection["ssh_key"]["public_key"].startswith("ssh-ed25519 ")
    assert "inbound_pgp_private_keys" in connection["secrets_set"]
    assert connection["partner_pgp_public_key"] is None
    assert connection["inbound_pgp_keys"] == []  # no gpg call per row
    assert "PRIVATE" not in response.text
    assert "BEGIN" not in response.text


def test_connections_are_shown_as_the_hook_reads_them(ui):
    """Regression: extras "false" and "no" (text) showed as PGP required and lock ON; the hook reads them as off.

    A connection that does not validate is listed with the reason, not a server error.
    """
    from airflow_provider_actito_sftp.connection.store import ConnectionRecord
    from airflow_provider_actito_sftp.management import validate

    secret = "text-values-password"
    extra = {"entity": "acme", "auth_type": "password", "inbound_pgp_required": "false", "outbound_lock": "no"}
    columns = {"conn_type": "actito_sftp", "host": "sftp.text.example", "login": "u", "password": secret}
    stack = ui["stack"]
    stack.cli("connections", "add", "text_values", "--conn-json", json.dumps({**columns, "extra": extra}))
    invalid = {**columns, "extra": {**extra, "entity": ""}}
    stack.cli("connections", "add", "zz_invalid", "--conn-json", json.dumps(invalid))
    try:
        response = _get(ui, "/api/connections", "reader")
    finally:
        stack.cli("connections", "delete", "text_values")
        stack.cli("connections", "delete", "zz_invalid")
    assert response.status_code == 200, response.text
    rows = {row["conn_id"]: row for row in response.json()}
    hook_reads = validate(ConnectionRecord("text_values", "sftp.text.example", None, "u", secret, extra))
    assert (hook_reads.inbound.pgp_required, hook_reads.outbound.lock) == (False, False)
    assert (rows["text_values"]["inbound_pgp_required"], rows["text_values"]["outbound_lock"]) == (False, False)
    assert rows["zz_invalid"] == {
        "conn_id": "zz_invalid",
        "error": "Entity: is required",  # the label the page shows, not the key
    }
    assert secret not in response.text


def test_overview_json_counts_the_seeded_runs(ui):
    data = _get(ui, "/api/connections/acme_ui/overview", "reader").json()
    assert data["by_type_status"] == {
        "download": {"succeeded": 3, "failed": 0},
        "upload": {"succeeded": 1, "failed": 1},
    }
    assert data["total_requests"] == 5
    assert data["success_rate"] == 0.8
    assert data["bytes_down"] == 9 * (1000 + 2000 + 3000)
    assert len(data["per_day"]) == 30
    earlier = _get(ui, "/api/connections/acme_ui/overview?days=7&until=2026-01-31", "reader").json()
    assert (earlier["since"], earlier["total_requests"], len(earlier["per_day"])) == ("2026-01-25", 0, 7)


def test_public_key_downloads(ui):
    ssh = _get(ui, "/api/connections/acme_ui/ssh-public-key", "reader")
    assert ssh.text.startswith("ssh-ed25519 ")
    assert 'filename="acme_ui.pub"' in ssh.headers["content-disposition"]
    rfc4716 = _get(ui, "/api/connections/acme_ui/ssh-public-key?format=rfc4716", "reader")  # for ProFTPD
    assert rfc4716.text.startswith("---- BEGIN SSH2 PUBLIC KEY ----\n")
    assert 'filename="acme_ui.rfc4716.pub"' in rfc4716.headers["content-disposition"]
    assert ssh.text.split()[1] in rfc4716.text.replace("\n", "")  # the same key, wrapped
    unknown = _get(ui, "/api/connections/acme_ui/ssh-public-key?format=putty", "reader")
    assert (unknown.status_code, unknown.json()["field"]) == (400, "format"), unknown.text
    pgp = _get(ui, "/api/connections/acme_ui/pgp-public-key", "reader")
    assert pgp.text.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert "PRIVATE" not in pgp.text


NOT_JSON = {  # the page itself and the key files
    ("get", "/"),
    ("get", "/api/connections/{connection_id}/ssh-public-key"),
    ("get", "/api/connections/{connection_id}/pgp-public-key"),
}


def _names_a_model(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    """Whether a response schema is a model with properties (or a list or choice of them), not any object."""
    if "$ref" in schema:
        return bool(components[schema["$ref"].rsplit("/", 1)[1]].get("properties"))
    if "items" in schema:
        return _names_a_model(schema["items"], components)
    choices = schema.get("oneOf") or schema.get("anyOf")
    return bool(choices) and all(_names_a_model(choice, components) for choice in choices)


def test_the_openapi_document_names_the_answer_of_every_json_route(ui):
    response = _get(ui, "/openapi.json", "reader")
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["servers"] == [{"url": urlsplit(ui["url"]).path.rstrip("/") + "/actito"}]
    components = document["components"]["schemas"]
    operations = {(method, path): op for path, ops in document["paths"].items() for method, op in ops.items()}
    assert {(method.upper(), path) for method, path in operations} == ROUTES - {
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
    }
    undescribed = []
    for (method, path), operation in operations.items():
        [success] = [code for code in operation["responses"] if code.startswith("2")]
        content = operation["responses"][success]["content"]
        if (method, path) in NOT_JSON:
            assert "application/json" not in content, path
        elif not _names_a_model(content["application/json"]["schema"], components):
            undescribed.append(f"{method.upper()} {path}")
        assert "422" not in operation["responses"]  # a body of the wrong shape is answered as a 400
        if path != "/":  # the page answers its refusal as a page
            assert operation["responses"]["4XX"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorResponse"
            }
    assert undescribed == []


def test_the_api_docs_read_the_openapi_document_of_the_plugin(ui):
    docs = _get(ui, "/docs", "reader")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text
    assert f"'{urlsplit(ui['url']).path.rstrip('/')}/actito/openapi.json'" in docs.text


def test_admin_can_start_a_key_rotation(ui):
    rotated = _post(ui, "/api/connections/acme_ui/pgp-key/rotate", "admin")
    assert rotated.status_code == 200, rotated.text
    assert len(rotated.json()["fingerprint"]) == 40
    newest = _get(ui, "/api/connections/acme_ui/pgp-public-key", "admin").text
    assert newest.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")


OVERVIEW_NUMBERS = ("total_requests", "succeeded", "failed", "bytes_down", "bytes_up", "by_type_status", "per_day")
BETA_ROUTES = [
    "/api/connections/beta_ui/overview",
    "/api/connections/beta_ui/ssh-public-key",
    "/api/connections/beta_ui/pgp-public-key",
]


def test_list_shows_only_connections_the_user_may_read(ui):
    response = _get(ui, "/api/connections", "partner")
    assert response.status_code == 200
    assert [row["conn_id"] for row in response.json()] == ["acme_ui"]
    assert "Beta Partner" not in response.text


def test_overview_aggregates_only_connections_the_user_may_read(ui):
    acme = _get(ui, "/api/connections/acme_ui/overview", "reader").json()
    everything = _get(ui, "/api/overview", "reader").json()
    assert everything["total_requests"] == acme["total_requests"] + 1
    assert everything["bytes_down"] == acme["bytes_down"] + BETA_BYTES
    partner = _get(ui, "/api/overview", "partner").json()
    assert {key: partner[key] for key in OVERVIEW_NUMBERS} == {key: acme[key] for key in OVERVIEW_NUMBERS}
    assert _get(ui, "/api/overview?entity=beta", "reader").json()["total_requests"] == 1
    assert _get(ui, "/api/overview?entity=beta", "partner").json()["total_requests"] == 0


@pytest.mark.parametrize("path", BETA_ROUTES)
def test_per_connection_routes_check_that_connection(ui, path: str):
    assert _get(ui, path, "partner").status_code == 403
    assert _get(ui, path, "reader").status_code == 200
    assert _get(ui, path.replace("beta_ui", "acme_ui"), "partner").status_code == 200


def _state(ui: dict[str, Any]) -> dict[str, Any]:
    """Everything the CLI shows about acme_ui: the pending SSH key and the inbound PGP keys among it."""
    state: dict[str, Any] = json.loads(ui["stack"].actito_sftp("connection", "show", "acme_ui", "--json"))
    return state


def test_form_encoded_posts_are_refused_and_change_nothing(ui):
    before = _state(ui)
    for path in EDIT_ROUTES:
        refused = _post(ui, path, "admin", form=True)
        assert refused.status_code == 415, refused.text
        assert _post(ui, path, "admin", origin=_own_origin(ui), form=True).status_code == 415
    assert _state(ui) == before


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "https://127.0.0.1.evil.example"])
def test_cross_origin_posts_are_refused_and_change_nothing(ui, origin: str):
    before = _state(ui)
    for path in EDIT_ROUTES:
        refused = _post(ui, path, "admin", origin=origin)
        assert refused.status_code == 403, refused.text
        assert "cross-origin" in refused.text
    assert _state(ui) == before


@pytest.mark.parametrize("same_origin", [False, True])
def test_json_posts_from_the_page_still_rotate(ui, same_origin: bool):
    origin = _own_origin(ui) if same_origin else None
    ssh = _post(ui, "/api/connections/acme_ui/ssh-key/rotate", "admin", origin=origin, payload={"restart": True})
    assert ssh.status_code == 200, ssh.text
    pgp = _post(ui, "/api/connections/acme_ui/pgp-key/rotate", "admin", origin=origin)
    assert pgp.status_code == 200, pgp.text
    state = _state(ui)
    assert state["ssh_pending_key"]["public_key"] == ssh.json()["public_key"]
    assert state["inbound_pgp_keys"][0]["fingerprint"] == pgp.json()["fingerprint"]


def _own_origin(ui: dict[str, Any]) -> str:
    parts = urlsplit(ui["url"])
    return f"{parts.scheme}://{parts.netloc}"


def test_page_renders_charts_in_headless_chromium(ui, tmp_path: Path):
    """Headless Chromium logs in with the same `_token` cookie the Airflow UI sets, renders the page, and
    takes a screenshot (kept next to the test's Airflow home)."""
    chromium = chromium_binary()
    if chromium is None:
        pytest.skip("chromium is not installed (.ci/run installs it)")
    page_url = f"{ui['url']}/actito/"
    login_url = _cookie_login_page(ui["tokens"]["reader"], page_url)
    common = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=10000",
        "--window-size=1400,1100",
    ]
    dom = subprocess.run([*common, "--dump-dom", login_url], capture_output=True, text=True, timeout=120).stdout
    assert 'data-rendered="true"' in dom, dom[-2000:]  # overview.js finished drawing the three charts
    assert dom.count("<canvas") == 3
    assert "ACME Europe" in dom
    assert "PRIVATE" not in dom
    screenshot = ui["base"] / "actito-overview.png"
    subprocess.run([*common, f"--screenshot={screenshot}", login_url], capture_output=True, timeout=120, check=False)
    assert screenshot.exists()
    assert screenshot.stat().st_size > 20_000
    print(f"screenshot: {screenshot}")


def _cookie_login_page(token: str, page_url: str) -> str:
    """Serve a page on another local port that sets the `_token` cookie (cookies ignore ports) and redirects."""
    import http.server
    import threading

    body = f"<script>document.cookie='_token={token}; path=/; max-age=600';location.replace('{page_url}')</script>"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/login"


NO_NUMBER = "\u2013"  # the en dash the cards show without numbers


def _overview_state(driver: Any) -> dict[str, Any]:
    """What the Overview view shows: the sentence instead of charts, charts shown, cards, errors."""
    return dict(
        driver.execute_script(
            """
            const shown = (id) => !document.getElementById(id).hidden;
            return {
              empty: shown("overview-empty") ? document.getElementById("overview-empty").textContent : null,
              charts: shown("charts"),
              total: document.getElementById("total").textContent,
              days_error: document.getElementById("days-error").textContent,
              error: document.getElementById("error").textContent,
            };
            """
        )
    )


def _set_days(driver: Any, value: str) -> None:
    from selenium.webdriver.common.keys import Keys

    days = by_id(driver, "days")
    days.send_keys(Keys.CONTROL, "a")
    days.send_keys(value)


def test_overview_view_says_what_is_missing_and_never_shows_stale_charts(ui, browser: Browser):
    """In Chromium: a user with no connection who may not create one is told whom to ask (not invited to create
    one); connections without runs say so instead of flat charts, an invalid one is a warning with its reason;
    Days=500 is explained next to the input with no numbers or charts left from before; a valid value brings
    the charts back."""
    stack = ui["stack"]
    driver = browser.open(ui, "newcomer", "#overview")
    wait(driver).until(lambda d: _overview_state(d)["empty"])
    state = _overview_state(driver)
    assert state["empty"].startswith("No integration is visible to you.")  # newcomer may not create
    assert "create one with New integration" not in state["empty"]
    assert not state["charts"]

    idle = {"conn_type": "actito_sftp", "host": "sftp.idle.example", "login": "u", "password": "idle-password"}
    stack.cli(
        "connections",
        "add",
        "new_idle",
        "--conn-json",
        json.dumps({**idle, "extra": {"entity": "new", "auth_type": "password"}}),
    )
    stack.cli("connections", "add", "new_invalid", "--conn-json", json.dumps({**idle, "extra": {"port": 1}}))
    try:
        driver.refresh()
        wait(driver).until(lambda d: css(d, "#connections tr[data-invalid]"))
        wait(driver).until(lambda d: (_overview_state(d)["empty"] or "").startswith("No transfers"))
        state = _overview_state(driver)
        assert state["empty"].startswith("No transfers in the last 30 days")
        assert not state["charts"]
        assert state["total"] == "0"
        invalid = [row.text for row in css(driver, "#connections tr[data-invalid]")]
        assert len(invalid) == 1, invalid
        assert invalid[0].startswith("new_invalid ⚠ Does not validate: "), invalid
        assert invalid[0].endswith("Entity: is required"), invalid  # the label, not the key
    finally:
        stack.cli("connections", "delete", "new_idle")
        stack.cli("connections", "delete", "new_invalid")

    browser.open(ui, "reader", "#overview")
    wait(driver).until(lambda d: _overview_state(d)["charts"] and _overview_state(d)["total"] not in (NO_NUMBER, ""))
    assert _overview_state(driver)["empty"] is None
    _set_days(driver, "500")
    wait(driver).until(lambda d: _overview_state(d)["days_error"])
    state = _overview_state(driver)
    assert state["days_error"] == "Days: a whole number from 1 to 366"
    assert (state["charts"], state["total"], state["error"]) == (False, NO_NUMBER, "")
    assert by_id(driver, "days").get_attribute("aria-invalid") == "true"
    _set_days(driver, "7")
    wait(driver).until(lambda d: _overview_state(d)["charts"])
    state = _overview_state(driver)
    assert (state["days_error"], state["error"]) == ("", "")
    assert int(state["total"]) > 0


def test_the_page_follows_airflows_theme_inside_airflow(ui, browser: Browser):
    """In Chromium, in Airflow's own UI (the plugin's page in its iframe): the page takes Airflow's light or
    dark theme and follows the toggle as it changes; screenshots of both for the README."""
    from selenium.webdriver.common.by import By

    def page_theme(driver: Any) -> tuple[str, str]:
        return tuple(  # type: ignore[return-value]
            driver.execute_script(
                "return [document.documentElement.dataset.theme, getComputedStyle(document.body).backgroundColor];"
            )
        )

    driver = browser.log_in(ui, "reader")
    driver.get(f"{ui['url']}/plugin/actito-sftp")
    driver.execute_script("localStorage.setItem('theme', 'light');")
    driver.refresh()
    frame = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, 'iframe[src*="/actito/"]'))
    driver.switch_to.frame(frame)
    wait(driver).until(lambda d: d.execute_script("return document.body.dataset.rendered") == "true")
    assert page_theme(driver) == ("light", "rgb(255, 255, 255)")
    driver.switch_to.default_content()
    screenshot(driver, "overview-light.png")
    # Airflow's toggle: its <html> class changes (and localStorage); the page follows without a reload.
    driver.execute_script(
        "localStorage.setItem('theme', 'dark');"
        "document.documentElement.classList.remove('light'); document.documentElement.classList.add('dark');"
    )
    driver.switch_to.frame(driver.find_element(By.CSS_SELECTOR, 'iframe[src*="/actito/"]'))
    wait(driver).until(lambda d: page_theme(d)[0] == "dark")
    assert page_theme(driver) == ("dark", DARK_SURFACE)  # Airflow's navy
    driver.switch_to.default_content()
    screenshot(driver, "overview-dark.png")


def test_the_overview_tab_names_what_failed_and_links_to_its_log(ui, browser: Browser):
    """In Chromium, the integration page's Overview tab: the latest runs and, for the export whose source was
    missing, the reason with a link to that task's log page."""
    driver = browser.open(ui, "reader", "#integration/acme_ui")
    wait(driver).until(lambda d: d.execute_script("return document.querySelector('#tab-overview')?.dataset.rendered"))
    rows = [row.text for row in css(driver, "#problems-table tbody tr")]
    assert len(rows) == 1, rows
    assert "(the whole try)" in rows[0]
    assert "failed" in rows[0]
    assert "missing.csv" in rows[0], rows
    [log] = css(driver, "#problems-table tbody tr a")
    assert "/dags/ui_seed/runs/" in log.get_attribute("href")
    assert "/tasks/export_missing" in log.get_attribute("href")
    assert {row.get_attribute("data-task") for row in css(driver, "#runs-table tbody tr")} == {
        "import",
        "export",
        "export_missing",
    }
