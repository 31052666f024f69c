"""Sensors of the Actito SFTP provider."""

from __future__ import annotations

from airflow_provider_actito_sftp.sensors.actito_sftp import ActitoSftpFileSensor

__all__ = ["ActitoSftpFileSensor"]
