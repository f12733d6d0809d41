// Curve page: fit y = f(x). The data (true function, training and validation points) is
// drawn once per job; each frame redraws the network's current curve over it, with the
// last hidden layer's unit contributions w·h(x) faint beneath (hover one to highlight it).

import { $, TRAIN, VAL, baseLayout, dashboard, emptyLayout, fmt, newPlot, paddedRange } from "./common.js";

const NETWORK = "#d62728";
const UNIT = "rgba(44, 160, 44, 0.35)";
const FIXED = 4; // traces before the units: true function, training, validation, network
let data = null; // the `dataset` event of the current job
let yRange = null; // fixed, so the plot does not jump while the network's curve moves
let units = null; // the latest `units` of an epoch (they come a few times a second)
let lastEpoch = null;

function unitTraces(x) {
  if (!units || !$("#show-units").checked) return [];
  return units.curves.map((y, k) => ({
    x, y, name: k === 0 ? "units w·h(x)" : `unit ${units.index[k] + 1}`, mode: "lines",
    showlegend: k === 0, legendgroup: "units",
    line: { color: UNIT, width: 1 },
    hovertemplate: `unit ${units.index[k] + 1} · weight ${fmt(units.weights[k])}<extra></extra>`,
  }));
}

function traces(epoch) {
  const { x, y_true, train, val } = data;
  return [
    { x, y: y_true, name: "true function", mode: "lines", line: { color: "#555", width: 1.5, dash: "dot" } },
    { ...train, name: "training", mode: "markers", marker: { color: TRAIN, size: 4, opacity: 0.55 } },
    { ...val, name: "validation", mode: "markers", marker: { color: VAL, size: 5, opacity: 0.8 } },
    { x: epoch?.x ?? [], y: epoch?.y_pred ?? [], name: "network", mode: "lines", line: { color: NETWORK, width: 3 } },
    ...unitTraces(epoch?.x ?? x),
  ];
}

function layout() {
  const yaxis = { title: { text: "y" }, range: yRange };
  return baseLayout({ xaxis: { title: { text: "x" } }, yaxis, hovermode: "closest" });
}

const draw = () => data && Plotly.react("fit-plot", traces(lastEpoch), layout());

dashboard({
  task: "curve",
  onDataset(dataset) {
    [data, units, lastEpoch] = [dataset, null, null];
    yRange = paddedRange([data.y_true, data.train.y, data.val.y].flat());
    draw();
  },
  onEpochs(batch) {
    lastEpoch = batch.at(-1);
    units = batch.findLast((epoch) => epoch.units)?.units ?? units;
    draw();
  },
});

await newPlot("fit-plot", [], emptyLayout("press Start: the data appears here, then the network's curve"));
$("#show-units").addEventListener("change", draw);
const plot = document.getElementById("fit-plot");
const highlight = (event, width, color) => {
  const index = event.points[0].curveNumber;
  if (index >= FIXED) Plotly.restyle(plot, { "line.width": width, "line.color": color }, [index]);
};
plot.on("plotly_hover", (event) => highlight(event, 3, "rgb(44, 160, 44)"));
plot.on("plotly_unhover", (event) => highlight(event, 1, UNIT));
