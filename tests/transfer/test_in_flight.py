"""Small files get many more slots than large ones."""

from __future__ import annotations

import asyncio

from airflow_provider_actito_sftp.transfer.in_flight import PIPELINED_FILE, SMALL_FILES_PER_SLOT, FileSlots


def test_small_files_take_small_slots_and_large_files_large_ones():
    async def run() -> None:
        slots = FileSlots(2)
        assert slots.for_size(0) is slots.small
        assert slots.for_size(PIPELINED_FILE) is slots.small
        assert slots.for_size(PIPELINED_FILE + 1) is slots.large
        held = 0
        while not slots.small.locked():
            await slots.small.acquire()
            held += 1
        assert held == 2 * SMALL_FILES_PER_SLOT
        assert not slots.large.locked()  # small files never starve large ones of their slots

    asyncio.run(run())
