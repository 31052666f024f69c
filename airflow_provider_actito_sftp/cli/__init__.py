"""The ``actito-sftp`` command line."""

from airflow_provider_actito_sftp.cli.commands import cli, main

__all__ = ["cli", "main"]
