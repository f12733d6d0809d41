// The instruments every training page shares: Step batch / Step epoch, the layers' health
// chips that each epoch brings, and the backprop inspector (per-layer histograms of the next
// batch and the gradient check). A page opts in by rendering `c.instruments()`; `dashboard()`
// calls `instruments()`. Also the diverging-colour unit images that pages draw.

import { $, bpnet } from "./state.js";
import { request, socket } from "./connection.js";
import { refused } from "./form.js";
import { baseLayout, emptyLayout, fmt, newPlot } from "./plots.js";

const HISTOGRAMS = [
  ["activation", "activations", "#1f77b4"],
  ["activation_grad", "dL/d(activation)", "#ff7f0e"],
  ["weight", "weights", "#2ca02c"],
  ["weight_grad", "dL/dW", "#d62728"],
  ["update", "Δw, the next update", "#9467bd"],
];
const CONTROLS = ["#step-batch", "#step-epoch", "#inspect", "#gradcheck"];
const SMALL = { displayModeBar: false, responsive: true }; // no toolbar over a small plot
let inspected = false; // re-inspect after every step once the learner has looked

function refreshButtons() {
  const paused = socket.connected && bpnet.state === "paused";
  for (const id of CONTROLS) if ($(id)) $(id).disabled = !paused;
}

const current = (event) => event.job === bpnet.jobId;

async function step(unit) {
  refused(await request("step", { unit }));
}

/** Bars at the bin centres, as wide as the bins. */
function bars(histogram, colour) {
  const { edges, counts } = histogram;
  const x = counts.map((_, i) => (edges[i] + edges[i + 1]) / 2);
  const width = counts.map((_, i) => edges[i + 1] - edges[i]);
  return { type: "bar", x, y: counts, width, marker: { color: colour }, hovertemplate: "%{x:.3g}: %{y}<extra></extra>" };
}

function histogramLayout(title, histogram) {
  const note = histogram.sampled ? ` (sample of ${histogram.total.toLocaleString("en")})` : "";
  return baseLayout({
    margin: { l: 40, r: 6, t: 22, b: 28 },
    title: { text: title + note, font: { size: 11 }, x: 0.02, y: 0.98 },
    bargap: 0, showlegend: false, xaxis: { tickformat: ".2~g", nticks: 4 },
  });
}

const share = (value) => (value === null || value === undefined ? null : `${(100 * value).toFixed(0)}%`);

async function inspect() {
  const ack = await request("inspect", { layer: Number($("#inspect-layer").value) });
  if (refused(ack)) return;
  inspected = true;
  bpnet.inspection = ack;
  const report = ack.layers[0];
  for (const [key, title, colour] of HISTOGRAMS) {
    const histogram = report.histograms[key];
    Plotly.react(`histogram-${key}`, [bars(histogram, colour)], histogramLayout(title, histogram), SMALL);
  }
  const figures = [
    ack.batch ? `epoch ${ack.epoch}, batch ${ack.batch}/${ack.batches}` : `before epoch ${ack.epoch}`,
    `batch loss ${fmt(ack.loss)}`,
    `‖Δw‖/‖w‖ ${fmt(report.update_ratio)} (healthy near 1e-3)`,
  ];
  if (share(report.dead_relu)) figures.push(`dead ReLUs ${share(report.dead_relu)}`);
  if (share(report.saturated)) figures.push(`saturated ${share(report.saturated)}`);
  $("#inspect-figures").textContent = figures.join(" · ");
}

async function gradcheck() {
  const layer = Number($("#inspect-layer").value);
  const ack = await request("gradcheck", { layer, k: Number($("#gradcheck-k").value) });
  if (refused(ack)) return;
  bpnet.gradcheck = ack;
  const rows = ack.checks.map((check) => {
    const row = document.createElement("tr");
    const cells = [`W[${check.index.join(", ")}]`, check.backprop.toExponential(8),
      check.numerical.toExponential(8), check.relative_error.toExponential(1)];
    for (const text of cells) row.append(Object.assign(document.createElement("td"), { textContent: text }));
    row.lastChild.className = check.relative_error < 1e-6 ? "good" : "bad";
    return row;
  });
  $("#gradcheck-table tbody").replaceChildren(...rows);
  $("#gradcheck-table").hidden = $("#gradcheck-caption").hidden = false;
}

