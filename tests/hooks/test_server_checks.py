"""The test on the server, step by step (``ServerChecks``), with a stand-in for the hook's session: what a test cut
short keeps, and an error after every step passed. The real sshd's cases are in ``management/test_lifecycle.py``
(the page's lines) and ``hooks/test_connection_check.py`` (the Test button's sentence), which both run them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, cast

import pytest

from airflow_provider_actito_sftp.connection.schema import AuthType
from airflow_provider_actito_sftp.connection.settings import ConnectionSettings
from airflow_provider_actito_sftp.exceptions import RemoteConnectError
from airflow_provider_actito_sftp.hooks.server_checks import Check, ServerChecks

SETTINGS = cast(
    "ConnectionSettings",
    SimpleNamespace(auth_type=AuthType.SSH_KEY, username="acme", locations={"a": "/a", "b": "/b", "c": "/c"}),
)


class _Session:
    host_key_fingerprint = "SHA256:abc"

    def __init__(self, stuck_at: str | None) -> None:
        self.stuck_at = stuck_at

    async def check_location(self, name: str) -> None:
        if name == self.stuck_at:
            await asyncio.sleep(3600)


class _Hook:
    def __init__(self, *, stuck_at: str | None = None, fails_on_close: Exception | None = None) -> None:
        self.stuck_at = stuck_at
        self.fails_on_close = fails_on_close

    @contextlib.asynccontextmanager
    async def open_async_session(self) -> AsyncIterator[Any]:
        yield _Session(self.stuck_at)
        if self.fails_on_close:
            raise self.fails_on_close


def test_a_test_cut_short_fails_the_step_it_was_on_and_keeps_the_ones_done() -> None:
    checks = ServerChecks(SETTINGS)

    async def bounded() -> None:
        async with asyncio.timeout(0.05):
            await checks.run(_Hook(stuck_at="b"))

    with pytest.raises(TimeoutError):
        asyncio.run(bounded())
    lines = checks.interrupted(RemoteConnectError("no answer from h:22 within 1 s"))
    assert lines == [
        Check("host key", True, "SHA256:abc matches the pin"),
        Check("authentication", True, "SSH key accepted for user 'acme'"),
        Check("location a", True, "/a can be listed"),
        Check("location b", False, "no answer from h:22 within 1 s"),
        Check("location c", False, "not checked: no time left"),
    ]
    assert checks.problems == ["no answer from h:22 within 1 s"]
    assert checks.fingerprint == "SHA256:abc"


def test_a_session_that_fails_after_every_step_passed_says_so() -> None:
    checks = ServerChecks(SETTINGS)
    lines = asyncio.run(checks.run(_Hook(fails_on_close=RemoteConnectError("the connection was lost"))))
    assert [(line.name, line.ok) for line in lines] == [
        ("host key", True),
        ("authentication", True),
        ("location a", True),
        ("location b", True),
        ("location c", True),
        ("session", False),
    ]
    assert checks.problems == ["the connection was lost"]


def test_an_error_not_of_ours_is_raised() -> None:
    error = ValueError("a bug")
    with pytest.raises(ValueError, match="a bug"):
        asyncio.run(ServerChecks(SETTINGS).run(_Hook(fails_on_close=error)))
