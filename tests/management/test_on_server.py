"""Calls to the partner's server from synchronous code, bounded in time when the caller asks."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_actito_sftp.connection.settings import parse_connection
from airflow_provider_actito_sftp.exceptions import RemoteConnectError
from airflow_provider_actito_sftp.management.on_server import run_on_server, within
from tests.management.conftest import MakeRecord


def test_a_call_that_takes_too_long_is_stopped_and_worded():
    async def forever() -> None:
        await asyncio.sleep(3600)

    with pytest.raises(RemoteConnectError, match=r"no answer from sftp\.partner\.example:22 within 0 s"):
        run_on_server(forever, timeout=0.2, address="sftp.partner.example:22")


def test_a_call_within_its_time_returns_its_answer():
    async def answer() -> int:
        return 42

    assert run_on_server(answer, timeout=5, address="x:22") == 42
    assert run_on_server(answer, timeout=None, address="x:22") == 42


def test_the_connect_timeout_is_capped_never_raised(password_record: MakeRecord):
    from airflow_provider_actito_sftp.management.validation import RecordConnection

    settings = parse_connection(RecordConnection.of(password_record(connect_timeout=3600)))
    assert within(settings, 15).advanced.connect_timeout == 15
    assert within(settings, None) is settings
    short = parse_connection(RecordConnection.of(password_record(connect_timeout=5)))
    assert within(short, 15) is short