/** One chip per warning of the latest epoch: what is wrong, and what to try. */
function showHealth(epoch) {
  const chips = (epoch.warnings ?? []).map((warning) => {
    const chip = Object.assign(document.createElement("span"), { className: "chip" });
    chip.dataset.kind = warning.kind;
    const advice = Object.assign(document.createElement("span"), { className: "advice", textContent: warning.advice });
    chip.append(Object.assign(document.createElement("strong"), { textContent: `⚠ ${warning.message} ` }), advice);
    return chip;
  });
  const key = JSON.stringify((epoch.warnings ?? []).map((w) => [w.layer, w.kind]));
  if ($("#health").dataset.key !== key) $("#health").replaceChildren(...chips);
  $("#health").dataset.key = key;
}

function onDataset(data) {
  if (!current(data)) return;
  inspected = false;
  const options = data.layers.map((name, i) => Object.assign(document.createElement("option"), { value: i, textContent: name }));
  $("#inspect-layer").replaceChildren(...options);
  $("#health").replaceChildren();
  $("#gradcheck-table").hidden = $("#gradcheck-caption").hidden = true;
  $("#inspect-figures").textContent = "";
}

function onStatus(status) {
  refreshButtons();
  if (current(status) && status.state === "paused" && inspected && $("#inspector").open) inspect();
}

function onProgress(update) {
  if (!current(update)) return;
  $("#step-position").textContent = `epoch ${update.epoch}, batch ${update.batch}/${update.batches}`
    + ` · train loss ${fmt(update.train_loss)}`;
}

/** Wire the step buttons and, when the page has them, the health chips and the inspector. */
export function instruments() {
  $("#step-batch").addEventListener("click", () => step("batch"));
  $("#step-epoch").addEventListener("click", () => step("epoch"));
  for (const event of ["connect", "disconnect"]) socket.on(event, refreshButtons);
  socket.on("status", onStatus);
  socket.on("progress", onProgress);
  socket.on("dataset", (data) => current(data) && ($("#step-position").textContent = ""));
  refreshButtons();
  if (!$("#inspector")) return;
  $("#histograms").replaceChildren(...HISTOGRAMS.map(([key]) =>
    Object.assign(document.createElement("div"), { id: `histogram-${key}`, className: "plot" })));
  for (const [key, title] of HISTOGRAMS) newPlot(`histogram-${key}`, [], emptyLayout(`${title}: press Inspect while paused`));
  $("#inspect").addEventListener("click", inspect);
  $("#gradcheck").addEventListener("click", gradcheck);
  $("#inspect-layer").addEventListener("change", () => inspected && inspect());
  socket.on("dataset", onDataset);
  socket.on("epoch", (epoch) => current(epoch) && showHealth(epoch));
}

/** Diverging colours: blue below 0, white at 0, red above, saturating at ±scale. */
function diverging(value, scale) {
  const t = Math.max(-1, Math.min(1, value / (scale || 1)));
  const fade = Math.round(255 * (1 - Math.abs(t)));
  return t >= 0 ? [255, fade, fade] : [fade, fade, 255];
}

/** Draw each 2-D array of `images` as a small canvas with a label, on one colour scale. */
export function unitImages(container, images, scale, labels) {
  const figures = images.map((rows, k) => {
    const canvas = document.createElement("canvas");
    [canvas.height, canvas.width] = [rows.length, rows[0].length];
    const context = canvas.getContext("2d");
    const image = context.createImageData(canvas.width, canvas.height);
    rows.flat().forEach((value, i) => image.data.set([...diverging(value, scale), 255], 4 * i));
    context.putImageData(image, 0, 0);
    const figure = document.createElement("figure");
    figure.append(canvas, Object.assign(document.createElement("figcaption"), { textContent: labels[k] }));
    return figure;
  });
  container.replaceChildren(...figures);
}
