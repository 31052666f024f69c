"""One integration's whole life in a real (headless) Chromium: the reference's configuration, end to end.

Against a real Airflow API server with the plugin, the real sshd of tests/conftest.py as the partner's
server and the partner's real gpg, an admin clicks through: create (a wrong fingerprint refused, then the
right one), the shown key installed on the server, two locations, inbound PGP with our generated key, the
partner's key (its secret key refused), outbound lock and PGP, Test all green; then an import and an export
run (``airflow dags test`` on the same metadata DB), the Overview tab showing both with links to their
Airflow pages, an SSH key rotation, and the deletion. No CLI, no hand-edited JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from partner_sandbox.dag_files import write_dag
from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.sshd import SshServer, chown_tree
from tests.support.browser import (
    by_id,
    call_api,
    click,
    click_found,
    connection_of,
    css,
    screenshot,
    show_tab,
    text_of,
    type_into,
    wait,
    wait_loaded,
)

CONN_ID = "acme_e2e"
DAG_ID = "acme_e2e_exchange"
WRONG_FINGERPRINT = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


@pytest.fixture(scope="module")
def server(plugin_server: dict[str, Any]) -> dict[str, Any]:
    """The shared API server (tests/plugin/conftest.py); the test creates and deletes its integration itself."""
    return plugin_server


def _tab(driver: Any, tab: str, marker: str) -> None:
    show_tab(driver, tab, f"#{marker}")


def _connection(server: dict[str, Any]) -> dict[str, Any]:
    return connection_of(server, CONN_ID)


def _create(driver: Any, sshd: SshServer) -> str:
    """The wizard: details, a wrong fingerprint refused, the right one pinned, the shown key installed on the
    server, locations skipped, the test passed; returns the shown key line."""
    click(driver, "new-integration")
    wait(driver).until(lambda d: by_id(d, "wizard").get_attribute("data-step") == "1")
    for element_id, text in (
        ("f-conn_id", CONN_ID),
        ("f-display_name", "ACME end to end"),
        ("f-entity", "acme"),
        ("f-host", sshd.host),
        ("f-port", str(sshd.port)),
        ("f-username", sshd.user.name),
    ):
        type_into(driver, element_id, text)
    click(driver, "wizard-next")
    wait(driver).until(lambda d: by_id(d, "wizard").get_attribute("data-step") == "2")
    type_into(driver, "expected-fingerprint", WRONG_FINGERPRINT)
    click(driver, "wizard-next")
    wait(driver).until(lambda d: text_of(d, "expected-fingerprint-error"))
    assert by_id(driver, "wizard").get_attribute("data-step") == "2"
    type_into(driver, "expected-fingerprint", by_id(driver, "host-fingerprint").text)
    click(driver, "wizard-next")
    wait(driver).until(lambda d: by_id(d, "wizard").get_attribute("data-step") == "3")
    public_key = str(by_id(driver, "public-key").get_attribute("value"))
    sshd.add_authorized_key(public_key)  # the partner installs the shown key
    click(driver, "wizard-next")
    wait(driver).until(lambda d: by_id(d, "wizard").get_attribute("data-step") == "4")
    click(driver, "wizard-next")  # no location yet: added on the Locations tab below
    wait(driver).until(lambda d: by_id(d, "wizard-test-results").get_attribute("data-ok") == "true")
    assert by_id(driver, "wizard-no-location").is_displayed()  # said so
    click(driver, "wizard-next")  # Done
    click_found(driver, lambda d: css(d, f'#integrations tr[data-conn-id="{CONN_ID}"] a')[0])
    wait_loaded(driver, "integration")
    return public_key


def _add_location(driver: Any, name: str, path: Path) -> None:
    type_into(driver, "location-name", name)
    type_into(driver, "location-path", str(path))
    click(driver, "location-add")
    wait(driver).until(lambda d: css(d, f'#locations-table tr[data-location="{name}"]'))


def _run_exchange(server: dict[str, Any], landing: Path, source: Path) -> None:
    """An import and an export with the integration, as Airflow runs them, in the API server's DB."""
    write_dag(
        DAG_ID,
        f"""
        ActitoSftpImportOperator(task_id="import_orders", conn_id={CONN_ID!r}, location="inbound",
                                 destination={str(landing)!r}, min_age=0)
        ActitoSftpExportOperator(task_id="export_segment", conn_id={CONN_ID!r}, location="outbound",
                                 source={str(source)!r})
        """,
        folder=server["dags"],
    )
    server["stack"].cli("dags", "test", DAG_ID, timeout=300)


