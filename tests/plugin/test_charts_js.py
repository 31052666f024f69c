"""The overview's chart helpers (plugin/static/charts.js) run by Node: byte labels and integer axis ticks."""

from __future__ import annotations

from tests.support.browser import node_json

SCRIPT = """
import { chartConfigs, formatBytes, hasTransfers } from "%(static)s/charts.js";
const day = (bytes) => ({ day: "2026-11-29", succeeded: 1, failed: 0, bytes_down: bytes, bytes_up: 0 });
const overview = { total_requests: 1, by_type_status: { download: { succeeded: 1, failed: 0 },
  upload: { succeeded: 0, failed: 0 } }, per_day: [day(0), day(1500)] };
const volume = chartConfigs(overview).volume.options.scales.y.ticks;
const requests = chartConfigs(overview).requests.options.scales.y.ticks;
console.log(JSON.stringify({
  labels: [0, 1, 999, 1000, 1500, 2000000, 2500000].map(formatBytes),
  volume_precision: volume.precision,
  volume_ticks: [0, 500, 1000, 1500].map((value) => volume.callback(value)),
  requests_precision: requests.precision,
  transfers: [hasTransfers(overview), hasTransfers({ total_requests: 0 })],
}));
"""


def test_byte_labels_and_integer_ticks():
    shown = node_json(SCRIPT)
    # never "1.0 KB" nor a fraction of a byte ("0.4 B" made the empty chart read "1 B, 1 B, 1 B, 0 B")
    assert shown["labels"] == ["0 B", "1 B", "999 B", "1 KB", "1.5 KB", "2 MB", "2.5 MB"]
    assert shown["volume_precision"] == 0  # whole bytes only
    assert shown["volume_ticks"] == ["0 B", "500 B", "1 KB", "1.5 KB"]
    assert shown["requests_precision"] == 0
    assert shown["transfers"] == [True, False]
