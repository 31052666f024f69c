"""Operational metrics of the hook's imports and exports, sent through Airflow's own stats interface.

Every metric is declared once here (:data:`METRICS`); the README's table is made from it (:func:`markdown_table`,
kept equal by ``tests/hooks/test_transfer_stats.py``). Each import or export call of the hook, from an operator or
from a task calling the hook, sends each of them once when it ends, also when it raises, through
``airflow.sdk.observability.stats`` (what Airflow's task runner sends ``ti.finish`` and ``task.duration`` with):
StatsD, Datadog or OpenTelemetry as Airflow's ``[metrics]`` settings say, under Airflow's prefix.

Names: ``actito_sftp.<direction>.<conn>.<measure>``, ``direction`` being ``download`` (an import) or ``upload``
(an export), as in the overview's summaries, and ``<conn>`` the connection id made a valid part of a stat
name (:func:`stat_conn_id`); tags ``conn_id`` (the id as it is) and ``direction``, for the backends that take
tags. Metrics never break a transfer: a backend that fails is logged, and the transfer goes on.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType

from airflow.sdk.observability import stats

from airflow_provider_actito_sftp.transfer.records import Direction, TransferRecord

log = logging.getLogger(__name__)

NAMESPACE = "actito_sftp"
MAX_CONN_PART = 100  # characters of the connection id in a name: the longest name stays far below 250
_HASHED_PART = 8  # hex digits of the id's sha256 that end a shortened id
_OUTSIDE_NAME = re.compile(r"[^A-Za-z0-9_-]")


class Kind(StrEnum):
    """How a metric is sent: a counter (StatsD ``|c``) or a timer in milliseconds (StatsD ``|ms``)."""

    COUNTER = "counter"
    TIMER = "timer"


@dataclass(frozen=True)
class Metric:
    """One metric of a transfer call.

    :param measure: the last part of its name.
    :param kind: counter or timer.
    :param meaning: what it counts (the README's table).
    """

    measure: str
    kind: Kind
    meaning: str


FILES = Metric("files", Kind.COUNTER, "Files moved: imported (published in the destination) or uploaded.")
BYTES = Metric(
    "bytes", Kind.COUNTER, "Plaintext bytes of those files: the decrypted content, or the source before encryption."
)
WIRE_BYTES = Metric(
    "wire_bytes", Kind.COUNTER, "Bytes of those files on the SFTP server (the encrypted size when PGP is on)."
)
REFUSED = Metric("refused", Kind.COUNTER, "Files refused: bad input that a retry would meet again.")
FAILED = Metric(
    "failed",
    Kind.COUNTER,
    "Files that failed (transport or local I/O: a retry may move them), plus one for a call that raised "
    "(connection, listing, a refused export batch), as the overview counts a failed try.",
)
DURATION = Metric(
    "duration", Kind.TIMER, "Milliseconds the call took, from its checks to the session's close, also when it raised."
)
METRICS = (FILES, BYTES, WIRE_BYTES, REFUSED, FAILED, DURATION)
COUNTERS = tuple(metric for metric in METRICS if metric.kind is Kind.COUNTER)


def stat_conn_id(conn_id: str) -> str:
    """The connection id as one part of a stat name: ``.`` written ``__`` (as Airflow writes a dot in its own
    names' ids), any other character outside letters, digits, ``_`` and ``-`` written ``_``; an id longer
    than :data:`MAX_CONN_PART` cut and ended with ``-`` and 8 hex digits of its sha256 (ids stay apart).

    :param conn_id: the connection's technical name.
    """
    part = _OUTSIDE_NAME.sub("_", conn_id.replace(".", "__")) or "_"
    if len(part) <= MAX_CONN_PART:
        return part
    digest = hashlib.sha256(conn_id.encode()).hexdigest()[:_HASHED_PART]
    return f"{part[: MAX_CONN_PART - _HASHED_PART - 1]}-{digest}"


def stat_name(direction: Direction, conn_id: str, metric: Metric) -> str:
    """A metric's name without Airflow's prefix: ``actito_sftp.<direction>.<conn>.<measure>``.

    :param direction: download (an import) or upload (an export).
    :param conn_id: the connection's technical name.
    :param metric: one of :data:`METRICS`.
    """
    return f"{NAMESPACE}.{direction}.{stat_conn_id(conn_id)}.{metric.measure}"


def markdown_table() -> str:
    """The README's table of metrics (a test keeps the README equal to it)."""
    rows = ["| Metric | Type | Meaning |", "|---|---|---|"]
    for metric in METRICS:
        kind = "timer (ms)" if metric.kind is Kind.TIMER else "counter"
        rows.append(f"| `{NAMESPACE}.<direction>.<conn>.{metric.measure}` | {kind} | {metric.meaning} |")
    return "\n".join(rows)


class TransferMetrics:
    """One transfer call's counts, sent once when the ``with`` block ends; a block that raises counts one
    more failed request, and its duration is sent all the same (the exception goes on).

    :param conn_id: the connection's technical name.
    :param direction: download (an import) or upload (an export).
    """

    def __init__(self, conn_id: str, direction: Direction) -> None:
        self.conn_id = conn_id
        self.direction = direction
        self.counts = dict.fromkeys(COUNTERS, 0)
        self._started = time.monotonic()

    def __enter__(self) -> TransferMetrics:
        self._started = time.monotonic()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.counts[FAILED] += 1
        self.send((time.monotonic() - self._started) * 1000)

    def add(self, moved: Sequence[TransferRecord], *, refused: int, failed: int) -> None:
        """Count a call's outcome.

        :param moved: the files imported or uploaded.
        :param refused: how many files were refused.
        :param failed: how many files failed.
        """
        self.counts[FILES] += len(moved)
        self.counts[BYTES] += sum(record.plaintext_bytes for record in moved)
        self.counts[WIRE_BYTES] += sum(record.wire_bytes for record in moved)
        self.counts[REFUSED] += refused
        self.counts[FAILED] += failed

    def send(self, milliseconds: float) -> None:
        """Send every counter and the duration through Airflow's stats; a failure is logged, never raised.

        :param milliseconds: the call's duration.
        """
        tags = {"conn_id": self.conn_id, "direction": str(self.direction)}
        try:
            for metric, count in self.counts.items():
                stats.incr(stat_name(self.direction, self.conn_id, metric), count, tags=tags)
            stats.timing(stat_name(self.direction, self.conn_id, DURATION), milliseconds, tags=tags)
        except Exception as e:  # whatever the metrics backend raises: the transfer's outcome stands
            log.warning(
                "Connection %r: the %s metrics could not be sent: %s: %s",
                self.conn_id,
                self.direction,
                type(e).__name__,
                e,
            )
