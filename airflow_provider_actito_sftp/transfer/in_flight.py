"""How many files move at once over one session, by size.

Every SFTP request of a file waits one round trip for its answer, and the exactly-once protocol needs
several in sequence per file (claim, open, read, stage, finish: see docs/reliability.md). Far from the
partner (50 ms) a file thus takes a quarter of a second however small it is, and only more files in
flight make a folder of small files fast. Small files cost little memory, so they get many more slots
than large ones:

- a file of at most :data:`PIPELINED_FILE` bytes takes one of ``transfer_concurrency`` x
  :data:`SMALL_FILES_PER_SLOT` small-file slots (64 with the default 8); at most that many x 256 KiB
  (16 MiB) of them are held in memory at once;
- a larger file takes one of ``transfer_concurrency`` slots; each reads with a bounded number of SFTP
  requests in flight (:mod:`~.streams`).
"""

from __future__ import annotations

import asyncio

PIPELINED_FILE = 256 << 10  # files up to this size take a small-file slot
SMALL_FILES_PER_SLOT = 8  # small-file slots per transfer_concurrency


class FileSlots:
    """The slots one import or export run shares among its files.

    :param concurrency: the connection's ``transfer_concurrency`` (large files at once).
    """

    def __init__(self, concurrency: int) -> None:
        self.large = asyncio.Semaphore(concurrency)
        self.small = asyncio.Semaphore(concurrency * SMALL_FILES_PER_SLOT)

    def for_size(self, size: int) -> asyncio.Semaphore:
        """The semaphore a file of ``size`` bytes (as listed) must hold while it moves."""
        return self.small if size <= PIPELINED_FILE else self.large
