"""The sensor fails a try as the operators do (``task_error``): without retry (``AirflowFailException``) when a retry
would meet the error again, with retry (``AirflowException``) otherwise; on the worker's poke and at the end of its
deferral alike. No server: the hook's look for files is replaced."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, TaskDeferred

from airflow_provider_actito_sftp.exceptions import RemoteConnectError, RemoteLocationError, UnknownLocationError
from airflow_provider_actito_sftp.hooks.actito_sftp import ActitoSftpHook
from airflow_provider_actito_sftp.sensors.actito_sftp import ActitoSftpFileSensor
from airflow_provider_actito_sftp.triggers.actito_sftp import ActitoSftpFileTrigger

UNKNOWN = UnknownLocationError("partner", "inbound", ["outbound"])
LOST = RemoteConnectError("no answer from 127.0.0.1:22 within 5 s")
LOST_WHILE_LISTED = RemoteLocationError("partner", "inbound", "/in", "the connection was lost", retryable=True)


def _sensor(**kwargs: Any) -> ActitoSftpFileSensor:
    return ActitoSftpFileSensor(task_id="wait", conn_id="partner", location="inbound", **kwargs)


def _looking_raises(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """Every look for files (the poke's and the trigger's) raises ``error``."""

    def find_files(self: ActitoSftpHook, location: str, **options: Any) -> list[Any]:
        raise error

    async def await_for_files(self: ActitoSftpHook, location: str, **options: Any) -> list[Any]:
        raise error

    monkeypatch.setattr(ActitoSftpHook, "find_files", find_files)
    monkeypatch.setattr(ActitoSftpHook, "await_for_files", await_for_files)


def _event_of(trigger: ActitoSftpFileTrigger) -> dict[str, Any]:
    async def first() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(first())


def _deferred_trigger(sensor: ActitoSftpFileSensor) -> ActitoSftpFileTrigger:
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})  # the poke reads no context
    trigger = deferred.value.trigger
    assert isinstance(trigger, ActitoSftpFileTrigger)
    return trigger


def test_a_poke_that_would_meet_the_error_again_fails_without_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    _looking_raises(monkeypatch, UNKNOWN)
    with pytest.raises(AirflowFailException) as failed:
        _sensor().poke({})
    assert str(failed.value) == str(UNKNOWN)  # it names the connection already: nothing put before it
    assert failed.value.__cause__ is UNKNOWN


@pytest.mark.parametrize("error", [LOST, LOST_WHILE_LISTED], ids=["transport", "retryable-instance"])
def test_a_poke_that_a_retry_may_get_past_fails_with_retry(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    _looking_raises(monkeypatch, error)
    with pytest.raises(AirflowException) as failed:
        _sensor().poke({})
    assert not isinstance(failed.value, AirflowFailException)
    assert str(failed.value).startswith("Connection 'partner'")
    assert str(error) in str(failed.value)


def test_an_error_not_of_ours_is_raised_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    error = OSError("disk on fire")
    _looking_raises(monkeypatch, error)
    with pytest.raises(OSError, match="disk on fire") as raised:
        _sensor().poke({})
    assert raised.value is error


def test_the_deferral_ends_with_the_same_decision_as_a_poke(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trigger's error event says whether a retry may get past it; the sensor fails its try accordingly."""
    sensor = _sensor()
    monkeypatch.setattr(ActitoSftpHook, "find_files", lambda self, location, **options: [])
    trigger = _deferred_trigger(sensor)
    for error, failure in ((UNKNOWN, AirflowFailException), (LOST, AirflowException)):
        _looking_raises(monkeypatch, error)
        event = _event_of(trigger)
        assert event == {"status": "error", "message": str(error), "retryable": error.retryable}
        with pytest.raises(AirflowException) as failed:
            sensor.execute_complete({}, event)
        assert type(failed.value) is failure
        assert str(error) in str(failed.value)


def test_an_error_event_without_its_retry_decision_is_retried() -> None:
    """An event fired by an earlier version (no ``retryable``) fails the try as before: with retry."""
    with pytest.raises(AirflowException) as failed:
        _sensor().execute_complete({}, {"status": "error", "message": "no answer"})
    assert type(failed.value) is AirflowException
    assert str(failed.value) == "Connection 'partner', location 'inbound': no answer"


def test_the_trigger_looks_as_often_as_the_sensor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ActitoSftpHook, "find_files", lambda self, location, **options: [])
    assert _deferred_trigger(_sensor(poke_interval=7)).poke_interval == 7.0
    assert _deferred_trigger(_sensor()).poke_interval == _sensor().poke_interval
