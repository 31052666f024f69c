"""A fresh, private GNUPGHOME for each PGP operation, removed afterwards with its gpg-agent stopped.

Keys are never imported into a user's or worker's keyring: each operation imports exactly the keys it
needs into a temporary home, so no other key can be used by accident and nothing is left on disk.

Every home lives in one provider-owned folder, ``<tmp>/actito-sftp-<uid>/gnupg/<pid>-<random>``. A task
killed with ``kill -9`` cannot clean up after itself, so each new home first sweeps the homes of dead
processes: their gpg-agent is stopped and the folder (with the secret keys imported in it) deleted.

gpg-agent binds its sockets in the home itself (GnuPG uses ``/run/user/<uid>`` instead only where a login
session created that folder, which workers and containers rarely have), and a Unix socket path must fit
in 108 bytes. When ``<tmp>`` (``$TMPDIR``) is too long for that, the homes go to the same private folder
under ``/tmp`` instead (``/tmp/actito-sftp-<uid>/gnupg``: 0700, ours, checked and swept the same way).
A gpg that cannot start (not installed, failing, or its gpg-agent) raises
:class:`~airflow_provider_actito_sftp.exceptions.GpgUnavailableError`, this machine's trouble: it never
passes for a missing key or a refused file.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import gnupg

from airflow_provider_actito_sftp.exceptions import GpgUnavailableError
from airflow_provider_actito_sftp.private_tmp import (
    new_process_dir,
    private_directory,
    provider_temp_path,
    provider_temp_root,
    sweep_dead_process_dirs,
)

log = logging.getLogger(__name__)


def _drop_debug(record: logging.LogRecord) -> bool:
    return record.levelno > logging.DEBUG


# python-gnupg logs the first bytes of imported keys and of gpg's output at DEBUG level: with a DEBUG
# task log that would publish secret keys and plaintext. Drop its DEBUG records, whatever the config.
logging.getLogger("gnupg").addFilter(_drop_debug)

GPG_BINARY = "gpg"
AGENT_CLIENT = "gpg-connect-agent"  # starts the agent as gpg does (same program, options and socket)
GNUPG_FOLDER = "gnupg"
SHORT_TEMP_BASE = "/tmp"  # noqa: S108 (the short fallback; the folder made there is checked: 0700, ours, no link)
# The longest socket path gpg-agent binds: a Unix socket path has 108 bytes with its NUL, and gpg 2.2.40
# refuses 107 as well (measured: ``<home>/S.gpg-agent.browser`` of 107 bytes fails, of 106 works).
SOCKET_PATH_MAX = 106
LONGEST_SOCKET_NAME = "S.gpg-agent.browser"  # of those gpg-agent makes: S.gpg-agent, .extra, .ssh, .browser
HOME_NAME_MAX = 19  # "<pid>-<random>": a pid of up to 10 digits, "-", and mkdtemp's 8 characters
_ENGLISH = {"LC_ALL": "C", "LANGUAGE": "C"}
_REASON_MAX = 300


@contextmanager
def temporary_gnupg_home(*, agent: bool = False) -> Iterator[gnupg.GPG]:
    """Yield a ``gnupg.GPG`` bound to a new empty home (mode 0700); stop its agent and delete it on exit.

    The home is ``<provider_temp_root()>/gnupg/<pid>-<random>`` (under ``/tmp`` when the temp folder is too
    long for gpg-agent's socket); the homes of dead processes there are swept first (agent stopped, folder
    deleted).

    :param agent: start the home's gpg-agent first: for secret keys (importing, generating, decrypting), so
        that an agent that cannot start is reported as such, not later as a key gpg did not keep.
    :raises GpgUnavailableError: ``gpg`` is not installed or does not start, or (``agent``) its gpg-agent
        does not start.
    :raises UnsafeTempDirError: a provider temp folder is a symlink, a file, or another user's.
    """
    if shutil.which(GPG_BINARY) is None:
        raise GpgUnavailableError("the 'gpg' command is not installed (apt-get install gnupg)")
    parent = _homes_folder()
    sweep_dead_process_dirs(parent, on_remove=_stop_agent)
    home = new_process_dir(parent)
    try:
        gpg = _open(home)
        if agent:
            _start_agent(home)
        yield gpg
    finally:
        _stop_agent(home)
        shutil.rmtree(home, ignore_errors=True)


def _homes_folder() -> Path:
    """``<provider_temp_root()>/gnupg``, or ``/tmp/actito-sftp-<uid>/gnupg`` when the temp folder is too long
    for gpg-agent's socket in a home there.

    :raises GpgUnavailableError: the temp folder is too long and the one under ``/tmp`` cannot be used.
    """
    preferred = provider_temp_path() / GNUPG_FOLDER
    if _sockets_fit(preferred):
        return private_directory(provider_temp_root() / GNUPG_FOLDER)
    fallback = provider_temp_path(SHORT_TEMP_BASE) / GNUPG_FOLDER
    too_long = (
        f"the temp folder {tempfile.gettempdir()} is too long for gpg-agent's socket in a GnuPG home there "
        f"(a socket path of {_longest_socket_path(preferred)} bytes; at most {SOCKET_PATH_MAX} work)"
    )
    if not _sockets_fit(fallback):
        raise GpgUnavailableError(f"{too_long}, and so is {fallback}: set TMPDIR to a shorter folder")
    try:
        folder = private_directory(provider_temp_root(SHORT_TEMP_BASE) / GNUPG_FOLDER)
    except OSError as e:
        raise GpgUnavailableError(f"{too_long}, and {fallback} cannot be used ({e}): set TMPDIR shorter") from e
    _say_where_homes_go(tempfile.gettempdir(), str(folder))
    return folder


def _longest_socket_path(parent: Path) -> int:
    """Bytes of the longest socket path gpg-agent would bind in a home made in ``parent``."""
    return len(os.fsencode(parent)) + 1 + HOME_NAME_MAX + 1 + len(LONGEST_SOCKET_NAME)


def _sockets_fit(parent: Path) -> bool:
    return _longest_socket_path(parent) <= SOCKET_PATH_MAX


@functools.cache
def _say_where_homes_go(temp_folder: str, folder: str) -> None:
    """Log once per process that the homes left the temp folder (each operation would repeat it)."""
    log.info("The temp folder %s is too long for gpg-agent's socket: GnuPG homes go to %s", temp_folder, folder)


def _open(home: Path) -> gnupg.GPG:
    """python-gnupg's handle on ``home``; it runs ``gpg --list-config`` first, so a gpg that fails shows here."""
    try:
        return gnupg.GPG(gpgbinary=GPG_BINARY, gnupghome=str(home), use_agent=False)
    except (OSError, ValueError) as e:  # OSError: it could not be run; ValueError: it ran and failed
        raise GpgUnavailableError(f"gpg could not start on this machine: {_one_line(str(e))}") from e


