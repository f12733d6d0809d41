// Surface page: fit z = f(x, y). The true surface and the network's stand side by side
// with one camera: rotating either view turns the other the same way.

import { $, TRAIN, baseLayout, dashboard, emptyLayout, newPlot, paddedRange, waitingLayout } from "./common.js";
import { unitImages } from "./inspector.js";

let data = null; // the `dataset` event of the current job
let zRange = null; // shared by both views and their colours, so heights compare
let camera = { eye: { x: 1.25, y: -1.35, z: 0.75 } };
let syncing = false;
let dragging = false; // a redraw during a drag would end the drag, so wait for the pointer to lift
let held = null; // the newest z_pred that came during a drag

function surface(z) {
  return {
    type: "surface", x: data.x, y: data.y, z, colorscale: "Viridis",
    cmin: zRange?.[0], cmax: zRange?.[1], showscale: false,
  };
}

function layout() {
  const axis = (text) => ({ title: { text }, nticks: 5, showspikes: false });
  return baseLayout({
    margin: { l: 0, r: 0, t: 0, b: 0 },
    scene: {
      xaxis: axis("x"), yaxis: axis("y"), zaxis: { ...axis("z"), range: zRange },
      aspectmode: "manual", aspectratio: { x: 1, y: 1, z: 0.7 }, camera,
    },
    uirevision: "camera", // keep the camera across jobs and frames
  });
}

function drawTrue() {
  const traces = [surface(data.z_true)];
  if ($("#show-points").checked) {
    const { x, y, z } = data.train;
    const marker = { size: 2, color: TRAIN };
    traces.push({ type: "scatter3d", mode: "markers", x, y, z, name: "training", marker });
  }
  Plotly.react("surface-true", traces, layout());
}

function drawNetwork(z) {
  if (dragging) held = z;
  else Plotly.react("surface-pred", [surface(z)], layout());
}

/** When one view's camera moves, move the other's too. */
function follow(from, to) {
  const view = document.getElementById(from);
  view.on("plotly_relayouting", (change) => (camera = change["scene.camera"] ?? camera));
  view.addEventListener("pointerdown", () => (dragging = true), true);
  view.on("plotly_relayout", (change) => {
    if (syncing || !change["scene.camera"]) return;
    camera = change["scene.camera"];
    syncing = true;
    Plotly.relayout(to, { "scene.camera": camera }).finally(() => (syncing = false));
  });
}

dashboard({
  task: "surface",
  mainPlot: "surface-pred",
  onDataset(dataset) {
    data = dataset;
    held = null;
    zRange = paddedRange([data.z_true, data.train.z].flat(2), 0.2);
    drawTrue();
    Plotly.react("surface-pred", [], waitingLayout());
    $("#unit-maps").replaceChildren();
  },
  onEpochs(batch) {
    const units = batch.findLast((epoch) => epoch.units)?.units;
    if (units) {
      const scale = Math.max(...units.maps.flat(2).map(Math.abs));
      const labels = units.index.map((unit, k) => `unit ${unit + 1}, w ${units.weights[k].toFixed(2)}`);
      unitImages($("#unit-maps"), units.maps.map((rows) => rows.toReversed()), scale, labels); // y up
    }
  },
  hasPicture: (epoch) => epoch.z_pred !== undefined,
  drawPicture: (epoch) => drawNetwork(epoch.z_pred),
});

await Promise.all([
  newPlot("surface-true", [], emptyLayout("press Start: the true surface appears here")),
  newPlot("surface-pred", [], emptyLayout("then the network's surface, epoch by epoch")),
]);
follow("surface-true", "surface-pred");
follow("surface-pred", "surface-true");
$("#show-points").addEventListener("change", () => data && drawTrue());
window.addEventListener("pointerup", () => {
  dragging = false;
  if (held) drawNetwork(held);
  held = null;
});
