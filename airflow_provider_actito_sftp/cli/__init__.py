"""The ``actito-sftp`` command line: :mod:`.app` is the plumbing, one module per group of commands.

Importing the package registers every command on :data:`cli`; :func:`main` is the console script.
"""

from __future__ import annotations

from airflow_provider_actito_sftp.cli import connection, keys, locations, metrics, policies
from airflow_provider_actito_sftp.cli.app import cli, main

__all__ = ["cli", "connection", "keys", "locations", "main", "metrics", "policies"]
