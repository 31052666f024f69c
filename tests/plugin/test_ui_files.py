"""The integration page's Locations, Inbound and Outbound tabs in a real (headless) Chromium, with Selenium.

A real Airflow API server with the plugin, the real sshd of tests/conftest.py as the partner's server and
the partner's real gpg. Screenshots go under docs/screenshots/ only with UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from partner_sandbox.gpg import PartnerGpg
from partner_sandbox.sshd import SshServer, chown_tree
from tests.plugin.conftest import module_integrations
from tests.support.browser import (
    DARK_SURFACE,
    Browser,
    by_id,
    call_api,
    click,
    connection_of,
    css,
    prefer_dark,
    screenshot,
    show_tab,
    text_of,
    type_into,
    wait,
    wait_loaded,
)

CONN_ID = "acme_files"


@pytest.fixture(scope="module")
def server(sshd: SshServer, plugin_server: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The shared API server with ``acme_files``, created through the API, its SSH key installed."""
    with module_integrations(plugin_server, sshd, {CONN_ID: "ACME Files"}):
        folders = {name: sshd.make_folder(f"ui_files/{name}") for name in ("in", "archive", "out")}
        for folder in folders.values():
            chown_tree(folder, sshd.user)
        yield {**plugin_server, "folders": folders, "sshd": sshd}


def _open_tab(browser: Browser, server: dict[str, Any], tab: str, user: str = "admin") -> Any:
    """The page of ``acme_files`` as ``user``, on one of its tabs (``locations``, ``inbound``, ``outbound``)."""
    driver = browser.open(server, user, f"#integration/{CONN_ID}")
    wait_loaded(driver, "integration")
    show_tab(driver, tab, f"#tab-{tab}")
    return driver


def _connection(server: dict[str, Any]) -> dict[str, Any]:
    return connection_of(server, CONN_ID)


def _location_row(driver: Any, name: str) -> Any:
    rows = css(driver, f'#locations-table tr[data-location="{name}"]')
    return rows[0] if rows else None


def test_locations_are_added_checked_edited_and_removed(server, browser):
    driver = _open_tab(browser, server, "locations")
    folders = server["folders"]
    missing = str(folders["in"].parent / "no-such-folder")

    type_into(driver, "location-name", "inbound")
    type_into(driver, "location-path", "relative/in")
    click(driver, "location-add")
    wait(driver).until(lambda d: "absolute" in text_of(d, "location-path-error"))

    type_into(driver, "location-path", missing)
    assert by_id(driver, "location-check").is_selected()  # checked on the server by default
    click(driver, "location-add")
    wait(driver).until(lambda d: text_of(d, "location-path-error") and by_id(d, "location-add").is_enabled())
    assert _location_row(driver, "inbound") is None
    assert "inbound" not in _connection(server)["locations"]

    type_into(driver, "location-path", str(folders["in"]))
    click(driver, "location-add")
    wait(driver).until(lambda d: _location_row(d, "inbound") is not None)
    assert str(folders["in"]) in _location_row(driver, "inbound").text
    assert _connection(server)["locations"]["inbound"] == str(folders["in"])
    screenshot(driver, "integration-locations.png")

    _location_row(driver, "inbound").find_element("css selector", "button.location-edit").click()
    editor = wait(driver).until(lambda d: css(d, "input.location-edit-path"))[0]
    editor.clear()
    editor.send_keys(str(folders["archive"]))
    _location_row(driver, "inbound").find_element("css selector", "button.location-save").click()
    wait(driver).until(lambda d: str(folders["archive"]) in _location_row(d, "inbound").text)
    assert _connection(server)["locations"]["inbound"] == str(folders["archive"])

    _location_row(driver, "inbound").find_element("css selector", "button.location-remove").click()
    confirm = wait(driver).until(lambda d: css(d, "button.location-confirm-remove"))[0]
    assert _location_row(driver, "inbound") is not None  # nothing removed before confirming
    assert "inbound" in _connection(server)["locations"]
    confirm.click()
    wait(driver).until(lambda d: _location_row(d, "inbound") is None)
    assert "inbound" not in _connection(server)["locations"]


