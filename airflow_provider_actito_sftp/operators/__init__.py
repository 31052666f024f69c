"""Operators of the Actito SFTP provider."""

from __future__ import annotations

from airflow_provider_actito_sftp.operators.actito_sftp import ActitoSftpExportOperator, ActitoSftpImportOperator

__all__ = ["ActitoSftpExportOperator", "ActitoSftpImportOperator"]