def _start_agent(home: Path) -> None:
    """Start ``home``'s gpg-agent now, as gpg would for its first secret key; say why if it does not start."""
    try:
        started = subprocess.run(
            [AGENT_CLIENT, "--homedir", str(home), "/bye"],
            capture_output=True,
            timeout=30,
            check=False,
            env={**os.environ, **_ENGLISH},
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise GpgUnavailableError(f"gpg-agent could not start on this machine: {e}") from e
    if started.returncode != 0:
        said = started.stderr.decode("utf-8", "replace").replace(f"{AGENT_CLIENT}: ", "").splitlines()
        reason = "\n".join(line for line in said if not line.startswith("no running gpg-agent"))
        raise GpgUnavailableError(
            f"gpg-agent could not start on this machine, for a GnuPG home in {home.parent}: "
            f"{_one_line(reason) or f'{AGENT_CLIENT} exited with {started.returncode}'}"
        )


def _one_line(text: str) -> str:
    """gpg's words on one line, cut to a readable length (they name programs and errors, never keys)."""
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())[:_REASON_MAX]


def _stop_agent(home: Path) -> None:
    """Stop the gpg-agent (and any other daemon) gpg started for this home."""
    try:
        subprocess.run(
            ["gpgconf", "--homedir", str(home), "--kill", "all"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        log.warning("Could not stop the gpg-agent of a temporary GNUPGHOME: %s", e)
