"""The import options are declared once (``ImportOptions``): every other place that names one takes its name and
its default from there, so none can drift (issue 24, point 5). So does the wait for files' ``poke_interval``
(``DEFAULT_POKE_INTERVAL``)."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, get_type_hints

import pytest

from airflow_provider_actito_sftp.hooks.actito_sftp import ActitoSftpHook
from airflow_provider_actito_sftp.operators.actito_sftp import ActitoSftpImportOperator
from airflow_provider_actito_sftp.sensors.actito_sftp import ActitoSftpFileSensor
from airflow_provider_actito_sftp.transfer.destinations import Destination
from airflow_provider_actito_sftp.transfer.import_state import ImportRequest
from airflow_provider_actito_sftp.transfer.options import (
    DEFAULT_MIN_AGE,
    DEFAULT_POKE_INTERVAL,
    ImportArgs,
    ImportOptions,
)
from airflow_provider_actito_sftp.transfer.selection import FileFilter
from airflow_provider_actito_sftp.triggers.actito_sftp import ActitoSftpFileTrigger

DEFAULTS = {option.name: option.default for option in dataclasses.fields(ImportOptions)}


def _defaults(function: Callable[..., Any]) -> dict[str, Any]:
    """The keyword defaults of ``function`` (through Airflow's apply_defaults wrapper)."""
    parameters = inspect.signature(inspect.unwrap(function)).parameters.values()
    return {parameter.name: parameter.default for parameter in parameters if parameter.default is not parameter.empty}


def test_every_option_has_a_plain_default_in_import_options() -> None:
    assert all(option.default is not dataclasses.MISSING for option in dataclasses.fields(ImportOptions))
    assert ImportOptions.names() == tuple(DEFAULTS)
    assert DEFAULTS["min_age"] == DEFAULT_MIN_AGE


def test_the_keyword_arguments_typed_dict_names_exactly_the_options() -> None:
    assert set(get_type_hints(ImportArgs)) == set(DEFAULTS)


def test_the_import_operator_has_one_parameter_per_option_with_its_default() -> None:
    defaults = _defaults(ActitoSftpImportOperator.__init__)
    assert {name: defaults.get(name, "<missing>") for name in DEFAULTS} == DEFAULTS


def test_the_import_operator_passes_every_option_to_the_hook() -> None:
    operator = ActitoSftpImportOperator(
        task_id="import", location="inbound", destination="/tmp/x", min_age=5, max_files=3
    )
    args = operator._import_args()
    assert set(args) == set(DEFAULTS)
    assert ImportOptions.parse(**args) == dataclasses.replace(ImportOptions(), min_age=5.0, max_files=3)


@pytest.mark.parametrize(
    "function",
    [
        ActitoSftpHook.afind_files,
        ActitoSftpHook.await_for_files,
        ActitoSftpFileSensor.__init__,
        ActitoSftpFileTrigger.__init__,
    ],
    ids=lambda function: function.__qualname__,
)
def test_waiting_for_files_defaults_to_the_import_s_selection(function: Callable[..., Any]) -> None:
    defaults = _defaults(function)
    assert {name: defaults[name] for name in ("pattern", "regex", "min_age")} == {
        name: DEFAULTS[name] for name in ("pattern", "regex", "min_age")
    }


@pytest.mark.parametrize(
    "function",
    [
        ActitoSftpHook.await_for_files,
        ActitoSftpHook.wait_for_files,
        ActitoSftpFileSensor.__init__,
        ActitoSftpFileTrigger.__init__,
    ],
    ids=lambda function: function.__qualname__,
)
def test_waiting_for_files_looks_every_default_poke_interval(function: Callable[..., Any]) -> None:
    assert _defaults(function)["poke_interval"] == DEFAULT_POKE_INTERVAL


def test_a_sensor_made_without_poke_interval_looks_every_default_poke_interval() -> None:
    sensor = ActitoSftpFileSensor(task_id="wait", location="inbound")
    trigger = ActitoSftpFileTrigger(conn_id="partner", location="inbound")
    assert sensor.poke_interval == trigger.poke_interval == DEFAULT_POKE_INTERVAL


def test_the_engine_s_defaults_are_the_options() -> None:
    """What the engine builds from the options defaults to them too (the file filter's minimum age excepted: 0
    there means none, and the hook always passes the option's)."""
    destination = _defaults(Destination.__init__)
    assert (destination["file_mode"], destination["on_conflict"]) == (DEFAULTS["file_mode"], DEFAULTS["on_conflict"])
    assert (FileFilter().pattern, FileFilter().regex) == (DEFAULTS["pattern"], DEFAULTS["regex"])
    request = ImportRequest("inbound", FileFilter(), destination=None)  # type: ignore[arg-type]
    assert request.options == ImportOptions()
    assert (request.limits.max_file_size, request.limits.max_expansion_ratio) == (
        DEFAULTS["max_file_size"],
        DEFAULTS["max_expansion_ratio"],
    )
    assert (request.batch_limit.max_files, request.batch_limit.max_bytes) == (
        DEFAULTS["max_files"],
        DEFAULTS["max_bytes"],
    )
