"""ActitoSftpFileTrigger run on an event loop, as the triggerer runs it, against the real sshd."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_actito_sftp.sensors.actito_sftp import ActitoSftpFileSensor
from airflow_provider_actito_sftp.transfer.options import DEFAULT_MIN_AGE, ImportOptions
from airflow_provider_actito_sftp.triggers.actito_sftp import ActitoSftpFileTrigger
from partner_sandbox.sshd import SshServer, chown_tree
from tests.conftest import ConnectionFactory


@pytest.fixture
def conn_id(make_connection: ConnectionFactory, folders: dict[str, Path]) -> str:
    return make_connection(locations={name: str(path) for name, path in folders.items()})


def test_min_age_defaults_like_the_sensor_and_the_import():
    """A file still being written counts as complete after the same quiet time, however it is awaited."""
    sensor = ActitoSftpFileSensor(task_id="wait", location="inbound")
    trigger = ActitoSftpFileTrigger(conn_id="partner", location="inbound")
    assert trigger.min_age == sensor.min_age == ImportOptions().min_age == DEFAULT_MIN_AGE == 60.0


def _first_event(trigger: ActitoSftpFileTrigger, timeout: float = 30) -> dict[str, Any]:
    async def first() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(asyncio.wait_for(first(), timeout))


def test_serialize_round_trip():
    trigger = ActitoSftpFileTrigger(
        conn_id="partner", location="inbound", pattern=r".*\.csv", regex=True, min_age=30.0, poke_interval=5.0
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_actito_sftp.triggers.actito_sftp.ActitoSftpFileTrigger"
    assert kwargs == {
        "conn_id": "partner",
        "location": "inbound",
        "pattern": r".*\.csv",
        "regex": True,
        "min_age": 30.0,
        "poke_interval": 5.0,
    }
    assert ActitoSftpFileTrigger(**kwargs).serialize() == (classpath, kwargs)


def test_fires_with_the_names_of_complete_files_only(conn_id: str, sshd: SshServer, folders: dict[str, Path]):
    """The same rules as the sensor's poke and the import: temporary names and fresh files wait."""
    inbound = folders["inbound"]
    for name in ("a.csv", "b.csv.part", "fresh.csv"):
        (inbound / name).write_text("x\n")
    chown_tree(inbound, sshd.user)
    old = time.time() - 600
    os.utime(inbound / "a.csv", (old, old))
    trigger = ActitoSftpFileTrigger(conn_id=conn_id, location="inbound", pattern="*.csv", min_age=60, poke_interval=1)
    assert _first_event(trigger) == {"status": "success", "files": ["a.csv"]}


def test_keeps_looking_until_a_file_is_complete(conn_id: str, sshd: SshServer, folders: dict[str, Path]):
    inbound = folders["inbound"]
    (inbound / "late.csv.part").write_text("x\n")
    chown_tree(inbound, sshd.user)

    async def partner_finishes_upload() -> None:
        await asyncio.sleep(1.5)
        (inbound / "late.csv.part").rename(inbound / "late.csv")

    async def scenario() -> dict[str, Any]:
        trigger = ActitoSftpFileTrigger(conn_id=conn_id, location="inbound", min_age=0, poke_interval=0.3)
        finishing = asyncio.ensure_future(partner_finishes_upload())
        async for event in trigger.run():
            await finishing
            return dict(event.payload)
        raise AssertionError("the trigger ended without an event")

    assert asyncio.run(asyncio.wait_for(scenario(), 30)) == {"status": "success", "files": ["late.csv"]}


def test_a_refusal_fires_an_error_event_naming_it(conn_id: str):
    trigger = ActitoSftpFileTrigger(conn_id=conn_id, location="inbox", poke_interval=1)
    event = _first_event(trigger)
    assert event["status"] == "error"
    assert "unknown location 'inbox'" in event["message"]


def test_a_name_that_is_not_utf8_fires_escaped(conn_id: str, sshd: SshServer, folders: dict[str, Path]):
    """Issue 21.12: the event is stored by the triggerer as JSON; a Latin-1 name must reach it escaped."""
    import json

    descriptor = os.open(bytes(folders["inbound"]) + b"/caf\xe9.csv", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.close(descriptor)
    chown_tree(folders["inbound"], sshd.user)
    trigger = ActitoSftpFileTrigger(conn_id=conn_id, location="inbound", pattern="*.csv", min_age=0, poke_interval=1)
    event = _first_event(trigger)
    assert event == {"status": "success", "files": ["caf\\xe9.csv"]}
    json.dumps(event, ensure_ascii=False).encode("utf-8")  # what failed with the raw name: surrogates not allowed
