"""A fresh, private GNUPGHOME for each PGP operation, removed afterwards with its gpg-agent stopped.

Keys are never imported into a user's or worker's keyring: each operation imports exactly the keys it
needs into a temporary home, so no other key can be used by accident and nothing is left on disk.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import gnupg

from airflow_provider_actito_sftp.exceptions import ActitoSftpError

log = logging.getLogger(__name__)


def _drop_debug(record: logging.LogRecord) -> bool:
    return record.levelno > logging.DEBUG


# python-gnupg logs the first bytes of imported keys and of gpg's output at DEBUG level: with a DEBUG
# task log that would publish secret keys and plaintext. Drop its DEBUG records, whatever the config.
logging.getLogger("gnupg").addFilter(_drop_debug)

GPG_BINARY = "gpg"


class GpgUnavailableError(ActitoSftpError):
    """The ``gpg`` command is not installed."""


@contextmanager
def temporary_gnupg_home() -> Iterator[gnupg.GPG]:
    """Yield a ``gnupg.GPG`` bound to a new empty home (mode 0700); stop its agent and delete it on exit."""
    if shutil.which(GPG_BINARY) is None:
        raise GpgUnavailableError("the 'gpg' command is not installed (apt-get install gnupg)")
    home = Path(tempfile.mkdtemp(prefix="actito-gnupg-"))  # mkdtemp creates it with mode 0700
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
