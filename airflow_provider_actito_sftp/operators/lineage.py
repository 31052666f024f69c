"""The OpenLineage datasets of a transfer operator's try: the partner's files and the local (or object storage)
files that moved, named as OpenLineage names them.

Pure functions from the try's records to ``(namespace, name)`` pairs; only :func:`operator_lineage` imports the
OpenLineage provider (``apache-airflow-providers-openlineage``, optional), and only when its listener asks.

- The partner's server: namespace ``sftp://<host>:<port>`` (the connection's host and port), name the file's
  remote path (the location's folder + the file name, as the server was asked for it).
- A local file: namespace ``file://<this machine's host name>``, name its absolute path (a ``file://``
  ``ObjectStoragePath`` is a local file too).
- Object storage (an ``ObjectStoragePath``): as ``ObjectStoragePath.namespace`` / ``.key`` and the OpenLineage
  provider's ``FileTransferOperator`` name it: namespace ``<scheme>://<bucket>``, name the key (the path's
  connection id left out).

One dataset per file, at most :data:`MAX_DATASETS_PER_SIDE` per side: past it, each file is named by its folder
instead (one dataset per distinct folder: on the partner's side the location's folder; still more folders than
that: the first ones).
"""

from __future__ import annotations

import os
import posixpath
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

from airflow_provider_actito_sftp.transfer.records import Direction, TransferRecord

if TYPE_CHECKING:
    from airflow.providers.common.compat.openlineage.facet import Dataset, RunFacet
    from airflow.providers.openlineage.extractors import OperatorLineage

MAX_DATASETS_PER_SIDE = 100  # datasets per side of one event; past it, files are named by their folder


class DatasetName(NamedTuple):
    """An OpenLineage dataset's identity."""

    namespace: str
    name: str


@dataclass(frozen=True)
class MovedFiles:
    """What one try moved, kept by the operator for its lineage.

    :param direction: download (import: partner → local) or upload (export: local → partner).
    :param host: the partner's server, as the connection names it.
    :param port: its SSH port.
    :param records: the files that moved (succeeded records).
    """

    direction: Direction
    host: str
    port: int
    records: tuple[TransferRecord, ...] = ()


def partner_namespace(host: str, port: int) -> str:
    """``sftp://<host>:<port>`` (an IPv6 address in brackets).

    :param host: the server's host name or address.
    :param port: its SSH port.
    """
    authority = f"[{host}]" if ":" in host else host
    return f"sftp://{authority}:{port}"


def local_dataset(location: str, hostname: str) -> DatasetName:
    """A local path or an object storage URI (``str(ObjectStoragePath)``) as an OpenLineage dataset.

    :param location: a record's local side: a path (made absolute) or a URI.
    :param hostname: this machine's host name, for local files.
    """
    parts = urlsplit(location)
    if not (parts.scheme and location.startswith(f"{parts.scheme}://")):
        return DatasetName(f"file://{hostname}", os.path.abspath(location))
    if parts.scheme == "file":
        return DatasetName(f"file://{parts.netloc or hostname}", parts.path or "/")
    bucket = parts.netloc.rpartition("@")[2]  # ObjectStoragePath shows its conn_id as user info
    return DatasetName(f"{parts.scheme}://{bucket}" if bucket else parts.scheme, parts.path.lstrip("/"))


def lineage_names(
    moved: MovedFiles, hostname: str, limit: int = MAX_DATASETS_PER_SIDE
) -> tuple[list[DatasetName], list[DatasetName]]:
    """The try's inputs and outputs: an import reads the partner's files and writes local ones, an export the
    other way round; each side bounded (:func:`bounded`).

    :param moved: what the try moved.
    :param hostname: this machine's host name, for local files.
    :param limit: datasets per side at most.
    """
    namespace = partner_namespace(moved.host, moved.port)
    partner = [DatasetName(namespace, record.remote_path) for record in moved.records]
    local = [local_dataset(record.local_path, hostname) for record in moved.records if record.local_path]
    partner, local = bounded(partner, limit), bounded(local, limit)
    if moved.direction is Direction.DOWNLOAD:
        return partner, local
    return local, partner


def bounded(names: list[DatasetName], limit: int = MAX_DATASETS_PER_SIDE) -> list[DatasetName]:
    """The datasets, once each; past ``limit``, each named by its folder instead, at most ``limit`` of them.

    :param names: the files' datasets.
    :param limit: datasets at most.
    """
    files = _unique(names)
    if len(files) <= limit:
        return files
    return _unique([DatasetName(name.namespace, _folder(name.name)) for name in files])[:limit]


def operator_lineage(moved: MovedFiles | None, hostname: str | None = None) -> OperatorLineage[Dataset, RunFacet]:
    """The ``OperatorLineage`` of a try (empty when nothing moved or the try stopped before it could say).

    :param moved: what the try moved, or None.
    :param hostname: this machine's host name (default: ``socket.gethostname()``).
    """
    from airflow.providers.common.compat.openlineage.facet import Dataset
    from airflow.providers.openlineage.extractors import OperatorLineage

    if moved is None or not moved.records:
        return OperatorLineage()
    inputs, outputs = lineage_names(moved, hostname or socket.gethostname())
    return OperatorLineage(
        inputs=[Dataset(namespace=name.namespace, name=name.name) for name in inputs],
        outputs=[Dataset(namespace=name.namespace, name=name.name) for name in outputs],
    )


def _folder(path: str) -> str:
    """The folder of a path or an object key (``/`` for a bucket's root)."""
    return posixpath.dirname(path.rstrip("/")) or "/"


def _unique(names: list[DatasetName]) -> list[DatasetName]:
    """Once each, in order."""
    return list(dict.fromkeys(names))
