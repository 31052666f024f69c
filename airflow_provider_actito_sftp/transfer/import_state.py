"""One import run's request and state, shared by the import (:mod:`~.importer`) and its helpers
(:mod:`~.recovery`, :mod:`~.remote_steps`, :mod:`~.reconnect`), which import this module and never the importer.

:class:`ImportState` holds what every step reads or changes (session, request, ledger, report, whether another live
try of this task instance took files over) and the remote steps they all take on a marker: renaming it back
(:meth:`ImportState.release`), checking it is still there, and leaving a file another run took over.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field

import asyncssh

from airflow_provider_actito_sftp.ssh.session import AsyncSftpSession, RemoteEntry
from airflow_provider_actito_sftp.transfer.destinations import Destination
from airflow_provider_actito_sftp.transfer.download import OutputLimits
from airflow_provider_actito_sftp.transfer.import_report import ImportReport
from airflow_provider_actito_sftp.transfer.ledger import Ledger
from airflow_provider_actito_sftp.transfer.names import Marker
from airflow_provider_actito_sftp.transfer.options import ImportOptions
from airflow_provider_actito_sftp.transfer.remote_folder import RemoteFolder, describe
from airflow_provider_actito_sftp.transfer.selection import BatchLimit, FileFilter

log = logging.getLogger(__name__)

TAKEN_OVER = "taken over by another live try of this task instance, which imports it; this try stopped taking files"
LEFT_TO_THE_OTHER_TRY = "left to another live try of this task instance, which took over this try's files"


@dataclass(frozen=True)
class ImportRequest:
    """What to import and what to do afterwards: validated options, with what they become once the connection and
    the target are known (built by the hook, :func:`~airflow_provider_actito_sftp.hooks.transfers.import_request`).

    :param location: the location to import from.
    :param file_filter: which files are ready (the options' ``pattern``, ``regex`` and ``min_age``, with the
        connection's lock suffix).
    :param destination: where they are published (the options' ``file_mode`` and ``on_conflict``).
    :param options: every import option (their one declaration, with their defaults).
    :param owner: who imports (:func:`~.names.owner_id` of dag, task, run, map index): claims and
        partial files carry it so that a retry resumes them at once.
    """

    location: str
    file_filter: FileFilter
    destination: Destination
    options: ImportOptions = field(default_factory=ImportOptions)
    owner: str = ""

    @property
    def limits(self) -> OutputLimits:
        """The caps on one file's plaintext (``max_file_size``, ``max_expansion_ratio``)."""
        return OutputLimits(self.options.max_file_size, self.options.max_expansion_ratio)

    @property
    def batch_limit(self) -> BatchLimit:
        """How much one run takes (``max_files``, ``max_bytes``)."""
        return BatchLimit(self.options.max_files, self.options.max_bytes)


class ImportState:
    """One import run's state over one open session.

    :param session: the open session (reconnected in place after a cut).
    :param request: what to import.
    :param ledger: used only with ``after_import="keep"``.
    """

    def __init__(self, session: AsyncSftpSession, request: ImportRequest, ledger: Ledger) -> None:
        self.session = session
        self.request = request
        self.ledger = ledger
        self.settings = session.settings
        self.remote = RemoteFolder(session, request.location)
        self.folder = self.remote.path
        self.report = ImportReport(self.settings.conn_id, request.location)
        self.stopped = False  # another live try of this task instance took files over: start no more (recovery)
        self.resumed_staged: dict[str, Marker] = {}  # remote name -> the staged marker recovery released

    async def release(
        self, marker: Marker, entry: RemoteEntry, started: float, why: str = "", *, resumed: bool = False
    ) -> bool:
        """Rename a marker back to the file's name. If that fails the file would stay hidden: that is its
        one outcome (a retryable failure, saying ``why`` it was being released); return False then, and
        also when the marker is gone: another run has the file (:meth:`taken_over`).

        :param marker: the marker on the server.
        :param entry: the file as listed.
        :param started: when its import started (monotonic), for the report.
        :param why: why it is released, for the report.
        :param resumed: the marker was listed, not made by this run (recovery).
        """
        try:
            await self.remote.rename(marker.name, marker.original)
        except (asyncssh.Error, OSError) as e:
            if isinstance(e, asyncssh.SFTPNoSuchFile) and not await self.still_there(marker.name):
                self.taken_over(marker, made_here=not resumed)
                return False
            self.report.fail(
                entry,
                f"{why + '; ' if why else ''}left hidden as {marker.name!r}: could not rename it back "
                f"({describe(e)}); a retry of this task resumes it at once, another run after "
                f"{self.request.options.claim_timeout:.0f} s",
                started,
            )
            return False
        return True

    async def still_there(self, name: str, lstat: Awaitable[asyncssh.SFTPAttrs] | None = None) -> bool:
        """Whether ``name`` is in the location (True when the server cannot say: never assume it gone).

        :param name: the remote name.
        :param lstat: the answer of an lstat of ``name`` already sent (pipelined behind the rename that made it).
        """
        try:
            if lstat is None:
                return await self.remote.exists(name)
            await lstat
        except asyncssh.SFTPNoSuchFile:
            return False
        except (asyncssh.Error, OSError):
            return True
        return True

    def taken_over(self, marker: Marker, *, made_here: bool = True) -> None:
        """A marker this run made (or, not ``made_here``, listed to resume) was renamed away by another run: that
        run has the file, so this run leaves it (a skip, not a failure). Within ``claim_timeout`` only a try of
        the same task instance takes a marker over: this run is then the stale try (a zombie beside its retry),
        and it starts no more files (:attr:`stopped`). A listed marker that moved on is the other try at work.

        :param marker: the marker that went away.
        :param made_here: this run made it (else recovery listed it).
        """
        if not made_here:
            mine = bool(self.request.owner) and marker.owner == self.request.owner
            other = "try of this task instance" if mine else "run"
            self.report.skip(marker.original, f"being imported by another live {other}")
            return
        if marker.age() > self.request.options.claim_timeout:
            self.report.skip(
                marker.original, "taken over by another run (this run's marker was older than claim_timeout)"
            )
            return
        if not self.stopped:
            self.stopped = True
            log.warning(
                "Connection %r, location %r: another live try of this task instance (a retry started beside this "
                "one, this one a zombie?) took over files this try held; this try leaves them to it and starts no "
                "more files",
                self.settings.conn_id,
                self.request.location,
            )
        self.report.skip(marker.original, TAKEN_OVER)
