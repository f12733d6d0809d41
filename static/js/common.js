// What every training page shares: the job's life cycle (Start / Pause / Stop and their
// acknowledgements, the status line, the connection indicator) and the loss and
// gradient-norm plots. A page calls `dashboard({...})` with its own drawing; epochs are
// queued as they arrive and drawn once per animation frame.

import { $, ACTIVE, bpnet } from "./state.js";
import { request, socket } from "./connection.js";
import { fieldInputs, form, readConfig, refused, showBanner, watchExpression } from "./form.js";
import { instruments } from "./inspector.js";
import {
  LAYER_COLOURS, LINEAR_AXIS, LOG_AXIS, TRAIN, VAL, baseLayout, emptyLayout, epochAxis, fmt, line, newPlot,
} from "./plots.js";

// The pages import these from here; the modules above hold them by concept.
export { $ } from "./state.js";
export { TRAIN, VAL, baseLayout, emptyLayout, epochAxis, fmt, line, newPlot, paddedRange } from "./plots.js";

let page = null; // the handlers given to dashboard()
let layers = [];
let startPending = false; // between pressing Start and its acknowledgement
let jobBefore = null; // the job that the pending Start replaces
let queue = []; // epochs not drawn yet
let progress = null; // the latest progress not drawn yet
let scheduled = false;

const lossAxis = () => ($("#loss-log").checked ? LOG_AXIS : LINEAR_AXIS);

function setState(state, message = "") {
  bpnet.state = state;
  $("#state").textContent = state;
  $("#status-message").textContent = message ? `— ${message}` : "";
  if (state === "failed") showBanner("#error", message || "Training failed.");
  updateButtons();
}

function updateButtons() {
  const online = socket.connected;
  const active = ACTIVE.has(bpnet.state);
  $("#start").disabled = !online || bpnet.state === "starting";
  $("#pause").disabled = !online || !active;
  $("#stop").disabled = !online || !active;
  $("#pause").textContent = bpnet.state === "paused" ? "Resume" : "Pause";
  const download = $("#download");
  download.hidden = !bpnet.jobId || !["running", "paused", "finished", "stopped"].includes(bpnet.state);
  if (!download.hidden) download.href = `/jobs/${bpnet.jobId}/weights.npz`;
}

function setConnection(connection) {
  bpnet.connection = connection;
  $("#connection").className = `connection ${connection}`;
  $("#connection").textContent = connection === "reconnecting" ? "reconnecting…" : connection;
  updateButtons();
}

async function start() {
  form.querySelectorAll(".invalid").forEach((input) => input.classList.remove("invalid"));
  showBanner("#error", "");
  showBanner("#notice", "");
  const { config, ...problem } = readConfig(page.task);
  if (!config) return refused({ ok: false, ...problem });
  page.extendConfig?.(config); // fields that are not plain inputs (e.g. clicked points)
  bpnet.sentConfig = config;
  const stateBefore = bpnet.state;
  jobBefore = bpnet.jobId;
  startPending = true;
  setState("starting");
  const ack = await request("start", config);
  startPending = false;
  const answerLost = !ack.ok && bpnet.jobId !== jobBefore; // yet the new job's events came
  if (!answerLost && refused(ack)) return setState(stateBefore);
  if (ack.ok) bpnet.jobId = ack.job;
  if (bpnet.state === "starting") setState("running");
}

/** Learning rate and momentum take effect at once while a job runs. */
async function updateLive(event) {
  const input = event.target;
  if (!ACTIVE.has(bpnet.state) || input.value.trim() === "" || input.validity.badInput) return;
  const ack = await request("update", { [input.name]: Number(input.value) });
  if (refused(ack)) return;
  const momentum = $("#momentum").disabled ? "" : `, momentum ${fmt(ack.momentum)}`; // adam has none
  $("#live").textContent = `Now training with lr ${fmt(ack.lr)}${momentum}.`;
}

/** Show the momentum input only for the optimizers that take one (their option carries
 *  its default momentum), set to that default; otherwise it is disabled and not sent. */
function showMomentumFor(select) {
  const option = select.selectedOptions[0];
  const takes = option?.dataset.momentum !== undefined;
  $("#momentum").disabled = !takes;
  $("#momentum-field").hidden = !takes;
  $("#momentum").value = takes ? option.dataset.momentum : "";
}

/** After a reconnect the server may have ended the job: ask, and say so plainly. */
async function checkAfterReconnect() {
  const watched = bpnet.jobId;
  const ack = await request("status");
  if (refused(ack) || !watched) return;
  if (ack.job === watched) {
    setState(ack.state, ack.message);
    showBanner("#notice", `Reconnected. The job is ${ack.state}.`);
  } else if (ACTIVE.has(bpnet.state)) {
    setState("stopped");
    showBanner("#notice", "Reconnected, but the job you were watching has ended on the server: "
      + "it stops when the connection drops. Press Start to train again.");
  }
}

