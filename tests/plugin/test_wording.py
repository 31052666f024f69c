"""The page's words for errors: labels instead of field keys, its buttons instead of the CLI's flags."""

from __future__ import annotations

from airflow_provider_actito_sftp.exceptions import ConnectionConfigError, RefusedError, RemoteConnectError
from airflow_provider_actito_sftp.plugin.wording import invalid_request, label_of, page_message


def test_a_field_is_named_by_the_label_the_page_shows():
    assert label_of("outbound_lock_suffix") == "Lock suffix"  # as on the Outbound tab
    assert label_of("locations") == "Locations"
    assert label_of("login") == "Username"  # an Airflow column, by the field stored in it
    assert label_of("conn_id") == "Technical name"  # the wizard's name for it
    assert label_of("expected_fingerprint") == "Fingerprint given by the partner"
    assert label_of("some_new_key") == "Some new key"  # never the key itself


def test_a_field_error_reads_label_then_problem_in_the_pages_words():
    error = ConnectionConfigError("acme", "outbound_lock_suffix", "expected a file-name suffix such as '.part'")
    assert str(error) == "Connection 'acme', field 'outbound_lock_suffix': expected a file-name suffix such as '.part'"
    assert page_message(error) == "Lock suffix: expected a file-name suffix such as '.part'"
    advised = ConnectionConfigError(
        "acme", "ssh_private_key", "run `actito-sftp ssh-key generate acme`", on_page="press X"
    )
    assert (page_message(advised), advised.problem) == (
        "SSH private key: press X",
        "run `actito-sftp ssh-key generate acme`",
    )


def test_a_refusal_gives_the_page_its_own_advice():
    refused = RefusedError("not yet; use --force", on_page="not yet; press “Activate” again")
    assert (str(refused), page_message(refused)) == ("not yet; use --force", "not yet; press “Activate” again")
    plain = RemoteConnectError("cannot reach h:22")
    assert page_message(plain) == str(plain) == "cannot reach h:22"  # one wording serves both


def test_a_body_of_the_wrong_shape_names_the_label():
    assert invalid_request(["values", "port"], "Input should be a valid integer") == (
        "Port: Input should be a valid integer"
    )
    assert invalid_request(["fingerprints", "0"], "Input should be a valid string") == (
        "Fingerprints: Input should be a valid string"
    )
    assert invalid_request([], "Invalid JSON") == "Request: Invalid JSON"
