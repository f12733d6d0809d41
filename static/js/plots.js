// Plot helpers every page shares: colours, number formatting, the base layout and empty
// placeholders, the epoch axis, and trace constructors. Nothing here talks to the server.

import { bpnet } from "./state.js";

export const TRAIN = "#1f77b4";
export const VAL = "#ff7f0e";
export const LAYER_COLOURS = ["#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"];
const PLOT_CONFIG = { displaylogo: false, responsive: true };

/** A number for people: 4 significant digits, exponent form when tiny or huge. */
export function fmt(value) {
  if (typeof value !== "number" || Number.isNaN(value)) return "—";
  const size = Math.abs(value);
  if (size !== 0 && (size < 1e-3 || size >= 1e5)) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}

/** The layout every plot starts from; `extra` adds or overrides keys. */
export function baseLayout(extra = {}) {
  return {
    margin: { l: 52, r: 12, t: 8, b: 36 },
    font: { family: "system-ui, sans-serif", size: 11, color: "#333" },
    legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
    paper_bgcolor: "rgba(0,0,0,0)",
    uirevision: bpnet.jobId ?? "none", // keep the user's zoom until a new job starts
    ...extra,
  };
}

/** What a plot shows before the first job. */
export function emptyLayout(text = "press Start to train") {
  const font = { color: "#98a2b3", size: 13 };
  const note = { text, font, xref: "paper", yref: "paper", showarrow: false };
  return baseLayout({ xaxis: { visible: false }, yaxis: { visible: false }, annotations: [note] });
}

/** What a per-epoch plot shows between Start and the first epoch. */
export const waitingLayout = () => emptyLayout("waiting for the first epoch…");

/** The x axis of per-epoch plots: the whole run at once when it is short, else growing. */
export function epochAxis(epochs) {
  const title = { text: "epoch" };
  return epochs <= 20 ? { title, range: [0.5, epochs + 0.5], dtick: 1 } : { title, rangemode: "tozero" };
}

// Few ticks: Plotly would otherwise label 0.06, 0.07, 0.08, 0.09, 0.1, or 1, 2, 5 per decade.
export const LOG_AXIS = { type: "log", tickformat: "~g", nticks: 4 };

/** A log axis range (log10 units) at least 1.2 decades tall around the values' middle, so a
 *  narrow range still reads as logarithmic; undefined (autorange) when it is wider already.
 *  The middle is rounded to 0.1 decade so the axis does not move with every epoch. */
export function decadeRange(low, high) {
  if (!(low > 0) || !(high >= low)) return undefined;
  const [a, b] = [Math.log10(low), Math.log10(high)];
  if (b - a >= 1) return undefined;
  const middle = Math.round(5 * (a + b)) / 10;
  return [middle - 0.6, middle + 0.6];
}
export const LINEAR_AXIS = { type: "linear", rangemode: "tozero" }; // losses are ≥ 0

/** [min, max] of the finite values, widened on each side by `pad` times the span. */
export function paddedRange(values, pad = 0.15) {
  let [low, high] = [Infinity, -Infinity];
  for (const v of values) if (Number.isFinite(v)) [low, high] = [Math.min(low, v), Math.max(high, v)];
  const margin = pad * (high - low || 1);
  return low <= high ? [low - margin, high + margin] : undefined; // undefined: autorange
}

export const newPlot = (id, traces, layout) => Plotly.newPlot(id, traces, layout, PLOT_CONFIG);

/** An empty line trace, grown with Plotly.extendTraces. */
export const line = (name, color, mode = "lines") => ({
  x: [], y: [], name, mode, line: { color, width: 2 }, marker: { color, size: 5 },
});
