"""Progress lines for long transfers (bytes, percent and MB/s at a steady interval) and a run's summary."""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 10.0
# A transfer shorter than this, with no progress line yet, logs no final line either: the file's own
# outcome line (where it went, bytes) says it all, and thousands of small files log half as much.
QUIET_BELOW_SECONDS = 1.0


class Progress:
    """Counts bytes of one transfer and logs a line at most every ``interval`` seconds.

    :param label: what moves, e.g. ``"download inbound/customers.csv.pgp"``.
    :param total: expected bytes, or None when unknown (percent is then omitted).
    """

    def __init__(self, label: str, total: int | None, interval: float = DEFAULT_INTERVAL_SECONDS) -> None:
        self.label = label
        self.total = total
        self.interval = interval
        self.done = 0
        self.started = time.monotonic()
        self._next_report = self.started + interval
        self._reported = False

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now >= self._next_report:
            self._next_report = now + self.interval
            self._log(now)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _log(self, now: float) -> None:
        self._reported = True
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed / 1e6
        if self.total:
            log.info(
                "%s: %s of %s bytes (%.1f%%) at %.1f MB/s",
                self.label,
                self.done,
                self.total,
                100.0 * self.done / self.total,
                rate,
            )
        else:
            log.info("%s: %s bytes at %.1f MB/s", self.label, self.done, rate)

    def finish(self) -> None:
        """Log the final line with the average rate, unless the transfer was short and quiet throughout."""
        elapsed = self.elapsed()
        if not self._reported and elapsed < QUIET_BELOW_SECONDS:
            return
        log.info(
            "%s: done, %s bytes in %.2f s (%.1f MB/s)",
            self.label,
            self.done,
            elapsed,
            self.done / max(elapsed, 1e-9) / 1e6,
        )


def run_summary(verb: str, moved: int, plaintext_bytes: int, wire_bytes: int, seconds: float, **not_moved: int) -> str:
    """One line for the end of a run: files, bytes each side of PGP, time, MB/s and what did not move.

    :param verb: ``"imported"`` or ``"exported"``.
    :param moved: files moved.
    :param plaintext_bytes: their bytes in plaintext (what the rate counts).
    :param wire_bytes: their bytes on the server (encrypted, when PGP is on).
    :param seconds: the run's duration.
    :param not_moved: counts by outcome, e.g. ``refused=1, failed=0, skipped=2``.
    """
    rate = plaintext_bytes / max(seconds, 1e-9) / 1e6
    counts = ", ".join(f"{outcome} {count}" for outcome, count in not_moved.items())
    return (
        f"run summary: {verb} {moved} file(s), {plaintext_bytes} bytes ({wire_bytes} on the server) "
        f"in {seconds:.2f} s ({rate:.1f} MB/s); {counts}"
    )
