from __future__ import annotations

import logging
import re
import time

import pytest

from airflow_provider_actito_sftp.transfer.progress import Progress, run_summary


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


def test_the_run_summary_says_files_bytes_time_rate_and_what_did_not_move():
    line = run_summary("imported", 12, 3_000_000, 1_000_000, 1.5, refused=1, failed=0, skipped=2)
    assert line == (
        "run summary: imported 12 file(s), 3000000 bytes (1000000 on the server) in 1.50 s (2.0 MB/s); "
        "refused 1, failed 0, skipped 2"
    )
    assert "(0.0 MB/s)" in run_summary("exported", 0, 0, 0, 0.0, refused=0, failed=0)  # nothing moved: no error