function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(flush);
  setTimeout(flush, 250); // hidden tabs get no animation frames
}

function flush() {
  if (!scheduled) return;
  scheduled = false;
  const batch = queue;
  queue = [];
  if (batch.length) {
    const x = batch.map((e) => e.epoch);
    const losses = [batch.map((e) => e.train_loss), batch.map((e) => e.val_loss)];
    Plotly.extendTraces("loss-plot", { x: [x, x], y: losses }, [0, 1]);
    const traces = layers.map((_, i) => i);
    const norms = traces.map((i) => batch.map((e) => e.grad_norms[i]));
    if (traces.length) Plotly.extendTraces("grad-plot", { x: traces.map(() => x), y: norms }, traces);
    const last = batch.at(-1);
    $("#loss-values").textContent = `epoch ${last.epoch}/${last.epochs} · train ${fmt(last.train_loss)}`
      + ` · val ${fmt(last.val_loss)} · lr ${fmt(last.lr)}`;
    $("#elapsed").textContent = `${last.elapsed.toFixed(1)} s`;
    page.onEpochs?.(batch);
  }
  if (progress) page.onProgress?.(progress);
  progress = null;
}

/** Does the event belong to the job on screen? A new job's first events may come before the
 *  start acknowledgement; while that is awaited, an event of any job but the old one adopts it. */
function isCurrent(event) {
  if (startPending && event.job !== jobBefore) bpnet.jobId = event.job;
  return event.job === bpnet.jobId;
}

function onDataset(data) {
  if (!isCurrent(data)) return;
  Object.assign(bpnet, { jobId: data.job, epochs: [], lastEpoch: null });
  [queue, progress, layers] = [[], null, data.layers];
  const epochs = data.config.epochs;
  const mode = epochs <= 60 ? "lines+markers" : "lines";
  const lossTraces = [line("training", TRAIN, mode), line("validation", VAL, mode)];
  Plotly.react("loss-plot", lossTraces, baseLayout({ xaxis: epochAxis(epochs), yaxis: lossAxis() }));
  const gradTraces = layers.map((name, i) => line(name, LAYER_COLOURS[i % LAYER_COLOURS.length], mode));
  Plotly.react("grad-plot", gradTraces, baseLayout({ xaxis: epochAxis(epochs), yaxis: LOG_AXIS }));
  $("#loss-values").textContent = "waiting for the first epoch…";
  $("#live").textContent = $("#elapsed").textContent = "";
  page.onDataset(data);
}

function onEpoch(epoch) {
  if (!isCurrent(epoch)) return;
  bpnet.epochs.push(epoch.epoch);
  bpnet.lastEpoch = epoch;
  if (progress?.epoch <= epoch.epoch) progress = null; // that epoch is over
  queue.push(epoch);
  schedule();
}

function onProgress(update) {
  if (!isCurrent(update)) return;
  progress = update;
  schedule();
}

function onStatus(status) {
  if (isCurrent(status)) setState(status.state, status.message);
}

/** Wire a page: `handlers` = {task, onDataset(data), onEpochs(batch), onProgress(update),
 *  extendConfig(config)}. */
export function dashboard(handlers) {
  page = handlers;
  newPlot("loss-plot", [], emptyLayout());
  newPlot("grad-plot", [], emptyLayout());
  $("#loss-log").addEventListener("change", () =>
    Plotly.relayout("loss-plot", { yaxis: { ...lossAxis(), autorange: true } }));
  $("#start").addEventListener("click", start); // a button, not submit: Enter in lr must not restart
  form.addEventListener("input", ({ target }) =>
    fieldInputs(target.dataset.field ?? "").forEach((input) => input.classList.remove("invalid")));
  $("#pause").addEventListener("click", async () =>
    refused(await request(bpnet.state === "paused" ? "resume" : "pause")));
  $("#stop").addEventListener("click", async () => refused(await request("stop")));
  $("#lr").addEventListener("change", updateLive);
  $("#momentum").addEventListener("change", updateLive);
  $("#optimizer").addEventListener("change", ({ target }) => showMomentumFor(target));
  $("#error").addEventListener("click", () => ($("#error").hidden = true));
  $("#notice").addEventListener("click", () => ($("#notice").hidden = true));
  if ($("#expression")) watchExpression($("#expression"), $("#preset"), page.task);

  let connectedBefore = false;
  socket.on("connect", () => {
    setConnection("connected");
    if (connectedBefore) checkAfterReconnect();
    connectedBefore = true;
  });
  socket.on("disconnect", () => setConnection(socket.active ? "reconnecting" : "disconnected"));
  socket.on("connect_error", () => setConnection(socket.active ? "reconnecting" : "disconnected"));
  socket.on("dataset", onDataset);
  socket.on("epoch", onEpoch);
  socket.on("progress", onProgress);
  socket.on("status", onStatus);
  updateButtons();
  instruments(); // after the handlers above, so that it sees the state they set
}
