"""The Airflow UI plugin: an "Actito SFTP" page with connections, the transfer overview and key downloads."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/actito"


def _app() -> object:
    from airflow_provider_actito_sftp.plugin.app import create_app

    return create_app()


class ActitoSftpPlugin(AirflowPlugin):
    """Mounts the overview app under ``/actito`` and adds it to Airflow's navigation."""

    name = "actito_sftp"
    fastapi_apps = [{"app": _app(), "url_prefix": URL_PREFIX, "name": "Actito SFTP"}]  # noqa: RUF012
    external_views = [  # noqa: RUF012
        {
            "name": "Actito SFTP",
            "href": f"{URL_PREFIX}/",
            "url_route": "actito-sftp",
            "destination": "nav",
            "category": "browse",
        }
    ]
