// Classify page: two classes of points on the square. The decision boundary is a heatmap
// of the network's probability of class 1 with the points on top; with the "points" data
// set, clicks on the plot place the learner's own points. The network diagram beside it
// shows every neuron's map (network_diagram.js).

import { $, TRAIN, VAL, baseLayout, dashboard, emptyLayout, epochAxis, fmt, line, newPlot } from "./common.js";
import { NetworkDiagram, decodeMap } from "./network_diagram.js";

const CLASS_COLOURS = ["#e8800c", "#0877bd"]; // class 0 orange, class 1 blue
const SCALE = [[0, "#f6b36b"], [0.5, "#ffffff"], [1, "#6aaad6"]]; // paler, so points stand out
const HALF = 6; // the square is [-6, 6]²
const PICK_RADIUS = 0.3; // a click this close to a point of yours removes it
const PLOT_CONFIG = { displayModeBar: false, responsive: true }; // clicks place points: no zoom tools

const diagram = new NetworkDiagram($("#network"), $("#tooltip"));
let data = null; // the `dataset` event of the current job
let boundary = null; // the last boundary heatmap trace
let userPoints = []; // [x, y, label], sent as `points` with the "points" data set
let edited = false; // the user's points changed since the job's data arrived
window.bpnet.classify = { diagram, userPoints: () => userPoints };

const usingPoints = () => $("#dataset").value === "points";

function markers(points, label, validation) {
  const mine = points.filter((p) => p[2] === label);
  const colour = CLASS_COLOURS[label];
  return {
    type: "scatter", mode: "markers", hoverinfo: "x+y+name",
    x: mine.map((p) => p[0]), y: mine.map((p) => p[1]),
    name: `${validation ? "validation" : "training"} · class ${label}`,
    marker: validation
      ? { symbol: "circle-open", size: 7, color: colour, line: { width: 2, color: colour } }
      : { size: 7, color: colour, line: { width: 1, color: "#fff" } },
    showlegend: false,
  };
}

const asTriples = ({ x, y, label }) => x.map((xi, i) => [xi, y[i], label[i]]);

function pointTraces() {
  if (usingPoints() && (edited || !data || data.config.dataset !== "points")) {
    return [markers(userPoints, 0, false), markers(userPoints, 1, false)];
  }
  if (!data) return [];
  const traces = [markers(asTriples(data.train), 0, false), markers(asTriples(data.train), 1, false)];
  if ($("#show-val").checked) traces.push(markers(asTriples(data.val), 0, true), markers(asTriples(data.val), 1, true));
  return traces;
}

function layout() {
  const axis = (title) => ({
    title: { text: title }, range: [-HALF, HALF], zeroline: false, fixedrange: true, constrain: "domain",
  });
  return baseLayout({
    margin: { l: 40, r: 10, t: 10, b: 34 },
    xaxis: axis("x"), yaxis: { ...axis("y"), scaleanchor: "x" },
    dragmode: false, hovermode: "closest",
  });
}

function draw() {
  const traces = pointTraces();
  if (boundary) traces.unshift(boundary);
  if (!traces.length) {
    const hint = usingPoints() ? "click to place points: shift-click for class 1" : "press Start to train";
    return Plotly.react("boundary-plot", [], { ...layout(), annotations: emptyLayout(hint).annotations }, PLOT_CONFIG);
  }
  return Plotly.react("boundary-plot", traces, layout(), PLOT_CONFIG);
}

function heatmap(map) {
  const values = decodeMap(map);
  const side = Math.round(Math.sqrt(values.length));
  const axis = Array.from({ length: side }, (_, i) => -HALF + (2 * HALF * i) / (side - 1));
  const z = Array.from({ length: side }, (_, row) => Array.from(values.subarray(row * side, (row + 1) * side)));
  return {
    type: "heatmap", x: axis, y: axis, z, zmin: 0, zmax: 1, colorscale: SCALE, showscale: false, zsmooth: "best",
    hovertemplate: "x %{x:.1f}, y %{y:.1f}: P(class 1) %{z:.2f}<extra></extra>",
  };
}

