// What every training page shares: the Socket.IO connection and its indicator, the Start /
// Pause / Stop buttons and their acknowledgements, the error banner, and the loss and
// gradient-norm plots. A page calls `dashboard({...})` with its own drawing; epochs are
// queued as they arrive and drawn once per animation frame.

export const TRAIN = "#1f77b4";
export const VAL = "#ff7f0e";
const LAYER_COLOURS = ["#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"];
const ACTIVE = new Set(["running", "paused"]);
const ACK_TIMEOUT_MS = 10000;
const PLOT_CONFIG = { displaylogo: false, responsive: true };

export const $ = (selector) => document.querySelector(selector);

// Read by the browser tests: state, job id, the epoch numbers received, the last epoch event.
const bpnet = { state: "idle", jobId: null, epochs: [], lastEpoch: null, connection: "connecting" };
window.bpnet = bpnet;

const socket = io({ transports: ["websocket", "polling"], tryAllTransports: true });
const form = $("#config");
let page = null; // the handlers given to dashboard()
let layers = [];
let startPending = false; // between pressing Start and its acknowledgement
let jobBefore = null; // the job that the pending Start replaces
let queue = []; // epochs not drawn yet
let progress = null; // the latest progress not drawn yet
let scheduled = false;

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

/** The x axis of per-epoch plots: the whole run at once when it is short, else growing. */
export function epochAxis(epochs) {
  const title = { text: "epoch" };
  return epochs <= 20 ? { title, range: [0.5, epochs + 0.5], dtick: 1 } : { title, rangemode: "tozero" };
}

const LOG_AXIS = { type: "log", tickformat: "~g" };
const LINEAR_AXIS = { type: "linear", rangemode: "tozero" }; // losses are ≥ 0
const lossAxis = () => ($("#loss-log").checked ? LOG_AXIS : LINEAR_AXIS);

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

/** Send an event and wait for its acknowledgement; no answer counts as a refusal. */
function request(event, payload) {
  const args = payload === undefined ? [] : [payload]; // status, pause, … carry no payload
  const silence = { ok: false, field: null, error: `No answer from the server to "${event}".` };
  return new Promise((resolve) => {
    const answer = (err, ack) => resolve(err || !ack ? silence : ack);
    socket.timeout(ACK_TIMEOUT_MS).emit(event, ...args, answer);
  });
}

/** The inputs of a config field; "x_range" is the min/max pair, "hidden[1]" is hidden. */
function fieldInputs(field) {
  return form.querySelectorAll(`[data-field="${CSS.escape(field.split(/[.[]/)[0])}"]`);
}

function showBanner(id, message) {
  $(id).textContent = message || "";
  $(id).hidden = !message;
}

/** Show a refused acknowledgement and mark its field; true when it was refused. */
function refused(ack) {
  if (ack.ok) return false;
  showBanner("#error", ack.error || "The server refused the request.");
  if (ack.field) fieldInputs(ack.field).forEach((input) => input.classList.add("invalid"));
  return true;
}

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

const PARSERS = {
  float: Number,
  int: Number,
  text: (text) => text,
  // "64,64" or "64 64"; anything else goes as typed, so that the server's message names the problem.
  ints: (text) => (/^\d+([\s,]+\d+)*$/.test(text) ? text.split(/[\s,]+/).map(Number) : text),
};

/** The form as a start payload: blank fields left out (the server's defaults apply). */
function readConfig() {
  const config = { task: page.task };
  for (const input of form.querySelectorAll("[data-field]")) {
    const { field, index, kind } = input.dataset;
    if (input.disabled) continue; // e.g. momentum, for an optimizer without one
    if (input.validity.badInput) return { field, error: `"${input.name}" is not a number.` };
    const text = input.value.trim();
    if (text === "") continue;
    if (index === undefined) config[field] = PARSERS[kind](text);
    else (config[field] ??= [null, null])[Number(index)] = PARSERS[kind](text);
  }
  return { config };
}

async function start() {
  form.querySelectorAll(".invalid").forEach((input) => input.classList.remove("invalid"));
  showBanner("#error", "");
  showBanner("#notice", "");
  const { config, ...problem } = readConfig();
  if (!config) return refused({ ok: false, ...problem });
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
  $("#live").textContent = `Now training with lr ${fmt(ack.lr)}, momentum ${fmt(ack.momentum)}.`;
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

/** Ask the server about the expression ~250 ms after the last key; show its answer below. */
function watchExpression(input, preset) {
  let timer = null;
  let asked = 0;
  const check = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const question = ++asked;
      const ack = await request("validate", { task: page.task, expression: input.value });
      if (question !== asked) return; // a newer answer is on its way
      $("#expression-error").textContent = ack.ok ? "" : ack.error;
      input.classList.toggle("invalid", !ack.ok);
    }, 250);
  };
  input.addEventListener("input", () => {
    preset.value = [...preset.options].some((option) => option.value === input.value) ? input.value : "";
    check();
  });
  preset.addEventListener("change", () => {
    if (preset.value) input.value = preset.value;
    check();
  });
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

/** Wire a page: `handlers` = {task, onDataset(data), onEpochs(batch), onProgress(update)}. */
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
  if ($("#expression")) watchExpression($("#expression"), $("#preset"));

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
}
