// What every training page shares: the job's life cycle (Start / Pause / Stop and their
// acknowledgements, the status line, the connection indicator) and the loss and
// gradient-norm plots. A page calls `dashboard({...})` with its own drawing; epochs are
// queued as they arrive and drawn once per animation frame. The page remembers its job
// (sessionStorage) and attaches to it again after a reload or a reconnect; settings,
// time travel, pinned runs and "Show code" live in their own modules, wired here.

import { $, ACTIVE, bpnet } from "./state.js";
import { request, socket } from "./connection.js";
import { fieldInputs, form, readConfig, refused, showBanner, watchExpression } from "./form.js";
import { instruments } from "./inspector.js";
import {
  LAYER_COLOURS, LOG_AXIS, baseLayout, decadeRange, emptyLayout, epochAxis, fmt, line, newPlot, waitingLayout,
} from "./plots.js";
import { TimeTravel } from "./runs.js";
import { addControls, drawLossChart, lossAxis, restoreForm, runTools } from "./run_tools.js";
import { fillForm, formValues, saveSettings } from "./settings.js";

// The pages import these from here; the modules above hold them by concept.
export { $ } from "./state.js";
export {
  TRAIN, VAL, baseLayout, emptyLayout, epochAxis, fmt, line, newPlot, paddedRange, waitingLayout,
} from "./plots.js";

let page = null; // the handlers given to dashboard()
let layers = [];
let startPending = false; // between pressing Start and its acknowledgement
let jobBefore = null; // the job that the pending Start replaces
let queue = []; // epochs not drawn yet
let progress = null; // the latest progress not drawn yet
let scheduled = false;
let live = null; // after a live change, {momentum}: the note then shows the lr each epoch reports
let settle = {}; // plot id -> the layout it takes when the first epoch arrives
let norms = [Infinity, 0]; // smallest and largest gradient norm of the job so far
let normAxis = ""; // the gradient plot's y range as last set, to relayout only on a change
let trainDrawn = 0; // the last epoch on the training-loss line
let attaching = null; // the job id an `attach` is on its way for
let early = []; // its events that came before the answer
let travel = null; // the time-travel slider (runs.js)
const jobKey = () => `bpnet.job.${page.task}`;

/** The status message without saying the state twice: "stopped — after epoch 12". */
function detail(state, message) {
  if (message === state || (state === "running" && message === "training")) return "";
  return message.startsWith(`${state} `) ? message.slice(state.length + 1) : message;
}

function setState(state, message = "") {
  bpnet.state = state;
  $("#state").textContent = state;
  const shown = detail(state, message);
  $("#status-message").textContent = shown ? `— ${shown}` : "";
  if (state === "failed") showBanner("#error", message || "Training failed.");
  if (!ACTIVE.has(state) && state !== "starting") showLive(null); // the run is over
  updateButtons();
}

const liveMomentum = () => (live?.momentum == null ? "" : `, momentum ${fmt(live.momentum)}`);

/** The live note: what a live change set, then the lr the job reports each epoch. */
function showLive(text) {
  if (text === null) live = null;
  $("#live").textContent = text ?? "";
}

function updateButtons() {
  const online = socket.connected;
  const active = ACTIVE.has(bpnet.state);
  $("#start").disabled = !online || bpnet.state === "starting";
  $("#pause").disabled = !online || !active;
  $("#stop").disabled = !online || !(active || bpnet.state === "queued");
  $("#pause").textContent = bpnet.state === "paused" ? "Resume" : "Pause";
  const download = $("#download");
  download.hidden = !bpnet.jobId || !["running", "paused", "finished", "stopped"].includes(bpnet.state);
  if (!download.hidden) download.href = `/jobs/${bpnet.jobId}/weights.npz`;
  const csv = $("#download-history");
  csv.hidden = download.hidden;
  if (!csv.hidden) csv.href = `/jobs/${bpnet.jobId}/history.csv`;
  $("#pin").disabled = !bpnet.jobId || !["finished", "stopped"].includes(bpnet.state) || !trainDrawn;
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
  saveSettings(form, page.task);
  const settings = formValues(form);
  const ack = await request("start", config);
  startPending = false;
  const answerLost = !ack.ok && bpnet.jobId !== jobBefore; // yet the new job's events came
  if (!answerLost && refused(ack)) return setState(stateBefore);
  if (ack.ok) bpnet.jobId = ack.job;
  bpnet.settings = settings; // what the run was started with, for a pin's label
  sessionStorage.setItem(jobKey(), bpnet.jobId);
  // a job that waits for a free worker (class mode) says so until its worker takes it
  if (bpnet.state === "starting") setState(ack.state ?? "running", ack.message ?? "");
  // On a phone the controls sit above the plots: bring the plots into view. At once, not
  // smoothly: a smooth scroll is cancelled when the plots redraw during it (seen on CI).
  if (ack.ok && matchMedia("(max-width: 900px)").matches) $(".plots").scrollIntoView();
}