/** The plane coordinates under a click, from the plot area's rectangle. Plotly has no
 *  public pixel-to-data call; its drag layer (.nsewdrag) covers exactly the plot area. */
function planeAt(event) {
  const area = $("#boundary-plot .nsewdrag")?.getBoundingClientRect();
  if (!area) return null;
  const x = -HALF + ((event.clientX - area.left) / area.width) * 2 * HALF;
  const y = HALF - ((event.clientY - area.top) / area.height) * 2 * HALF;
  return Math.abs(x) <= HALF && Math.abs(y) <= HALF ? [x, y] : null;
}

function onPlotClick(event) {
  const at = planeAt(event);
  if (!at) return;
  if (!usingPoints()) {
    $("#dataset").value = "points";
    showPointTools();
  }
  const near = userPoints.findIndex((p) => Math.hypot(p[0] - at[0], p[1] - at[1]) < PICK_RADIUS);
  if (near >= 0) userPoints.splice(near, 1);
  else {
    const chosen = Number(document.querySelector("input[name=point-class]:checked").value);
    userPoints.push([Number(at[0].toFixed(3)), Number(at[1].toFixed(3)), event.shiftKey ? 1 : chosen]);
  }
  edited = true;
  updateCount();
  draw();
}

function updateCount() {
  const ones = userPoints.filter((p) => p[2] === 1).length;
  $("#points-count").textContent = `${userPoints.length} points (${userPoints.length - ones} class 0, ${ones} class 1)`;
}

function showPointTools() {
  $("#points-tools").hidden = !usingPoints();
  for (const id of ["#n_samples", "#noise"]) $(id).disabled = usingPoints(); // unused for your points
}

function features() {
  return [...document.querySelectorAll("#features input:checked")].map((input) => input.value);
}

function drawAccuracy(batch) {
  const x = batch.map((e) => e.epoch);
  const y = [batch.map((e) => e.train_accuracy), batch.map((e) => e.val_accuracy)];
  Plotly.extendTraces("accuracy-plot", { x: [x, x], y }, [0, 1]);
  const last = batch.at(-1);
  $("#accuracy-value").textContent = `train ${fmt(100 * last.train_accuracy)}% · validation ${fmt(100 * last.val_accuracy)}%`;
}

dashboard({
  task: "classify",
  extendConfig(config) {
    config.features = features();
    if (usingPoints()) config.points = userPoints;
  },
  onDataset(dataset) {
    data = dataset;
    boundary = null;
    edited = false;
    diagram.setup(dataset);
    const epochs = dataset.config.epochs;
    const mode = epochs <= 60 ? "lines+markers" : "lines";
    const yaxis = { range: [0, 1.02], tickformat: ".0%" };
    Plotly.react("accuracy-plot", [line("training", TRAIN, mode), line("validation", VAL, mode)],
      baseLayout({ xaxis: epochAxis(epochs), yaxis }));
    $("#accuracy-value").textContent = "—";
    draw();
  },
  onEpochs(batch) {
    drawAccuracy(batch);
  },
  mainPlot: "boundary-plot", // the time-travel slider goes under it
  hasPicture: (epoch) => epoch.boundary !== undefined,
  drawPicture(epoch) {
    boundary = heatmap(epoch.boundary);
    const shown = document.getElementById("boundary-plot").data ?? [];
    if (edited || shown[0]?.type !== "heatmap") draw();
    else Plotly.restyle("boundary-plot", { z: [boundary.z] }, [0]); // the points stay as they are
    diagram.update(epoch);
  },
});

await Plotly.newPlot("boundary-plot", [], layout(), PLOT_CONFIG);
newPlot("accuracy-plot", [], emptyLayout());
draw();
$("#boundary-plot").addEventListener("click", onPlotClick);
$("#show-val").addEventListener("change", draw);
$("#dataset").addEventListener("change", () => {
  showPointTools();
  draw();
});
$("#clear-points").addEventListener("click", () => {
  userPoints = [];
  edited = true;
  updateCount();
  draw();
});
$("#regenerate").addEventListener("click", () => {
  $("#seed").value = Math.floor(Math.random() * 1e6);
  $("#start").click();
});
showPointTools();
updateCount();
