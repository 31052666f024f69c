"""Import and export options: choices, durations, and the combinations refused when a DAG is parsed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from airflow_provider_actito_sftp.transfer.options import (
    AfterImport,
    Claim,
    ImportOptions,
    OnConflict,
    Overwrite,
    SignaturePolicy,
    choice,
    seconds,
)


def test_choice_and_seconds():
    assert choice("overwrite", "replace", Overwrite) is Overwrite.REPLACE
    assert choice("overwrite", Overwrite.FAIL, Overwrite) is Overwrite.FAIL
    with pytest.raises(ValueError, match="overwrite must be one of 'fail', 'replace', got 'always'"):
        choice("overwrite", "always", Overwrite)
    assert seconds(timedelta(minutes=2)) == 120.0
    assert seconds(5) == 5.0


def test_parse_turns_strings_into_enums_and_durations_into_seconds():
    options = ImportOptions.parse(
        after_import="move",
        archive_location="archive",
        signature_policy="require",
        on_conflict="rename",
        min_age=timedelta(minutes=1),
        claim_timeout=90,
        pattern="*.csv",
    )
    assert options.after_import is AfterImport.MOVE
    assert options.signature_policy is SignaturePolicy.REQUIRE
    assert options.on_conflict is OnConflict.RENAME
    assert (options.min_age, options.claim_timeout) == (60.0, 90.0)
    assert options.pattern == "*.csv"
    assert options.locations() == ["archive"]


def test_defaults():
    options = ImportOptions.parse()
    assert options == ImportOptions()
    assert (options.after_import, options.claim, options.on_conflict) == (
        AfterImport.KEEP,
        Claim.RENAME,
        OnConflict.FAIL,
    )
    assert (options.min_age, options.claim_timeout, options.file_mode) == (60.0, 3600.0, 0o600)
    assert options.locations() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"after_import": "drop"}, "after_import must be one of 'keep', 'delete', 'move', got 'drop'"),
        ({"signature_policy": "strict"}, "signature_policy must be one of 'ignore', 'accept', 'require'"),
        ({"after_import": "move"}, "after_import='move' needs archive_location"),
        ({"claim": "none", "after_import": "delete"}, "claim='none' .* needs after_import='keep'"),
        ({"claim": "none", "quarantine_location": "q"}, "and no quarantine_location"),
    ],
)
def test_invalid_options_are_refused(args: dict[str, str], message: str):
    with pytest.raises(ValueError, match=message):
        ImportOptions.parse(**args)  # type: ignore[arg-type]


def test_an_unknown_option_is_refused():
    with pytest.raises(TypeError, match="patern"):
        ImportOptions.parse(patern="*.csv")  # type: ignore[call-arg]


def test_max_files_and_max_bytes_are_whole_numbers_of_at_least_one_or_none():
    assert ImportOptions.parse(max_files=500, max_bytes=1 << 30) == ImportOptions(max_files=500, max_bytes=1 << 30)
    assert (ImportOptions().max_files, ImportOptions().max_bytes) == (None, None)  # default: no limit
    for name in ("max_files", "max_bytes"):
        for bad in (0, -1, 2.5, True, "10"):
            with pytest.raises(ValueError, match=f"{name} must be a whole number of at least 1, or None"):
                ImportOptions.parse(**{name: bad})  # type: ignore[misc]