def test_inbound_pgp_keys_are_generated_rotated_and_retired(server, browser):
    driver = _open_tab(browser, server, "inbound")
    click(driver, "inbound-pgp-required")  # no key pair yet: refused with the reason
    wait(driver).until(lambda d: "key pair" in text_of(d, "inbound-pgp-required-error"))
    assert not by_id(driver, "inbound-pgp-required").is_selected()
    assert _connection(server)["inbound_pgp_required"] is False

    click(driver, "pgp-generate")
    wait(driver).until(lambda d: len(css(d, "#pgp-keys tbody tr")) == 1)
    first = _connection(server)["inbound_pgp_keys"][0]["fingerprint"]
    assert css(driver, "#pgp-keys tbody tr")[0].get_attribute("data-fingerprint") == first

    click(driver, "inbound-pgp-required")
    wait(driver).until(lambda d: _connection(server)["inbound_pgp_required"] is True)
    wait(driver).until(
        lambda d: by_id(d, "inbound-pgp-required").is_selected() and not text_of(d, "inbound-pgp-required-error")
    )

    click(driver, "pgp-rotate")
    wait(driver).until(lambda d: len(css(d, "#pgp-keys tbody tr")) == 2)
    keys = _connection(server)["inbound_pgp_keys"]
    newest = css(driver, "#pgp-keys tbody tr.handed-out")
    assert len(newest) == 1
    assert newest[0].get_attribute("data-fingerprint") == keys[0]["fingerprint"] != first
    assert "handed out" in newest[0].text
    screenshot(driver, "integration-inbound.png")

    download = browser.downloads / f"{CONN_ID}-inbound.asc"
    click(driver, "pgp-download")
    wait(driver).until(lambda d: download.exists() and "BEGIN PGP PUBLIC KEY BLOCK" in download.read_text())

    click(driver, "pgp-retire")
    wait(driver).until(lambda d: css(d, "#pgp-retire-confirm"))
    assert len(_connection(server)["inbound_pgp_keys"]) == 2  # nothing retired before confirming
    click(driver, "pgp-retire-confirm")
    wait(driver).until(lambda d: len(css(d, "#pgp-keys tbody tr")) == 1)
    assert [key["fingerprint"] for key in _connection(server)["inbound_pgp_keys"]] == [keys[0]["fingerprint"]]


def _dearmored(armored: str) -> bytes:
    """The binary form of an armored key (its base64 lines, without the checksum line)."""
    lines = armored.strip().splitlines()
    body = lines[lines.index("") + 1 : -1]
    return base64.b64decode("".join(line for line in body if not line.startswith("=")))


def test_outbound_partner_key_and_encryption(server, browser, tmp_path: Path):
    driver = _open_tab(browser, server, "outbound")
    click(driver, "outbound-pgp")  # no partner key yet: refused with the reason
    wait(driver).until(lambda d: "partner's public key" in text_of(d, "outbound-pgp-error"))
    assert _connection(server)["outbound_pgp"] is False

    with PartnerGpg() as partner:
        fingerprint = partner.generate("ACME Partner <pgp@acme.example>")
        soon = partner.generate("Soon <soon@acme.example>", expires="10d")
        expiring = tmp_path / "expiring.asc"
        expiring.write_text(partner.export_public(soon))
        secret = tmp_path / "secret.asc"
        secret.write_text(partner.export_secret(fingerprint))
        public = tmp_path / "public.gpg"  # binary, as `gpg --export` (without --armor) writes it
        public.write_bytes(_dearmored(partner.export_public(fingerprint)))

    by_id(driver, "partner-key-file").send_keys(str(secret))
    wait(driver).until(lambda d: "secret" in text_of(d, "partner-key-error").lower())
    assert _connection(server)["partner_pgp_public_key"] is None

    broken = tmp_path / "broken.gpg"  # looks like a binary public key packet, is not one
    broken.write_bytes(b"\x99\x01\x0d\x04binary key packet")
    by_id(driver, "partner-key-file").send_keys(str(broken))
    wait(driver).until(lambda d: text_of(d, "partner-key-error"))
    assert _connection(server)["partner_pgp_public_key"] is None

    by_id(driver, "partner-key-file").send_keys(str(expiring))
    wait(driver).until(lambda d: text_of(d, "partner-key-fingerprint") == soon)
    assert "expires" in text_of(driver, "partner-key-warning")  # within 30 days: said so

    by_id(driver, "partner-key-file").send_keys(str(public))
    wait(driver).until(lambda d: text_of(d, "partner-key-fingerprint") == fingerprint)
    assert "pgp@acme.example" in text_of(driver, "partner-key-user")
    assert _connection(server)["partner_pgp_public_key"]["fingerprint"] == fingerprint

    click(driver, "outbound-pgp")
    wait(driver).until(lambda d: _connection(server)["outbound_pgp"] is True)
    wait(driver).until(lambda d: by_id(d, "outbound-pgp").is_selected())

    click(driver, "outbound-lock")
    wait(driver).until(lambda d: _connection(server)["outbound_lock"] is False)
    wait(driver).until(lambda d: not by_id(d, "outbound-lock").is_selected() and by_id(d, "outbound-lock").is_enabled())
    click(driver, "outbound-lock")
    wait(driver).until(lambda d: by_id(d, "outbound-lock-suffix").is_enabled())
    type_into(driver, "outbound-lock-suffix", ".uploading")
    click(driver, "outbound-lock-suffix-save")
    wait(driver).until(lambda d: _connection(server)["outbound_lock_suffix"] == ".uploading")
    screenshot(driver, "integration-outbound.png")
    prefer_dark(driver)
    surface = "return getComputedStyle(document.getElementById('tab-outbound')).backgroundColor"
    wait(driver).until(lambda d: d.execute_script(surface) == DARK_SURFACE)
    assert "PRIVATE" not in driver.page_source