def test_an_integration_from_creation_to_deletion_in_the_browser(server, browser, sshd: SshServer, tmp_path: Path):
    connection = _connection
    inbound, outbound = sshd.make_folder("ui_e2e/in"), sshd.make_folder("ui_e2e/out")
    downloads = browser.downloads
    with PartnerGpg() as partner:
        driver = browser.open(server, "admin", "#integrations")
        wait_loaded(driver, "integrations")
        _create(driver, sshd)
        assert text_of(driver, "integration-conn-id") == CONN_ID

        _tab(driver, "locations", "location-add")
        _add_location(driver, "inbound", inbound)
        _add_location(driver, "outbound", outbound)

        _tab(driver, "inbound", "pgp-generate")
        click(driver, "pgp-generate")
        wait(driver).until(lambda d: len(css(d, "#pgp-keys tbody tr")) == 1)
        click(driver, "inbound-pgp-required")
        wait(driver).until(lambda d: connection(server)["inbound_pgp_required"] is True)
        click(driver, "pgp-download")
        our_key = downloads / f"{CONN_ID}-inbound.asc"
        wait(driver).until(lambda d: our_key.exists() and "END PGP PUBLIC KEY BLOCK" in our_key.read_text())

        _tab(driver, "outbound", "partner-key-file")
        fingerprint = partner.generate("ACME Partner <pgp@acme.example>")
        secret, public = tmp_path / "secret.asc", tmp_path / "public.asc"
        secret.write_text(partner.export_secret(fingerprint))
        public.write_text(partner.export_public(fingerprint))
        by_id(driver, "partner-key-file").send_keys(str(secret))
        wait(driver).until(lambda d: "secret" in text_of(d, "partner-key-error").lower())
        by_id(driver, "partner-key-file").send_keys(str(public))
        wait(driver).until(lambda d: text_of(d, "partner-key-fingerprint") == fingerprint)
        click(driver, "outbound-pgp")
        wait(driver).until(lambda d: connection(server)["outbound_pgp"] is True)
        # partial-upload locking: on by default (the tab is redrawn after each change: read it in a wait)
        wait(driver).until(lambda d: by_id(d, "outbound-lock").is_enabled() and by_id(d, "outbound-lock").is_selected())
        assert connection(server)["outbound_lock"] is True

        _tab(driver, "server", "server-test")
        click(driver, "server-test")
        wait(driver).until(lambda d: by_id(d, "test-results").get_attribute("data-ok"))
        lines = [line.text for line in css(driver, "#test-results li")]
        assert by_id(driver, "test-results").get_attribute("data-ok") == "true", lines
        assert len(lines) >= 4, lines  # host key, authentication, the two locations
        assert all(line.startswith("✓") for line in lines), lines

        plain = tmp_path / "orders.csv"
        plain.write_text("id;amount\n1;10\n")
        partner.encrypt_to(our_key.read_text(), plain, inbound / "orders.csv.pgp")
        chown_tree(inbound, sshd.user)
        source = tmp_path / "segment.csv"
        source.write_bytes(b"contact;segment\n" * 1000)
        landing = tmp_path / "landing"
        _run_exchange(server, landing, source)
        assert (landing / "orders.csv").read_text() == plain.read_text()  # decrypted before anyone saw it
        uploaded = [path.name for path in outbound.iterdir()]
        assert uploaded == ["segment.csv.pgp"]  # encrypted, renamed from its locked name when complete
        decrypted = tmp_path / "segment-decrypted.csv"
        partner.decrypt(outbound / uploaded[0], decrypted)
        assert decrypted.read_bytes() == source.read_bytes()

        driver.refresh()
        wait_loaded(driver, "integration")
        _tab(driver, "overview", "tab-overview")
        wait(driver).until(lambda d: by_id(d, "tab-overview").get_attribute("data-rendered") == "true")
        assert text_of(driver, "overview-total") == "2"
        assert text_of(driver, "overview-rate") == "100.0 %"
        assert text_of(driver, "overview-types") == "1 / 1"
        assert "orders.csv.pgp" in text_of(driver, "last-download")
        assert uploaded[0] in text_of(driver, "last-upload")
        rows = {row.get_attribute("data-task"): row for row in css(driver, "#runs-table tbody tr")}
        assert set(rows) == {"import_orders", "export_segment"}
        assert all(row.get_attribute("data-state") == "success" for row in rows.values())
        log_link = rows["import_orders"].find_element("css selector", "a.airflow-link").get_attribute("href")
        assert log_link.startswith(f"{server['url']}/dags/{DAG_ID}/runs/")
        assert "/tasks/import_orders?try_number=1" in log_link
        screenshot(driver, "integration-overview.png")
        by_id(driver, "integration-header").find_element("css selector", "a.back").click()
        last_exchange = f'#integrations tr[data-conn-id="{CONN_ID}"] td.last-exchange'
        wait(driver).until(lambda d: "success" in " ".join(cell.text for cell in css(d, last_exchange)))
        latest = call_api(server, "GET", f"/api/connections/{CONN_ID}/activity?limit=1").json()["runs"][0]
        assert latest["direction"] in css(driver, last_exchange)[0].text  # the latest of the two tries
        click_found(driver, lambda d: css(d, f'#integrations tr[data-conn-id="{CONN_ID}"] a')[0])
        wait_loaded(driver, "integration")

        _tab(driver, "server", "ssh-rotate")
        click(driver, "ssh-rotate")
        wait(driver).until(lambda d: css(d, "#ssh-pending-key"))
        pending = str(by_id(driver, "ssh-pending-key").get_attribute("value"))
        sshd.add_authorized_key(pending)
        click(driver, "ssh-activate")
        wait(driver).until(lambda d: not css(d, "#ssh-pending"))
        assert connection(server)["ssh_key"]["public_key"] == pending

        _tab(driver, "delete", "delete-confirm")
        type_into(driver, "delete-confirm", CONN_ID)
        click(driver, "delete-button")
        wait(driver).until(lambda d: by_id(d, "view-integrations").is_displayed())
        assert f"Deleted {CONN_ID}" in text_of(driver, "integrations-notice")
        assert "PRIVATE" not in driver.page_source
    assert call_api(server, "GET", f"/api/connections/{CONN_ID}").status_code == 404
