// The overview's four cards and three charts (Chart.js, shipped locally as a classic script: window.Chart),
// drawn for all connections (Overview view) or one (the integration page's Overview tab), in the colours of
// the current theme and drawn again when it changes.
import { themeColor } from "./theme.js";

const COLORS = { ok: "#2f9e44", fail: "#e03131", down: "#1c7ed6", up: "#f08c00" };
const STACKED = { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } };

export function formatBytes(bytes) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
  const digits = unit && !Number.isInteger(value) ? 1 : 0; // 2 KB, 2.5 KB, 999 B: never "1.0 KB" nor "0.4 B"
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** Whether the overview counts any transfer (else the charts are replaced by a sentence saying so). */
export function hasTransfers(overview) {
  return overview.total_requests > 0;
}

/** The four card values of an overview: requests, success rate, downloads / uploads, bytes down / up. */
export function cardValues(overview) {
  return {
    total: String(overview.total_requests),
    rate: overview.success_rate === null ? "–" : `${(overview.success_rate * 100).toFixed(1)} %`,
    types: `${overview.downloads} / ${overview.uploads}`,
    volume: `${formatBytes(overview.bytes_down)} / ${formatBytes(overview.bytes_up)}`,
  };
}

function options(scales) {
  return { animation: false, responsive: true, maintainAspectRatio: false, scales };
}

/** The three charts' Chart.js configurations for an overview. */
export function chartConfigs(overview) {
  const byType = overview.by_type_status;
  const days = overview.per_day.map((point) => point.day.slice(5));
  const series = (name) => overview.per_day.map((point) => point[name]);
  return {
    types: { type: "bar", options: options(STACKED), data: { labels: ["Downloads", "Uploads"], datasets: [
      { label: "Success", data: [byType.download.succeeded, byType.upload.succeeded], backgroundColor: COLORS.ok },
      { label: "Fail", data: [byType.download.failed, byType.upload.failed], backgroundColor: COLORS.fail },
    ] } },
    requests: { type: "bar", options: options(STACKED), data: { labels: days, datasets: [
      { label: "Success", data: series("succeeded"), backgroundColor: COLORS.ok },
      { label: "Fail", data: series("failed"), backgroundColor: COLORS.fail },
    ] } },
    volume: { type: "line", data: { labels: days, datasets: [
      { label: "Downloaded", data: series("bytes_down"), borderColor: COLORS.down, tension: 0.2 },
      { label: "Uploaded", data: series("bytes_up"), borderColor: COLORS.up, tension: 0.2 },
    ] }, options: options({ y: { beginAtZero: true, ticks: { precision: 0, callback: (value) => formatBytes(value) } } }) },
  };
}

const shown = new Map(); // drawn -> {canvases, overview}: what to draw again when the theme changes

/**
 * Draw the three charts of an overview on the given canvases ({types, requests, volume}), replacing the
 * charts drawn before in ``drawn`` (an object this function keeps them in).
 */
export function drawCharts(canvases, overview, drawn) {
  window.Chart.defaults.color = themeColor("--muted");
  window.Chart.defaults.borderColor = themeColor("--border");
  window.Chart.defaults.font.family = themeColor("--font");
  for (const [name, config] of Object.entries(chartConfigs(overview))) {
    if (drawn[name]) { drawn[name].destroy(); }
    drawn[name] = new window.Chart(canvases[name], config);
  }
  shown.set(drawn, { canvases, overview });
}

/** Remove the charts in ``drawn`` (an error or an empty range replaces them). */
export function clearCharts(drawn) {
  for (const name of Object.keys(drawn)) { drawn[name].destroy(); delete drawn[name]; }
  shown.delete(drawn);
}

globalThis.document?.addEventListener("themechange", () => {
  for (const [drawn, { canvases, overview }] of [...shown]) {
    if (Object.values(canvases).every((canvas) => canvas.isConnected)) {
      drawCharts(canvases, overview, drawn);
    } else {
      shown.delete(drawn);
    }
  }
});
