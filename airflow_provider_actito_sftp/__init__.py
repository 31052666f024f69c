"""Apache Airflow provider for file exchange with a partner's SFTP server (Actito-style integration)."""

from __future__ import annotations

from airflow_provider_actito_sftp.get_provider_info import VERSION, get_provider_info

__version__ = VERSION
__all__ = ["__version__", "get_provider_info"]
