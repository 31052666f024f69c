"""Management calls that reach the partner's server from synchronous code (the CLI, the page's routes),
bounded in time when the caller asks: the page gives every call ``[actito_sftp] interactive_timeout``
seconds in all, whatever the connection's own ``connect_timeout`` says.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from airflow_provider_actito_sftp.connection.settings import ConnectionSettings
from airflow_provider_actito_sftp.exceptions import RemoteConnectError

T = TypeVar("T")


def run_on_server(work: Callable[[], Coroutine[Any, Any, T]], *, timeout: float | None, address: str) -> T:
    """Run ``work`` on a fresh event loop, within ``timeout`` seconds in all.

    :param work: makes the coroutine to run.
    :param timeout: seconds for the whole call; None: no bound beyond the connection's own timeouts.
    :param address: ``host:port``, for the message.
    :raises RemoteConnectError: the server did not answer within ``timeout``.
    """

    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await work()

    try:
        return asyncio.run(bounded())
    except TimeoutError as e:
        raise RemoteConnectError(f"no answer from {address} within {timeout:.0f} s") from e


def within(settings: ConnectionSettings, timeout: float | None) -> ConnectionSettings:
    """The settings with ``connect_timeout`` no longer than ``timeout`` (the settings as they are for None).

    :param settings: the connection's settings.
    :param timeout: the call's bound in seconds.
    """
    if timeout is None or settings.advanced.connect_timeout <= timeout:
        return settings
    advanced = dataclasses.replace(settings.advanced, connect_timeout=max(1, int(timeout)))
    return dataclasses.replace(settings, advanced=advanced)
