# Airflow 3.3 with this provider installed from the repository (used by docker-compose.yaml).
FROM apache/airflow:3.3.2-python3.11

USER root
# gpg for PGP; sq (Sequoia) decrypts the files gpg 2.2 cannot read (sq's default padding); openssh-client for
# operators who want to check a host key by hand.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gnupg sq openssh-client \
    && rm -rf /var/lib/apt/lists/*
USER airflow

COPY --chown=airflow:root . /opt/airflow-provider-actito-sftp
RUN pip install --no-cache-dir "/opt/airflow-provider-actito-sftp" "apache-airflow==3.3.2" \
    "apache-airflow-providers-celery" "psycopg2-binary" "asyncpg"
