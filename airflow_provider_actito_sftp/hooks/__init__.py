"""Hooks of the Actito SFTP provider."""

from __future__ import annotations

from airflow_provider_actito_sftp.hooks.actito_sftp import ActitoSftpHook

__all__ = ["ActitoSftpHook"]
