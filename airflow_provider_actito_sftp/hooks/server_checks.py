"""A connection tested on its server, step by step: host key, authentication, each location; one :class:`Check`
per step, failed steps with their reason and the steps after a failed session "not checked".

The one implementation of the test on the server: the page lists the checks (``management.connection_checks``,
bounded in time), Airflow's Test button and ``actito-sftp connection test`` say them in one sentence
(:mod:`.connection_check`, through :meth:`ActitoSftpHook.check_on_server`).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from airflow_provider_actito_sftp.connection.settings import ConnectionSettings
from airflow_provider_actito_sftp.exceptions import (
    ActitoSftpError,
    AuthenticationError,
    HostKeyError,
    SftpSubsystemError,
)
from airflow_provider_actito_sftp.ssh.session import AsyncSftpSession

NOT_CHECKED = "not checked: "  # how a step the test never reached begins its message
PINNED_KEY_MATCHED = "the server's key matches the pin"  # the host key passed, its fingerprint not at hand


@dataclass(frozen=True)
class Check:
    """One line of a connection test.

    :param name: ``host key``, ``authentication``, ``SFTP`` (only when it fails), ``location <name>``, or
        ``session`` (only when the session failed after every step passed).
    :param ok: whether it passed.
    :param message: what was found (never a secret).
    :param on_page: ``message`` in the page's words, where they differ (its buttons instead of commands).
    """

    name: str
    ok: bool
    message: str
    on_page: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """``name``, ``ok`` and ``message`` (in the page's words: the plugin shows it)."""
        return {"name": self.name, "ok": self.ok, "message": self.on_page or self.message}

    @property
    def checked(self) -> bool:
        """Whether the test reached this step (a step after a failed session was not)."""
        return not self.message.startswith(NOT_CHECKED)

    @classmethod
    def failed(cls, name: str, error: ActitoSftpError) -> Check:
        """A failed step, its message in both wordings."""
        return cls(name, False, str(error), error.on_page)

    @classmethod
    def not_checked(cls, name: str, why: str) -> Check:
        """A step the test did not reach, and why."""
        return cls(name, False, f"{NOT_CHECKED}{why}")


class SessionOpener(Protocol):
    """What the checks need of the hook (:class:`ActitoSftpHook`, which imports this module)."""

    def open_async_session(self) -> AbstractAsyncContextManager[AsyncSftpSession]: ...


class ServerChecks:
    """The checks of one connection test, filled in as the test goes (so a test cut short keeps what it found).

    :param settings: the connection, validated (its locations name the steps).
    """

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        self.steps = ["host key", "authentication", *(f"location {name}" for name in settings.locations)]
        self.checks: list[Check] = []
        self.fingerprint: str | None = None  # the server's host key, once it matched the pin

    @property
    def problems(self) -> list[str]:
        """What is wrong: the message of every step checked that failed (empty when all is well)."""
        return [check.message for check in self.checks if check.checked and not check.ok]

    async def run(self, hook: SessionOpener) -> list[Check]:
        """Open a session through ``hook`` (host key pinned, authenticated), then check every location.

        An error of ours fails the step it stopped, and the steps after it are not checked; any other error
        is raised.

        :param hook: the hook on :attr:`settings` (``ActitoSftpHook.for_settings`` for unsaved settings).
        :return: :attr:`checks`, one per step (and one for SFTP when it failed).
        """
        settings = self.settings
        try:
            async with hook.open_async_session() as session:
                self.fingerprint = session.host_key_fingerprint
                self.checks.append(Check("host key", True, f"{self.fingerprint} matches the pin"))
                accepted = f"{settings.auth_type.label} accepted for user {settings.username!r}"
                self.checks.append(Check("authentication", True, accepted))
                await self._check_locations(session)
        except AuthenticationError as e:
            self.checks.append(Check("host key", True, PINNED_KEY_MATCHED))
            self._step_failed(e, "not authenticated")
        except HostKeyError as e:
            self._step_failed(e, "host key refused")
        except SftpSubsystemError as e:  # authenticated: the SFTP step, not one of ``steps``, is named as it failed
            self.checks.append(Check("host key", True, PINNED_KEY_MATCHED))
            self.checks.append(Check("authentication", True, f"{settings.auth_type.label} accepted"))
            locations = self._not_reached("no SFTP session")
            self.checks.extend([Check.failed("SFTP", e), *locations])
        except ActitoSftpError as e:
            self._step_failed(e, "the session failed" if self.checks else "not connected")
        return self.checks

    def interrupted(self, error: ActitoSftpError) -> list[Check]:
        """The test was stopped from outside (out of time): the step it was on fails with ``error``.

        :param error: why it stopped.
        :return: :attr:`checks`, every step accounted for.
        """
        self._step_failed(error, "no time left")
        return self.checks

    async def _check_locations(self, session: AsyncSftpSession) -> None:
        for name, path in self.settings.locations.items():
            try:
                await session.check_location(name)
            except ActitoSftpError as e:
                self.checks.append(Check.failed(f"location {name}", e))
            else:
                self.checks.append(Check(f"location {name}", True, f"{path} can be listed"))

    def _not_reached(self, why: str) -> list[Check]:
        return [Check.not_checked(name, why) for name in self.steps[len(self.checks) :]]

    def _step_failed(self, problem: ActitoSftpError, why_not_after: str) -> None:
        """The next step fails with ``problem`` (``session`` if every step was done), the rest are not checked."""
        name = self.steps[len(self.checks)] if len(self.checks) < len(self.steps) else "session"
        self.checks.append(Check.failed(name, problem))
        self.checks.extend(self._not_reached(why_not_after))
