"""The plugin's routes, one router per resource: :mod:`.page` (the page), :mod:`.docs` (the API's OpenAPI
document and its Swagger UI), :mod:`.connections`, :mod:`.host_keys`, :mod:`.keys`, :mod:`.locations` and
:mod:`.overview` (the JSON API).

Per-connection routes name their path parameter ``connection_id`` (not conn_id): Airflow's
``requires_access_connection`` reads the connection to authorize from that very name. Each route parses,
authorizes (:mod:`..security`), calls :mod:`airflow_provider_actito_sftp.management` (where every decision
lives; changes inside its one edit transaction, ``management.editing``) and answers one of
:mod:`..models`; errors are :mod:`..errors`'. No response and no log line carries a secret.
"""
