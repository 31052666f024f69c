"""The Airflow hook for ``actito_sftp`` connections: the provider's service API.

Every method opens one pinned, authenticated SSH + SFTP session, does its work and closes it. The
``a``-prefixed methods are the async originals; each has a synchronous twin without the ``a``
(``aimport_files`` → ``import_files``), with the same parameters and docstring, which runs it through
:meth:`ActitoSftpHook._run`: the provider's one bridge from synchronous code to asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, Unpack

from airflow.sdk import BaseHook

from airflow_provider_actito_sftp.connection.schema import DEFAULT_CONN_ID
from airflow_provider_actito_sftp.connection.settings import ConnectionSettings, parse_connection
from airflow_provider_actito_sftp.exceptions import NoFileReadyError
from airflow_provider_actito_sftp.hooks.event_loop import run_on_new_loop
from airflow_provider_actito_sftp.hooks.server_checks import ServerChecks
from airflow_provider_actito_sftp.ssh.session import AsyncSftpSession, RemoteEntry, open_session
from airflow_provider_actito_sftp.transfer.options import (
    DEFAULT_MIN_AGE,
    DEFAULT_POKE_INTERVAL,
    ImportArgs,
    ImportOptions,
    seconds,
)
from airflow_provider_actito_sftp.transfer.selection import FileFilter
from airflow_provider_actito_sftp.transfer.signatures import pair_signatures, ready_data_files

if TYPE_CHECKING:
    from airflow_provider_actito_sftp.hooks.sftp_bridge import PinnedSFTPHook
    from airflow_provider_actito_sftp.transfer.exporter import ExportResult
    from airflow_provider_actito_sftp.transfer.import_report import ImportResult

P = ParamSpec("P")
T = TypeVar("T")


async def ready_files(
    session: AsyncSftpSession, location: str, pattern: str, regex: bool, min_age: float | timedelta
) -> list[RemoteEntry]:
    """List a location and keep the files an import would take now: the one check behind the sensor's
    poke (:meth:`ActitoSftpHook.find_files`) and its trigger (:meth:`ActitoSftpHook.await_for_files`)."""
    file_filter = FileFilter(pattern, regex, seconds(min_age), session.settings.outbound.lock_suffix)
    listing = await session.list_location(location)
    # As the import sees them: a detached signature is no file of its own, and its data file waits for it.
    return ready_data_files(pair_signatures(listing, file_filter), file_filter.ready(listing), lambda *_: None)


def _sync(
    method: Callable[Concatenate[ActitoSftpHook, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[ActitoSftpHook, P], T]:
    """The synchronous twin of an async hook method: same parameters and docstring, name without the ``a``."""

    @functools.wraps(method)
    def twin(self: ActitoSftpHook, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._run(method, self, *args, **kwargs)

    twin.__name__ = method.__name__.removeprefix("a")
    twin.__qualname__ = f"ActitoSftpHook.{twin.__name__}"
    return twin


class ActitoSftpHook(BaseHook):
    """Exchange files with a partner's SFTP server: import, export, list and wait for files.

    Each call opens one SSH + SFTP session (host key pinned, key or password auth), does its work over it
    and closes it. From a TaskFlow task::

        @task
        def fetch() -> list[str]:
            result = ActitoSftpHook("partner_sftp").import_files("inbound", "/data/landing", pattern="*.csv.pgp")
            return [record.local_path for record in result.imported]

    Synchronous code calls :meth:`import_files`, :meth:`export_files`, :meth:`list_location`,
    :meth:`find_files` and :meth:`wait_for_files`; async code (triggers, other async hooks) awaits their
    twins :meth:`aimport_files`, :meth:`aexport_files`, :meth:`alist_location`, :meth:`afind_files` and
    :meth:`await_for_files`, or opens its own session with :meth:`open_async_session`. :meth:`check_on_server`
    (async :meth:`acheck_on_server`) tests the connection on its server, step by step.

    :param conn_id: the connection's technical name (an ``actito_sftp`` connection).
    """

    conn_name_attr = "conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "actito_sftp"
    hook_name = "Actito SFTP"

    def __init__(self, conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self._settings: ConnectionSettings | None = None

    @classmethod
    def for_settings(cls, settings: ConnectionSettings) -> ActitoSftpHook:
        """A hook on settings read already (a connection being created or edited, not saved yet): it never
        looks the connection up. The configuration service opens its sessions through it.

        :param settings: the connection, validated.
        """
        hook = cls(settings.conn_id)
        hook._settings = settings
        return hook

    # --- the connection and the one sync/async bridge -------------------------------------------------

    @property
    def settings(self) -> ConnectionSettings:
        """The connection, fetched and validated once per hook."""
        if self._settings is None:
            self._settings = parse_connection(self.get_connection(self.conn_id))
        return self._settings

    async def aget_settings(self) -> ConnectionSettings:
        """The connection, fetched without blocking the event loop (for triggers)."""
        if self._settings is None:
            self._settings = parse_connection(await self.aget_connection(self.conn_id))
        return self._settings

    @contextlib.asynccontextmanager
    async def open_async_session(self) -> AsyncIterator[AsyncSftpSession]:
        """Open one session on the running event loop, closed on exit (for custom async work)."""
        async with open_session(await self.aget_settings()) as session:
            yield session

    def _run(self, function: Callable[P, Coroutine[Any, Any, T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run an async method to completion for a synchronous caller: the provider's one bridge.

        The connection is fetched here, synchronously (a task reads it through the supervisor), then the
        coroutine runs on a fresh event loop (so this cannot be called from a running one); the session
        it opens is closed before this returns.
        """
        _ = self.settings
        return run_on_new_loop(function(*args, **kwargs))

    # --- listing and waiting ------------------------------------------------------------------------

    async def alist_location(self, location: str) -> list[RemoteEntry]:
        """List a location: name, size, mtime and kind of every entry, sorted by name.

        :param location: a location name of the connection.
        :raises UnknownLocationError: with the list of known names.
        :raises RemoteLocationError: the folder is missing or cannot be read.
        """
        async with self.open_async_session() as session:
            return await session.list_location(location)

    async def afind_files(
        self,
        location: str,
        *,
        pattern: str = ImportOptions.pattern,
        regex: bool = ImportOptions.regex,
        min_age: float | timedelta = DEFAULT_MIN_AGE,
    ) -> list[RemoteEntry]:
        """Look once for complete files: the files an import would take now (the sensor's poke).

        Ignored, as the import ignores them: entries that are not regular files, temporary names
        (``*.part``, ``*.filepart``, ``*.tmp``, the connection's lock suffix, our own markers) and files
        modified within ``min_age``.

        :param location: a location name of the connection.
        :param pattern: glob such as ``*.csv.pgp``; a full-match regular expression with ``regex=True``.
        :param regex: treat ``pattern`` as a regular expression.
        :param min_age: seconds (or a timedelta) a file must be unmodified (default 60, as the import).
        :return: the ready files, sorted by name (empty if none).
        """
        async with self.open_async_session() as session:
            return await ready_files(session, location, pattern, regex, min_age)

    async def await_for_files(
        self,
        location: str,
        *,
        pattern: str = ImportOptions.pattern,
        regex: bool = ImportOptions.regex,
        min_age: float | timedelta = DEFAULT_MIN_AGE,
        poke_interval: float | timedelta = DEFAULT_POKE_INTERVAL,
        timeout: float | timedelta | None = None,
    ) -> list[RemoteEntry]:
        """Wait, over one session, until complete files are in a location (:meth:`afind_files`'s rules).

        :param location: a location name of the connection.
        :param pattern: glob such as ``*.csv.pgp``; a full-match regular expression with ``regex=True``.
        :param regex: treat ``pattern`` as a regular expression.
        :param min_age: seconds (or a timedelta) a file must be unmodified (default 60, as the import).
        :param poke_interval: seconds (or a timedelta) between two listings (default 60, as the sensor).
        :param timeout: give up after this many seconds (or a timedelta); None: wait as long as it takes.
        :return: the ready files, sorted by name (never empty).
        :raises NoFileReadyError: (a ``TimeoutError``) no file was ready within ``timeout``.
        """
        loop = asyncio.get_running_loop()
        interval = seconds(poke_interval)
        limit = None if timeout is None else seconds(timeout)
        deadline = None if limit is None else loop.time() + limit
        async with self.open_async_session() as session:
            while not (ready := await ready_files(session, location, pattern, regex, min_age)):
                delay = interval if deadline is None else min(interval, deadline - loop.time())
                if delay <= 0:
                    raise NoFileReadyError(
                        f"Connection {self.conn_id!r}, location {location!r}: no complete file matching "
                        f"{pattern!r} within {limit:.0f} s"
                    )
                self.log.info("No complete file matching %r in %r yet; next look in %.0f s", pattern, location, delay)
                await asyncio.sleep(delay)
            return ready

    # --- transfers ----------------------------------------------------------------------------------

    async def aimport_files(
        self,
        location: str,
        destination: Any,
        *,
        owner: str | None = None,
        ledger_name: str | None = None,
        report: bool = False,
        **options: Unpack[ImportArgs],
    ) -> ImportResult:
        """Import the complete files of a location, oldest first: download, PGP-decrypt, publish each atomically.

        Every file ends imported, refused (bad input: a retry would meet it again), failed (transport
        or local I/O: a retry may succeed) or skipped (with the reason); one file's error never stops the
        others, and nothing is raised for them: look at the result.

        The call's metrics are sent once it ends, also when it raises (:mod:`.transfer_stats`).

        :param location: the location to import from.
        :param destination: a local folder or an ``ObjectStoragePath``.
        :param owner: the id claims and partial files carry (a retry with the same owner resumes them at
            once); default: the running task instance's (:mod:`~.task_identity`); required outside a task.
        :param ledger_name: the ``after_import="keep"`` ledger (files it lists are not imported again);
            default ``<dag_id>.<task_id>`` of the running task. It lives in Airflow Variables, which only a
            running task can write: outside a task, import with ``"delete"`` or ``"move"``.
        :param report: also write every file's record as JSON Lines to a new file in the destination's
            hidden ``.actito-sftp-reports/`` folder (``file_mode``), named in ``ImportResult.report``; the
            import operator does, to keep its XCom small.
        :param pattern: glob of the files to import (default ``*``); with ``regex=True`` a full-match regex.
        :param regex: treat ``pattern`` as a regular expression.
        :param after_import: ``"keep"`` (default; the ledger prevents re-imports), ``"delete"`` or ``"move"``.
        :param archive_location: the location files are moved to with ``after_import="move"``.
        :param quarantine_location: where refused files are moved (else they stay in place).
        :param signature_policy: ``"ignore"`` (default), ``"accept"`` or ``"require"`` a valid signature
            by the partner's key: inside the file, or detached beside it (``X.sig``; README: Signatures).
        :param min_age: seconds (or timedelta) a file must be unmodified before it is imported (default 60).
        :param claim_timeout: seconds (or timedelta) after which another run's claim is taken over
            (default 3600; the same owner takes over its own claims at once).
        :param on_conflict: when the local name is taken: ``"fail"`` (default: refuse the file),
            ``"rename"`` (``x-1.csv``...) or ``"replace"`` (an earlier run's file).
        :param claim: ``"rename"`` (default) or ``"none"`` for read-only folders (needs ``after_import="keep"``).
        :param file_mode: permissions of the local files (default ``0o600``).
        :param max_file_size: bytes of plaintext one file may produce (default 64 GiB; None: no cap).
        :param max_expansion_ratio: plaintext bytes per encrypted byte past 16 MiB (default 200; None: off).
        :param max_files: files one call takes at most, oldest first (default None: every ready file); the
            others stay untouched on the server for a later call (counted in ``remaining``).
        :param max_bytes: bytes on the server one call takes at most, oldest first (default None: no
            limit); the oldest file is always taken, even one larger than this (it is imported alone).
        :return: the outcome of every listed file (``imported``, ``refused``, ``failed``, ``unfinished``,
            ``skipped``), how many ready files were left for a later call (``remaining``,
            ``remaining_bytes``) and where the report is (``report``).
        :raises OptionError: (a ``ValueError``) an invalid option (before connecting).
        :raises UnknownLocationError: a location the connection does not have (before connecting).
        :raises NoTaskContextError: outside a task, no ``owner`` given, or ``after_import="keep"``.
        :raises ActitoSftpError: the session could not be opened or the location listed.
        """
        from airflow_provider_actito_sftp.hooks.transfer_stats import TransferMetrics
        from airflow_provider_actito_sftp.hooks.transfers import ImportRun
        from airflow_provider_actito_sftp.transfer.records import Direction

        with TransferMetrics(self.conn_id, Direction.DOWNLOAD) as metrics:
            run = ImportRun.plan(
                await self.aget_settings(), location, destination, owner, ledger_name, options, report=report
            )
            try:
                async with self.open_async_session() as session:
                    result = await run.execute(session)
                    metrics.add(result.imported, refused=len(result.refused), failed=len(result.failed))
                    return result
            finally:
                run.close()

    async def aexport_files(
        self,
        location: str,
        source: Any,
        *,
        remote_name: str | None = None,
        overwrite: str = "fail",
        owner: str | None = None,
    ) -> ExportResult:
        """Export files to a location: PGP-encrypt to the partner's key and upload under a lock, per the
        connection's outbound policy.

        Everything is checked before the first byte moves: the partner key (present, valid) and, with
        ``overwrite="fail"``, that no target exists except one this owner delivered in an earlier try.

        The call's metrics are sent once it ends, also when it raises (:mod:`.transfer_stats`).

        :param location: the location to upload to.
        :param source: a path, a glob, an ``ObjectStoragePath``, or a list of them.
        :param remote_name: remote name format with ``{name}`` = source file name; default: the source
            name, plus ``.pgp`` (or ``.asc``) when outbound PGP is on.
        :param overwrite: ``"fail"`` (default) or ``"replace"``.
        :param owner: whose delivery log to keep (a retry with the same owner counts the files it already
            delivered as done); default: the running task instance's (:mod:`~.task_identity`). The log
            lives in Airflow Variables, which only a running task can write: outside a task none is kept
            (leave ``owner`` out) and ``overwrite="fail"`` refuses every existing target.
        :return: every source's outcome (``uploaded``, ``refused``, ``failed``).
        :raises OptionError: (a ``ValueError``) an invalid ``overwrite`` (before connecting).
        :raises UnknownLocationError: a location the connection does not have (before connecting).
        :raises SourceUnavailableError: a source matches no file (before connecting; it may appear later).
        :raises ExportRefusedError: the batch was refused before anything was uploaded (partner key,
            names, existing targets).
        :raises NoTaskContextError: ``owner`` given outside a task.
        """
        from airflow_provider_actito_sftp.hooks.transfer_stats import TransferMetrics
        from airflow_provider_actito_sftp.hooks.transfers import ExportRun
        from airflow_provider_actito_sftp.transfer.records import Direction

        with TransferMetrics(self.conn_id, Direction.UPLOAD) as metrics:
            run = ExportRun.plan(await self.aget_settings(), location, source, remote_name, overwrite, owner)
            async with self.open_async_session() as session:
                result = await run.execute(session)
                metrics.add(result.uploaded, refused=len(result.refused), failed=len(result.failed))
                return result

    list_location = _sync(alist_location)
    find_files = _sync(afind_files)
    wait_for_files = _sync(await_for_files)
    import_files = _sync(aimport_files)
    export_files = _sync(aexport_files)

    # --- the UI "Test" button -----------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """The Airflow UI's "Test" button: check the fields, connect, authenticate and list every location.

        :return: ``(True, one sentence)`` (host key, user, how many locations; details in the log) or
            ``(False, what is wrong)``, naming fields by their form labels (see :mod:`.connection_check`).
        """
        from airflow_provider_actito_sftp.hooks.connection_check import check_connection

        return check_connection(self)

    async def acheck_on_server(self) -> ServerChecks:
        """Test the connection on its server: host key, authentication, every location; one check each.

        :return: the checks (:attr:`ServerChecks.checks`), the host key's fingerprint once it matched the pin,
            and the :attr:`ServerChecks.problems` (none when all is well): an error of ours on the server fails
            its step, it is not raised.
        :raises ConnectionConfigError: the connection does not validate (nothing is tried).
        """
        checks = ServerChecks(await self.aget_settings())
        await checks.run(self)
        return checks

    check_on_server = _sync(acheck_on_server)

    # --- Airflow's SFTP provider --------------------------------------------------------------------

    def get_sftp_hook(self) -> PinnedSFTPHook:
        """Airflow's ``SFTPHook`` (``airflow.providers.sftp``) on this connection, for ``SFTPOperator(sftp_hook=...)``
        and the SFTP provider's other users: host, port, user, our SSH key or the password, ``connect_timeout``; the
        server's key must be one of the pinned keys (any other is refused, never added) and the platform's
        allow-list applies (:mod:`.sftp_bridge`). It moves files as they are: no PGP, locks or ledger. It reads the
        connection when called: call it in the task (a hook passed to an operator in a DAG file is built at parse).

        :raises ConnectionConfigError: the connection does not validate.
        """
        from airflow_provider_actito_sftp.hooks.sftp_bridge import PinnedSFTPHook

        return PinnedSFTPHook(self.settings)
