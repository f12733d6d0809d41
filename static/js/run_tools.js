// Runs a learner can keep, on every training page: the loss chart with pinned runs drawn
// beside the live one, "Pin this run", "Copy link", "Show code", the history CSV link, and
// the settings restored from a shared link or this browser's memory. common.js calls
// `addControls()` and `runTools()` when it wires a page, and `drawLossChart()` per job.

import { $, bpnet } from "./state.js";
import { request } from "./connection.js";
import { form, readConfig, refused, showBanner } from "./form.js";
import { LINEAR_AXIS, LOG_AXIS, TRAIN, VAL, baseLayout, epochAxis, line, waitingLayout } from "./plots.js";
import { codePanel } from "./code_panel.js";
import { Pins, pinTraces } from "./runs.js";
import { configValues, copyLink, difference, restoreSettings, saveSettings } from "./settings.js";

let page = null; // the handlers given to dashboard()
let travel = null; // the time-travel slider (runs.js)
let pins = null; // the pinned runs (runs.js)

export const lossAxis = () => ($("#loss-log").checked ? LOG_AXIS : LINEAR_AXIS);

/** Set the loss chart up for a run of `epochs` (none: no job yet), pinned runs beside it. */
export function drawLossChart(epochs) {
  const mode = epochs <= 60 ? "lines+markers" : "lines";
  const lossTraces = [line("training", TRAIN, mode), line("validation (evaluated at the picture rate)", VAL, mode)];
  const pinned = pinTraces(page.task, (pin) => difference(form, pin.settings));
  const xaxis = epochs ? epochAxis(epochs) : { title: { text: "epoch" }, rangemode: "tozero" };
  // Empty axes autorange to nonsense (-1…4): a note until the first epoch or a pin brings data.
  const layout = epochs && !pinned.length ? waitingLayout() : baseLayout({ xaxis, yaxis: lossAxis() });
  return Plotly.react("loss-plot", [...lossTraces, ...pinned], layout);
}

/** Pins changed: redraw their lines, keeping the live run's. */
function redrawPins() {
  const plot = $("#loss-plot");
  if (!plot.data || plot.data.length < 2) return drawLossChart(0);
  const count = plot.data.length;
  if (count > 2) Plotly.deleteTraces(plot, [...Array(count - 2).keys()].map((i) => i + 2));
  const pinned = pinTraces(page.task, (pin) => difference(form, pin.settings));
  if (pinned.length) Plotly.addTraces(plot, pinned);
  page.onPins?.();
}

function pinThisRun() {
  const plot = $("#loss-plot");
  const [train, val] = plot.data;
  const picture = travel.latest();
  const result = pins.add({
    id: bpnet.jobId, config: bpnet.config, settings: bpnet.settings ?? configValues(form, bpnet.config),
    train: { x: [...train.x], y: [...train.y] }, val: { x: [...val.x], y: [...val.y] },
    picture: picture && page.pinPicture ? page.pinPicture(picture) : null,
  });
  if (!result.ok) showBanner("#error", result.error);
}

/** The buttons and links this module adds to the page's controls. */
export function addControls() {
  const button = (id, text, title) => Object.assign(document.createElement("button"),
    { type: "button", id, textContent: text, title });
  const tools = document.createElement("div");
  tools.className = "tools";
  tools.append(
    button("copy-link", "Copy link", "a link that opens this page with these settings"),
    button("show-code", "Show code", "the Python script that reproduces these settings, in bpnet and PyTorch"),
    button("pin", "Pin this run", "keep this run's losses to compare with the next ones (up to 5)"),
  );
  $(".buttons").after(tools);
  const csv = Object.assign(document.createElement("a"),
    { id: "download-history", className: "download", textContent: "history (.csv)", hidden: true,
      title: "every epoch: train_loss, val_loss, val_accuracy, lr" });
  $("#download").after(csv);
}

/** Put the settings from the link (or this browser's memory) into the form and check them. */
export async function restoreForm() {
  const { problems, fromLink } = restoreSettings(form, page.task);
  saveSettings(form, page.task);
  $("#expression")?.dispatchEvent(new Event("input")); // the preset menu and the live check follow
  for (const problem of problems) refused({ ok: false, ...problem });
  if (!fromLink) return;
  const { config } = readConfig(page.task);
  const ack = config ? await request("validate", config) : { ok: true };
  if (!ack.ok && problems.length) ack.error = `${problems.map((p) => p.error).join(" ")} ${ack.error}`;
  refused(ack);
}

/** Wire the run tools of a page (`handlers` as given to dashboard, `timeTravel` its slider),
 *  after its loss chart exists. */
export function runTools(handlers, timeTravel) {
  [page, travel] = [handlers, timeTravel];
  pins = new Pins(page.task, (pin) => difference(form, pin.settings), redrawPins);
  if (pins.list.children.length) drawLossChart(0);
  form.addEventListener("change", () => {
    saveSettings(form, page.task);
    pins.relabel();
    if (pins.list.children.length) redrawPins();
  });
  $("#copy-link").addEventListener("click", () => copyLink(form, page.task, (text) => showBanner("#notice", text)));
  $("#pin").addEventListener("click", pinThisRun);
  codePanel($("#show-code"), () => {
    const { config, ...problem } = readConfig(page.task);
    return config ? request("code", config) : Promise.resolve({ ok: false, ...problem });
  }, refused);
  $("#loss-log").addEventListener("change", () => {
    // an empty chart keeps its note until the first epoch (see common.js's onDataset)
    if (bpnet.epochs.length || pins.list.children.length) {
      Plotly.relayout("loss-plot", { yaxis: { ...lossAxis(), autorange: true } });
    }
  });
}
