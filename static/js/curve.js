// Curve page: fit y = f(x). The data (true function, training and validation points) is
// drawn once per job; each frame redraws the network's current curve over it.

import { TRAIN, VAL, baseLayout, dashboard, emptyLayout, newPlot, paddedRange } from "./common.js";

const NETWORK = "#d62728";
let data = null; // the `dataset` event of the current job
let yRange = null; // fixed, so the plot does not jump while the network's curve moves

function traces(epoch) {
  const { x, y_true, train, val } = data;
  return [
    { x, y: y_true, name: "true function", mode: "lines", line: { color: "#555", width: 1.5, dash: "dot" } },
    { ...train, name: "training", mode: "markers", marker: { color: TRAIN, size: 4, opacity: 0.55 } },
    { ...val, name: "validation", mode: "markers", marker: { color: VAL, size: 5, opacity: 0.8 } },
    { x: epoch?.x ?? [], y: epoch?.y_pred ?? [], name: "network", mode: "lines", line: { color: NETWORK, width: 3 } },
  ];
}

function layout() {
  return baseLayout({ xaxis: { title: { text: "x" } }, yaxis: { title: { text: "y" }, range: yRange } });
}

dashboard({
  task: "curve",
  onDataset(dataset) {
    data = dataset;
    yRange = paddedRange([data.y_true, data.train.y, data.val.y].flat());
    Plotly.react("fit-plot", traces(null), layout());
  },
  onEpochs(batch) {
    Plotly.react("fit-plot", traces(batch.at(-1)), layout());
  },
});

newPlot("fit-plot", [], emptyLayout("press Start: the data appears here, then the network's curve"));
