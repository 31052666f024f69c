"""Provider metadata read by Airflow's provider discovery (entry point ``apache_airflow_provider``).

This module must stay import-light: Airflow calls it while it configures itself. The connection form is
derived from :mod:`airflow_provider_actito_sftp.connection.schema`, the ``[actito_sftp]`` options from
:mod:`airflow_provider_actito_sftp.platform_config`.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_actito_sftp.connection.schema import CONNECTION_TYPE, form_behaviour, form_fields
from airflow_provider_actito_sftp.platform_config import provider_config

PACKAGE_NAME = "airflow-provider-actito-sftp"
VERSION = "0.1.0"


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata for Airflow's ``ProvidersManager``."""
    return {
        "package-name": PACKAGE_NAME,
        "name": "Actito SFTP",
        "description": "Exchange files with a partner's own SFTP server: pinned host keys, PGP end to end, "
        "partial-upload locking, and transfer metrics from Airflow's task history.",
        "versions": [VERSION],
        "integrations": [
            {
                "integration-name": "Actito SFTP",
                "external-doc-url": "https://github.com/actito/airflow-provider-actito-sftp",
                "tags": ["protocol"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Actito SFTP",
                "python-modules": ["airflow_provider_actito_sftp.hooks.actito_sftp"],
            }
        ],
        "operators": [
            {
                "integration-name": "Actito SFTP",
                "python-modules": ["airflow_provider_actito_sftp.operators.actito_sftp"],
            }
        ],
        "sensors": [
            {
                "integration-name": "Actito SFTP",
                "python-modules": ["airflow_provider_actito_sftp.sensors.actito_sftp"],
            }
        ],
        "triggers": [
            {
                "integration-name": "Actito SFTP",
                "python-modules": ["airflow_provider_actito_sftp.triggers.actito_sftp"],
            }
        ],
        "config": provider_config(),
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_actito_sftp.hooks.actito_sftp.ActitoSftpHook",
                "hook-name": "Actito SFTP",
                "connection-type": CONNECTION_TYPE,
                "conn-fields": form_fields(),
                "ui-field-behaviour": form_behaviour(),
            }
        ],
    }
