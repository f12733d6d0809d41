// Curve page: fit y = f(x). The data (true function, training and validation points) is
// drawn once per job; each frame redraws the network's current curve over it.

import { TRAIN, VAL, baseLayout, dashboard, emptyLayout, newPlot, paddedRange } from "./common.js";
import { loadPins, pinColour } from "./runs.js";

const NETWORK = "#d62728";
let data = null; // the `dataset` event of the current job
let yRange = null; // fixed, so the plot does not jump while the network's curve moves
let shown = null; // the epoch event whose curve is drawn

function traces(epoch) {
  const { x, y_true, train, val } = data;
  return [
    { x, y: y_true, name: "true function", mode: "lines", line: { color: "#555", width: 1.5, dash: "dot" } },
    { ...train, name: "training", mode: "markers", marker: { color: TRAIN, size: 4, opacity: 0.55 } },
    { ...val, name: "validation", mode: "markers", marker: { color: VAL, size: 5, opacity: 0.8 } },
    { x: epoch?.x ?? [], y: epoch?.y_pred ?? [], name: "network", mode: "lines", line: { color: NETWORK, width: 3 } },
    ...pinnedCurves(),
  ];
}

/** The final curves of pinned runs on the same x range, muted. */
function pinnedCurves() {
  const [low, high] = [data.x[0], data.x.at(-1)];
  return loadPins("curve").flatMap((pin, i) => {
    const curve = pin.picture;
    if (!curve || curve.x[0] !== low || curve.x.at(-1) !== high) return [];
    return [{ x: curve.x, y: curve.y_pred, name: `pinned ${i + 1}`, mode: "lines",
      line: { color: pinColour(i), width: 2, dash: "dash" }, opacity: 0.75 }];
  });
}

function draw(epoch) {
  shown = epoch;
  Plotly.react("fit-plot", traces(epoch), layout());
}

function layout() {
  return baseLayout({ xaxis: { title: { text: "x" } }, yaxis: { title: { text: "y" }, range: yRange } });
}

dashboard({
  task: "curve",
  mainPlot: "fit-plot",
  onDataset(dataset) {
    data = dataset;
    yRange = paddedRange([data.y_true, data.train.y, data.val.y].flat());
    draw(null);
  },
  hasPicture: (epoch) => epoch.y_pred !== undefined,
  drawPicture: draw,
  pinPicture: ({ x, y_pred }) => ({ x, y_pred }),
  onPins: () => data && draw(shown),
});

newPlot("fit-plot", [], emptyLayout("press Start: the data appears here, then the network's curve"));