/** Learning rate and momentum take effect at once while a job runs. */
async function updateLive(event) {
  const input = event.target;
  if (!ACTIVE.has(bpnet.state) || input.value.trim() === "" || input.validity.badInput) return;
  const ack = await request("update", { [input.name]: Number(input.value) });
  if (refused(ack)) return;
  live = { momentum: $("#momentum").disabled ? null : ack.momentum }; // adam has none
  showLive(`Changed to lr ${fmt(ack.lr)}${liveMomentum()} from the next step.`);
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

/** After a reconnect or a reload, take the job over again (the server keeps it for a grace
 *  period); the answer holds everything it did meanwhile, so the page redraws it all. */
async function reattach(reloaded) {
  const id = bpnet.jobId ?? sessionStorage.getItem(jobKey());
  if (!id) return;
  attaching = id;
  early = [];
  const ack = await request("attach", { job: id });
  attaching = null;
  if (ack.ok) {
    adopt(ack);
    showBanner("#notice", reloaded ? "" : `Reconnected. The job is ${ack.state}.`);
  } else {
    sessionStorage.removeItem(jobKey());
    const status = await request("status", { job: id });
    if (ACTIVE.has(bpnet.state) || status.ok && status.job === id) {
      if (status.ok && status.job === id && status.state !== "idle") setState(status.state, status.message);
      else if (ACTIVE.has(bpnet.state)) setState("stopped");
      showBanner("#notice", `The job you were watching has ended on the server (${status.message || ack.error}).`);
    }
  }
  const waiting = early;
  early = [];
  for (const [handler, event] of waiting) handler(event);
}

/** Redraw a job from an `attach` answer as if the page had been there all along. */
function adopt(ack) {
  bpnet.jobId = ack.job;
  sessionStorage.setItem(jobKey(), ack.job);
  fillForm(form, ack.config);
  saveSettings(form, page.task);
  bpnet.settings = formValues(form);
  if (ack.dataset) onDataset({ ...ack.dataset, job: ack.job });
  for (const event of replay(ack)) onEpoch(event);
  flush();
  setState(ack.state, ack.message);
}

/** The answer's history as the epoch events the page would have received: one per
 *  evaluated epoch, carrying the epochs since the previous one; the latest has the picture. */
function replay({ job, config, history, picture }) {
  const events = [];
  let batch = { epoch: [], train_loss: [], lr: [] };
  history.epoch.forEach((epoch, i) => {
    for (const key of ["epoch", "train_loss", "lr"]) batch[key].push(history[key][i]);
    if (history.val_loss[i] === null) return;
    const event = { job, epoch, epochs: config.epochs, train_loss: history.train_loss[i], lr: history.lr[i],
      val_loss: history.val_loss[i], grad_norms: history.grad_norms[i], elapsed: 0, history: batch };
    if (history.val_accuracy[i] !== null) event.val_accuracy = history.val_accuracy[i];
    if (picture?.epoch === epoch) Object.assign(event, picture, { history: batch });
    events.push(event);
    batch = { epoch: [], train_loss: [], lr: [] };
  });
  if (batch.epoch.length) events.push({ job, history: batch }); // trained, not yet evaluated
  return events;
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
  const items = queue;
  queue = [];
  const batch = items.filter((e) => e.val_loss !== undefined); // epoch events; the rest carry losses only
  // every epoch's training loss, from the history each event carries (a repeat is skipped)
  const train = { x: [], y: [] };
  for (const { history } of items) {
    history?.epoch.forEach((epoch, i) => {
      if (epoch <= trainDrawn) return;
      train.x.push(epoch);
      train.y.push(history.train_loss[i]);
      trainDrawn = epoch;
    });
  }
  if (train.x.length || batch.length) {
    const x = batch.map((e) => e.epoch);
    Plotly.extendTraces("loss-plot", { x: [train.x, x], y: [train.y, batch.map((e) => e.val_loss)] }, [0, 1]);
  }
  if (batch.length) {
    for (const [id, layout] of Object.entries(settle)) {
      Plotly.react(id, document.getElementById(id).data, layout()); // axes, now that there is data
    }
    settle = {};
    const x = batch.map((e) => e.epoch);
    const traces = layers.map((_, i) => i);
    const batchNorms = traces.map((i) => batch.map((e) => e.grad_norms[i]));
    if (traces.length) Plotly.extendTraces("grad-plot", { x: traces.map(() => x), y: batchNorms }, traces);
    fitNormAxis(batchNorms.flat());
    const last = batch.at(-1);
    $("#loss-values").textContent = `epoch ${last.epoch}/${last.epochs} · train ${fmt(last.train_loss)}`
      + ` · val ${fmt(last.val_loss)} · lr ${fmt(last.lr)}`;
    if (last.elapsed) $("#elapsed").textContent = `${last.elapsed.toFixed(1)} s`;
    if (live) showLive(`Now training with lr ${fmt(last.lr)}${liveMomentum()}.`);
    page.onEpochs?.(batch);
    const pictured = batch.filter((e) => page.hasPicture?.(e) ?? true).at(-1);
    if (pictured && travel.live) page.drawPicture?.(pictured); // a page without it draws in onEpochs
  }
  if (items.length) updateButtons();
  if (progress) page.onProgress?.(progress);
  progress = null;
}

/** Keep the gradient plot's log axis at least a decade tall (see decadeRange). */
function fitNormAxis(values) {
  for (const v of values) if (v > 0 && Number.isFinite(v)) norms = [Math.min(norms[0], v), Math.max(norms[1], v)];
  const range = decadeRange(...norms);
  if (JSON.stringify(range ?? "auto") === normAxis) return;
  normAxis = JSON.stringify(range ?? "auto");
  Plotly.relayout("grad-plot", range ? { "yaxis.range": range } : { "yaxis.autorange": true });
}

/** Does the event belong to the job on screen? A new job's first events may come before the
 *  start acknowledgement; while that is awaited, an event of any job but the old one adopts it. */
function isCurrent(event) {
  if (startPending && event.job !== jobBefore) bpnet.jobId = event.job;
  return event.job === bpnet.jobId;
}

function onDataset(data) {
  if (!isCurrent(data)) return;
  Object.assign(bpnet, { jobId: data.job, epochs: [], lastEpoch: null, config: data.config });
  [queue, progress, layers, trainDrawn] = [[], null, data.layers, 0];
  sessionStorage.setItem(jobKey(), data.job);
  travel.reset();
  const epochs = data.config.epochs;
  const mode = epochs <= 60 ? "lines+markers" : "lines";
  drawLossChart(epochs);
  const gradTraces = layers.map((name, i) => line(name, LAYER_COLOURS[i % LAYER_COLOURS.length], mode));
  Plotly.react("grad-plot", gradTraces, waitingLayout());
  [norms, normAxis] = [[Infinity, 0], ""];
  settle = {
    "loss-plot": () => baseLayout({ xaxis: epochAxis(epochs), yaxis: lossAxis() }),
    // 3 ticks: its range is often 1-2 decades, where 4 would label every digit
    "grad-plot": () => baseLayout({ xaxis: epochAxis(epochs), yaxis: { ...LOG_AXIS, nticks: 3 } }),
  };
  $("#loss-values").textContent = "waiting for the first epoch…";
  $("#elapsed").textContent = "";
  showLive(null);
  page.onDataset(data);
}

function onEpoch(epoch) {
  if (attaching === epoch.job) return early.push([onEpoch, epoch]);
  if (!isCurrent(epoch)) return;
  queue.push(epoch);
  schedule();
  if (epoch.epoch === undefined) return; // epochs trained since the last evaluation
  bpnet.epochs.push(epoch.epoch);
  bpnet.lastEpoch = epoch;
  if (progress?.epoch <= epoch.epoch) progress = null; // that epoch is over
  travel.record(epoch);
}

function onProgress(update) {
  if (!isCurrent(update)) return;
  progress = update;
  schedule();
}

function onStatus(status) {
  if (attaching === status.job) return early.push([onStatus, status]);
  if (!isCurrent(status)) return;
  if (status.history) queue.push({ history: status.history }); // a stopped job's last epochs
  schedule();
  setState(status.state, status.message);
}

/** A server event's handler that cannot take the connection down: socket.io's client
 * treats an exception thrown in a listener as a broken connection and reconnects, which
 * would end the job. The page's own error is shown as one, and the connection stays. */
function safely(name, handler) {
  return (payload) => {
    try {
      handler(payload);
    } catch (error) {
      console.error(error);
      showBanner("#error", `The page could not show the server's "${name}" event: ${error.message}`);
    }
  };
}

/** Another tab or window attached to this tab's job: it is shown there now. */
function onDetached(event) {
  if (event.job !== bpnet.jobId) return;
  sessionStorage.removeItem(jobKey());
  bpnet.jobId = null;
  setState("idle", "");
  showBanner("#notice", `${event.message[0].toUpperCase()}${event.message.slice(1)}. Press Start to train here.`);
}

/** Wire a page: `handlers` = {task, mainPlot (the id the time-travel slider goes under),
 *  onDataset(data), drawPicture(epoch event), hasPicture(epoch event), onEpochs(batch) for
 *  other per-epoch charts, onProgress(update), and optionally pinPicture(event) -> what a pin
 *  keeps of the final picture, onPins() when pins change, extendConfig(config) for fields
 *  that are not plain inputs}. */
export function dashboard(handlers) {
  page = handlers;
  addControls();
  travel = new TimeTravel(page, "loss-plot");
  newPlot("loss-plot", [], emptyLayout());
  newPlot("grad-plot", [], emptyLayout());
  runTools(page, travel);
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
  restoreForm();

  let connectedBefore = false;
  socket.on("connect", () => {
    setConnection("connected");
    reattach(!connectedBefore);
    connectedBefore = true;
  });
  socket.on("disconnect", () => setConnection(socket.active ? "reconnecting" : "disconnected"));
  socket.on("connect_error", () => setConnection(socket.active ? "reconnecting" : "disconnected"));
  socket.on("dataset", safely("dataset", onDataset));
  socket.on("epoch", safely("epoch", onEpoch));
  socket.on("progress", safely("progress", onProgress));
  socket.on("status", safely("status", onStatus));
  socket.on("detached", safely("detached", onDetached));
  updateButtons();
  instruments(); // after the handlers above, so that it sees the state they set
}
