// Curve page: fit y = f(x). The data (true function, training and validation points) is
// drawn once per job; each frame redraws the network's current curve over it, with the
// last hidden layer's unit contributions w·h(x) faint beneath (hover one to highlight it).

import { $, TRAIN, VAL, baseLayout, dashboard, emptyLayout, fmt, newPlot, paddedRange } from "./common.js";
import { loadPins, pinColour } from "./runs.js";

const NETWORK = "#d62728";
const UNIT = "rgba(44, 160, 44, 0.35)";
let data = null; // the `dataset` event of the current job
let yRange = null; // fixed, so the plot does not jump while the network's curve moves
let shown = null; // the epoch event whose curve is drawn
let units = null; // the latest `units` of an epoch (they come a few times a second)

/** The unit contributions for `epoch`: its own, or the latest before it (units are paced
 * slower than curves); none for an epoch from before them (the time-travel slider). */
function unitTraces(epoch, x) {
  const shownUnits = epoch?.units ?? (units && epoch && units.epoch <= epoch.epoch ? units : null);
  if (!shownUnits || !$("#show-units").checked) return [];
  return shownUnits.curves.map((y, k) => ({
    x, y, name: k === 0 ? "units w·h(x)" : `unit ${shownUnits.index[k] + 1}`, mode: "lines",
    showlegend: k === 0, legendgroup: "units",
    line: { color: UNIT, width: 1 },
    hovertemplate: `unit ${shownUnits.index[k] + 1} · weight ${fmt(shownUnits.weights[k])}<extra></extra>`,
  }));
}

function traces(epoch) {
  const { x, y_true, train, val } = data;
  return [
    { x, y: y_true, name: "true function", mode: "lines", line: { color: "#555", width: 1.5, dash: "dot" } },
    { ...train, name: "training", mode: "markers", marker: { color: TRAIN, size: 4, opacity: 0.55 } },
    { ...val, name: "validation", mode: "markers", marker: { color: VAL, size: 5, opacity: 0.8 } },
    { x: epoch?.x ?? [], y: epoch?.y_pred ?? [], name: "network", mode: "lines", line: { color: NETWORK, width: 3 } },
    ...unitTraces(epoch, epoch?.x ?? x),
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
  const yaxis = { title: { text: "y" }, range: yRange };
  return baseLayout({ xaxis: { title: { text: "x" } }, yaxis, hovermode: "closest" });
}

dashboard({
  task: "curve",
  mainPlot: "fit-plot",
  onDataset(dataset) {
    [data, units, shown] = [dataset, null, null];
    yRange = paddedRange([data.y_true, data.train.y, data.val.y].flat());
    draw(null);
  },
  onEpochs(batch) {
    const latest = batch.findLast((epoch) => epoch.units);
    if (latest) units = { ...latest.units, epoch: latest.epoch };
  },
  hasPicture: (epoch) => epoch.y_pred !== undefined,
  drawPicture: draw,
  pinPicture: ({ x, y_pred }) => ({ x, y_pred }),
  onPins: () => data && draw(shown),
});

await newPlot("fit-plot", [], emptyLayout("press Start: the data appears here, then the network's curve"));
$("#show-units").addEventListener("change", () => data && draw(shown));
const plot = document.getElementById("fit-plot");
const highlight = (event, width, color) => {
  const index = event.points[0].curveNumber;
  if (plot.data[index].legendgroup === "units") Plotly.restyle(plot, { "line.width": width, "line.color": color }, [index]);
};
plot.on("plotly_hover", (event) => highlight(event, 3, "rgb(44, 160, 44)"));
plot.on("plotly_unhover", (event) => highlight(event, 1, UNIT));
