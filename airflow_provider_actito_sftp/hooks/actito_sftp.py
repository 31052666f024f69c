"""The Airflow hook for ``actito_sftp`` connections."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

from airflow.sdk import BaseHook

from airflow_provider_actito_sftp._event_loop import BackgroundLoop
from airflow_provider_actito_sftp.connection.settings import ConnectionSettings, parse_connection
from airflow_provider_actito_sftp.exceptions import ActitoSftpError
from airflow_provider_actito_sftp.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_actito_sftp.ssh.session import AsyncSftpSession, RemoteEntry, open_session


class SftpSession:
    """Synchronous view of one open session, returned by ``with ActitoSftpHook(...) as session``.

    Every call reuses the same SSH connection and SFTP channel.
    """

    def __init__(self, session: AsyncSftpSession, loop: BackgroundLoop) -> None:
        self._session = session
        self._loop = loop

    @property
    def settings(self) -> ConnectionSettings:
        """The connection's validated settings."""
        return self._session.settings

    @property
    def host_key_fingerprint(self) -> str:
        """SHA256 fingerprint of the (pinned) host key the server presented."""
        return self._session.host_key_fingerprint

    @property
    def async_session(self) -> AsyncSftpSession:
        """The underlying asyncio session (for code that runs on this session's loop)."""
        return self._session

    def location_path(self, location: str) -> str:
        """Return the remote folder of a named location.

        :param location: a location name from the connection's ``locations``.
        :raises UnknownLocationError: with the list of known names.
        """
        return self._session.location_path(location)

    def list_location(self, location: str) -> list[RemoteEntry]:
        """List a location: name, size and mtime per entry, sorted by name.

        :param location: a location name from the connection's ``locations``.
        """
        return self._loop.run(self._session.list_location(location))

    def check_location(self, location: str) -> None:
        """Check that a location's folder exists and can be listed.

        :raises RemoteLocationError: with what is wrong.
        """
        self._loop.run(self._session.check_location(location))


class ActitoSftpHook(BaseHook):
    """Open pinned, authenticated SFTP sessions to a partner's server.

    Use it as a context manager; one SSH + SFTP session is opened on entry and closed on exit::

        with ActitoSftpHook("partner_sftp") as session:
            for entry in session.list_location("inbound"):
                print(entry.name, entry.size, entry.mtime)

    Async code (triggers, the transfer engine) uses :meth:`open_async_session` instead.

    :param actito_sftp_conn_id: the connection's technical name (an ``actito_sftp`` connection).
    """

    conn_name_attr = "actito_sftp_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "actito_sftp"
    hook_name = "Actito SFTP"

    def __init__(self, actito_sftp_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.actito_sftp_conn_id = actito_sftp_conn_id
        self._settings: ConnectionSettings | None = None
        self._loop: BackgroundLoop | None = None
        self._session: AsyncSftpSession | None = None
        self._session_context: contextlib.AbstractAsyncContextManager[AsyncSftpSession] | None = None

    @property
    def settings(self) -> ConnectionSettings:
        """The connection, fetched and validated once per hook."""
        if self._settings is None:
            self._settings = parse_connection(self.get_connection(self.actito_sftp_conn_id))
        return self._settings

    def get_conn(self) -> SftpSession:
        """Open the session (same as entering the context manager); close it with :meth:`close`."""
        if self._loop is not None:
            raise RuntimeError(f"a session for connection {self.actito_sftp_conn_id!r} is already open")
        settings = self.settings
        loop = BackgroundLoop(name=f"actito-sftp-{self.actito_sftp_conn_id}")
        context = open_session(settings)
        try:
            session = loop.run(context.__aenter__())
        except BaseException:
            loop.close()
            raise
        self._loop, self._session_context, self._session = loop, context, session
        return SftpSession(session, loop)

    def close(self) -> None:
        """Close the session opened by :meth:`get_conn` (safe to call twice)."""
        loop, context = self._loop, self._session_context
        self._loop = self._session_context = self._session = None
        if loop is None or context is None:
            return
        try:
            loop.run(context.__aexit__(None, None, None))
        finally:
            loop.close()

    def __enter__(self) -> SftpSession:
        return self.get_conn()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    async def aget_settings(self) -> ConnectionSettings:
        """The connection, fetched without blocking the event loop (for triggers)."""
        if self._settings is None:
            self._settings = parse_connection(await self.aget_connection(self.actito_sftp_conn_id))
        return self._settings

    @contextlib.asynccontextmanager
    async def open_async_session(self) -> AsyncIterator[AsyncSftpSession]:
        """Open one session on the running event loop (for triggers and the transfer engine)."""
        async with open_session(await self.aget_settings() if self._settings is None else self._settings) as session:
            yield session

    def test_connection(self) -> tuple[bool, str]:
        """Connect, authenticate and check every location: the Airflow UI "Test" button.

        :return: ``(True, summary)`` with the host key fingerprint and the locations checked, or
            ``(False, reason)`` naming what failed.
        """
        try:
            with self as session:
                problems = []
                for location in session.settings.locations:
                    try:
                        session.check_location(location)
                    except ActitoSftpError as e:
                        problems.append(str(e))
                fingerprint = session.host_key_fingerprint
        except ActitoSftpError as e:
            return False, str(e)
        except Exception as e:  # the UI shows this text; keep the type for diagnosis
            return False, f"Connection {self.actito_sftp_conn_id!r}: unexpected {type(e).__name__}: {e}"
        settings = self.settings
        if problems:
            return False, "; ".join(problems)
        locations = ", ".join(f"{name} ({path})" for name, path in settings.locations.items())
        return True, (
            f"Connected to {settings.address} with {settings.auth_type.value} auth; host key {fingerprint} "
            f"matches the pin; locations OK: {locations or 'none configured'}"
        )
