"""Management calls that reach the partner's server from synchronous code (the CLI, the page's routes),
bounded in time when the caller asks: the page gives every call ``[actito_sftp] interactive_timeout``
seconds in all, whatever the connection's own ``connect_timeout`` says.

Sessions open through the hook (:meth:`ActitoSftpHook.for_settings`), and the work runs on the hook's event
loop bridge (:func:`~airflow_provider_actito_sftp.hooks.event_loop.run_on_new_loop`): one way to the server.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from airflow_provider_actito_sftp.connection.settings import ConnectionSettings
from airflow_provider_actito_sftp.exceptions import RemoteConnectError
from airflow_provider_actito_sftp.hooks.actito_sftp import ActitoSftpHook
from airflow_provider_actito_sftp.hooks.event_loop import run_on_new_loop
from airflow_provider_actito_sftp.ssh.session import AsyncSftpSession

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
        return run_on_new_loop(bounded())
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


def hook_session(settings: ConnectionSettings) -> AbstractAsyncContextManager[AsyncSftpSession]:
    """A session on these settings, opened by the hook (host key pinned, as every session).

    :param settings: the connection as validated (perhaps changed in memory, not saved).
    """
    return ActitoSftpHook.for_settings(settings).open_async_session()