def test_outbound_tab_removes_the_partner_key(server, browser):
    """*Remove partner key*: refused while uploads are encrypted to it (naming the setting), confirmed, then gone."""
    with PartnerGpg() as partner:
        fingerprint = partner.generate("Removed Partner <removed@acme.example>")
        armored = partner.export_public(fingerprint)
    path = f"/api/connections/{CONN_ID}"
    assert call_api(server, "PUT", f"{path}/partner-key", {"public_key": armored}).status_code == 200
    assert call_api(server, "PATCH", path, {"values": {"outbound_pgp": True}}).status_code == 200
    reader = _open_tab(browser, server, "outbound", "reader")
    wait(reader).until(lambda d: text_of(d, "partner-key-fingerprint") == fingerprint)
    assert not css(reader, "#partner-key-remove")

    driver = _open_tab(browser, server, "outbound")  # the same Chromium, logged in again
    wait(driver).until(lambda d: text_of(d, "partner-key-fingerprint") == fingerprint)
    click(driver, "partner-key-remove")
    wait(driver).until(lambda d: "Turn off “Encrypt uploads with PGP” first" in text_of(d, "partner-key-remove-error"))
    assert not css(driver, "#partner-key-remove-confirm")
    assert _connection(server)["partner_pgp_public_key"]["fingerprint"] == fingerprint

    click(driver, "outbound-pgp")
    wait(driver).until(lambda d: _connection(server)["outbound_pgp"] is False)
    wait(driver).until(lambda d: not by_id(d, "outbound-pgp").is_selected() and by_id(d, "outbound-pgp").is_enabled())
    click(driver, "partner-key-remove")
    wait(driver).until(lambda d: css(d, "#partner-key-remove-confirm"))
    assert "Remove the partner's public key?" in text_of(driver, "tab-outbound")
    click(driver, "partner-key-remove-cancel")
    wait(driver).until(lambda d: css(d, "#partner-key-remove") and not css(d, "#partner-key-remove-confirm"))
    assert _connection(server)["partner_pgp_public_key"]["fingerprint"] == fingerprint  # nothing removed yet
    click(driver, "partner-key-remove")
    click(driver, "partner-key-remove-confirm")
    wait(driver).until(lambda d: "No partner key yet." in text_of(d, "partner-key"))
    assert _connection(server)["partner_pgp_public_key"] is None
    assert not css(driver, "#partner-key-remove")
    assert by_id(driver, "partner-key-file").is_displayed()  # a new key can be uploaded


def test_users_who_may_not_change_it_see_no_controls(server, browser):
    driver = _open_tab(browser, server, "locations", "reader")
    assert by_id(driver, "integration-notice").is_displayed()  # read only from the start
    assert not css(driver, "#location-add-form, #location-add")
    assert not css(driver, "button.location-edit, button.location-remove")
    driver.find_element("css selector", '#integration-tabs [data-tab="inbound"]').click()
    wait(driver).until(lambda d: css(d, "#tab-inbound"))
    assert not by_id(driver, "inbound-pgp-required").is_enabled()
    assert not css(driver, "#pgp-rotate, #pgp-retire, #pgp-generate")
    driver.find_element("css selector", '#integration-tabs [data-tab="outbound"]').click()
    wait(driver).until(lambda d: css(d, "#tab-outbound"))
    assert not css(driver, "#partner-key-file, #outbound-lock-suffix-save")
    assert not by_id(driver, "outbound-pgp").is_enabled()
