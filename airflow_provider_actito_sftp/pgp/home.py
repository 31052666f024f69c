"""A fresh, private GNUPGHOME for each PGP operation, removed afterwards with its gpg-agent stopped.

Keys are never imported into a user's or worker's keyring: each operation imports exactly the keys it
needs into a temporary home, so no other key can be used by accident and nothing is left on disk.

Every home lives in one provider-owned folder, ``<tmp>/actito-sftp-<uid>/gnupg/<pid>-<random>``. A task
killed with ``kill -9`` cannot clean up after itself, so each new home first sweeps the homes of dead
processes: their gpg-agent is stopped and the folder (with the secret keys imported in it) deleted.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import gnupg

from airflow_provider_actito_sftp.exceptions import GpgUnavailableError
from airflow_provider_actito_sftp.private_tmp import (
    new_process_dir,
    private_directory,
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
GNUPG_FOLDER = "gnupg"


@contextmanager
def temporary_gnupg_home() -> Iterator[gnupg.GPG]:
    """Yield a ``gnupg.GPG`` bound to a new empty home (mode 0700); stop its agent and delete it on exit.

    The home is ``<provider_temp_root()>/gnupg/<pid>-<random>``; the homes of dead processes there are
    swept first (agent stopped, folder deleted).

    :raises GpgUnavailableError: ``gpg`` is not installed.
    :raises UnsafeTempDirError: a provider temp folder is a symlink, a file, or another user's.
    """
    if shutil.which(GPG_BINARY) is None:
        raise GpgUnavailableError("the 'gpg' command is not installed (apt-get install gnupg)")
    parent = private_directory(provider_temp_root() / GNUPG_FOLDER)
    sweep_dead_process_dirs(parent, on_remove=_stop_agent)
    home = new_process_dir(parent)
    try:
        yield gnupg.GPG(gpgbinary=GPG_BINARY, gnupghome=str(home), use_agent=False)
    finally:
        _stop_agent(home)
        shutil.rmtree(home, ignore_errors=True)


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
