from __future__ import annotations

import logging
import re
import time

import pytest

from airflow_provider_actito_sftp.transfer.progress import Progress


def test_progress_lines_carry_bytes_percent_and_rate_at_a_steady_interval(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, logger="airflow_provider_actito_sftp.transfer.progress")
    progress = Progress("download inbound/big.csv.pgp", total=10_000_000, interval=0.05)
    for _ in range(10):
        time.sleep(0.02)
        progress.advance(1_000_000)
    progress.finish()
    lines = [record.getMessage() for record in caplog.records]
    periodic = [line for line in lines if "%" in line]
    assert 2 <= len(periodic) <= 6  # every ~0.05 s over ~0.2 s, not once per chunk
    assert re.fullmatch(
        r"download inbound/big\.csv\.pgp: \d+ of 10000000 bytes \(\d+\.\d%\) at \d+\.\d MB/s", periodic[0]
    )
    assert re.fullmatch(
        r"download inbound/big\.csv\.pgp: done, 10000000 bytes in \d+\.\d\d s \(\d+\.\d MB/s\)", lines[-1]
    )


def test_unknown_total_omits_percent(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, logger="airflow_provider_actito_sftp.transfer.progress")
    progress = Progress("upload outbound/stream.csv", total=None, interval=0.0)
    progress.advance(5)
    assert caplog.records[0].getMessage().startswith("upload outbound/stream.csv: 5 bytes at ")


def test_a_short_quiet_transfer_logs_no_final_line(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, logger="airflow_provider_actito_sftp.transfer.progress")
    progress = Progress("download inbound/small.csv", total=4096)
    progress.advance(4096)
    progress.finish()  # well under a second: the file's outcome line is enough
    assert caplog.records == []
