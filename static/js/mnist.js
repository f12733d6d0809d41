// MNIST page: classify 28×28 digit images with a perceptron or a small convolutional
// network. Besides loss and gradients it shows validation accuracy, speed and progress
// within an epoch, ten sampled validation digits with the network's guesses, the
// confusion matrix, the surest mistakes, a CNN's first filters, and a digit you draw.

import {
  $, VAL, baseLayout, dashboard, emptyLayout, epochAxis, fmt, line, newPlot, waitingLayout,
} from "./common.js";
import { request } from "./connection.js";
import { bpnet } from "./state.js";
import { resetConfusion, setupConfusion, showConfusion } from "./confusion.js";
import { drawingPad, mnistPixels } from "./draw_digit.js";
import { drawPixels, element, fetchImages } from "./images.js";
import { unitImages } from "./inspector.js";
import { decodeMap } from "./network_diagram.js";

/** A flat row-major array as `width`-long rows. */
const rows = (values, width) => Array.from({ length: values.length / width }, (_, i) => Array.from(values.subarray(i * width, (i + 1) * width)));

let classes = [];
let dataset = "mnist";
const name = (k) => classes[k] ?? String(k);
let epochs = 0; // of the current job
let waiting = true; // no epoch yet: the accuracy plot shows a note, not empty axes

function accuracyLayout(epochs) {
  const yaxis = { tickformat: ".1~%", autorangeoptions: { clipmin: 0, clipmax: 1 } };
  return baseLayout({ xaxis: epochAxis(epochs), yaxis, showlegend: false });
}

const speed = (examplesPerSecond) => `${Math.round(examplesPerSecond).toLocaleString("en")} examples/s`;

function setProgress(fraction, text) {
  $("#progress-bar").style.width = `${(100 * fraction).toFixed(1)}%`;
  $("#progress-text").textContent = text;
}

/** Ten bars, one per class: the guess in blue (red when wrong), the true class in green. */
function probabilityBars(sample) {
  const bars = element("div", "probs");
  sample.probs.forEach((p, k) => {
    const bar = element("div", k === sample.pred ? "bar-guess" : k === sample.label ? "bar-true" : "");
    bar.style.height = `${Math.max(2, 100 * p)}%`;
    bar.title = `${name(k)}: ${(100 * p).toFixed(1)}%`;
    bars.append(bar);
  });
  return bars;
}

/** A digit card: image, true class, guess (with its probability when given), bars. */
function digit(sample, pixels) {
  const wrong = sample.pred !== sample.label;
  const card = element("div", wrong ? "digit wrong" : "digit");
  card.title = `validation image #${sample.index}`;
  const names = element("div", "names");
  const guess = sample.prob === undefined ? name(sample.pred) : `${name(sample.pred)} ${(100 * sample.prob).toFixed(0)}%`;
  names.append(element("span", "label", name(sample.label)), element("span", "pred", guess));
  if (wrong) names.append(element("span", "mark", "✗"));
  card.append(drawPixels(pixels), names, probabilityBars(sample));
  return card;
}

async function showMistakes(mistakes) {
  if (!mistakes.length) return $("#mistakes").replaceChildren(element("p", "caption", "No mistakes at all."));
  const images = await fetchImages(dataset, mistakes.map((m) => m.index));
  $("#mistakes").replaceChildren(...mistakes.map((m, k) => digit(m, images[k])));
}

/** The first convolution's kernels, red for positive weights and blue for negative. */
function showFilters(filters) {
  const scale = Math.max(1e-6, ...filters.flat(2).map(Math.abs));
  $("#filters").replaceChildren(...filters.map((kernel, k) => {
    const [rows, columns] = [kernel.length, kernel[0].length];
    const canvas = document.createElement("canvas");
    [canvas.width, canvas.height, canvas.title] = [columns, rows, `filter ${k + 1}`];
    const context = canvas.getContext("2d");
    const image = context.createImageData(columns, rows);
    kernel.flat().forEach((w, i) => {
      const fade = Math.round(255 * (1 - Math.abs(w) / scale));
      image.data.set(w >= 0 ? [255, fade, fade, 255] : [fade, fade, 255, 255], 4 * i);
    });
    context.putImageData(image, 0, 0);
    return canvas;
  }));
}

// --- draw a digit -----------------------------------------------------------------------
let asking = false;
let askAgain = false;

function showGuess(probs, text) {
  const best = probs ? probs.indexOf(Math.max(...probs)) : -1;
  $("#draw-guess").textContent = text ?? `${name(best)} · ${(100 * probs[best]).toFixed(1)}%`;
  $("#draw-probs").replaceChildren(...(probs ?? []).map((p, k) => {
    const row = element("div", k === best ? "draw-prob best" : "draw-prob");
    const bar = element("span", "draw-bar");
    bar.style.width = `${(100 * p).toFixed(1)}%`;
    row.append(element("span", "draw-class", name(k)), bar, element("span", "draw-value", `${(100 * p).toFixed(1)}%`));
    return row;
  }));
  bpnet.drawn = { probs, guess: best >= 0 ? name(best) : null };
}

/** Send the drawing to the tab's network; one question in flight, the latest drawing wins. */
async function askNetwork() {
  if (asking) return void (askAgain = true);
  const pixels = mnistPixels($("#draw-canvas"));
  $("#draw-preview").replaceChildren(drawPixels((pixels ?? new Array(784).fill(0)).map((v) => 255 * v)));
  if (!pixels) return showGuess(null, "draw a digit");
  asking = true;
  const ack = await request("predict", { pixels });
  asking = false;
  if (ack.ok) showGuess(ack.probs);
  else showGuess(null, ack.error);
  if (askAgain) {
    askAgain = false;
    askNetwork();
  }
}

/** Show (and send) the hidden sizes for the mlp, the channels for the cnn. */
function watchArchitecture() {
  const choose = () => {
    const cnn = $("#architecture").value === "cnn";
    for (const [input, shown] of [[$("#hidden"), !cnn], [$("#channels"), cnn]]) {
      input.disabled = !shown; // disabled inputs are not sent
      input.closest("label").hidden = !shown;
    }
  };
  $("#architecture").addEventListener("change", choose);
  choose();
}

dashboard({
  task: "mnist",
  mainPlot: "digits",
  onDataset(data) {
    [classes, dataset] = [data.classes, data.dataset];
    $("#first-layer-card").hidden = true; // until a perceptron's first epoch brings the images
    const trace = line("validation accuracy", VAL, "lines+markers");
    [epochs, waiting] = [data.config.epochs, true];
    Plotly.react("accuracy-plot", [trace], waitingLayout());
    $("#accuracy-value").textContent = "—";
    const count = (n) => n.toLocaleString("en");
    $("#speed").textContent =
      `${data.dataset}: ${count(data.train_size)} training, ${count(data.val_size)} validation images`;
    $("#digits").replaceChildren(element("p", "caption", "Ten validation digits appear after the first epoch."));
    $("#mistakes").replaceChildren(element("p", "caption", "The surest mistakes appear after the first epoch."));
    Plotly.react("confusion-plot", [], emptyLayout("after the first epoch"));
    resetConfusion("Click a cell to see its images.");
    $("#filters-card").hidden = data.config.architecture !== "cnn";
    $("#filters").replaceChildren();
    setProgress(0, "epoch 1 · starting…");
    askNetwork();
  },
  onEpochs(batch) {
    const plot = document.getElementById("accuracy-plot");
    if (waiting) Plotly.react(plot, plot.data, accuracyLayout(epochs));
    waiting = false;
    const x = batch.map((e) => e.epoch);
    Plotly.extendTraces(plot, { x: [x], y: [batch.map((e) => e.val_accuracy)] }, [0]);
    const last = batch.at(-1);
    $("#accuracy-value").textContent = `${(100 * last.val_accuracy).toFixed(2)}%`;
    $("#speed").textContent = speed(last.examples_per_s);
    setProgress(1, `epoch ${last.epoch} / ${last.epochs} done`);
    showConfusion(last.confusion, classes, dataset);
    showMistakes(last.mistakes);
    if (last.filters) showFilters(last.filters);
    askNetwork(); // the network changed: read the drawing again
    const first = batch.findLast((e) => e.first_layer)?.first_layer;
    if (first) {
      $("#first-layer-card").hidden = false;
      const images = first.images.map((map) => rows(decodeMap(map), 28));
      unitImages($("#first-layer"), images, first.scale, first.units.map((u) => `unit ${u + 1}`));
    }
  },
  hasPicture: (epoch) => epoch.samples !== undefined, // the time-travel slider goes through these
  drawPicture: (epoch) => $("#digits").replaceChildren(...epoch.samples.map((s) => digit(s, s.pixels))),
  onProgress(update) {
    const { epoch, batch, batches, train_loss } = update;
    setProgress(batch / batches, `epoch ${epoch} · batch ${batch} / ${batches} · running loss ${fmt(train_loss)}`);
    $("#speed").textContent = speed(update.examples_per_s);
  },
});

newPlot("accuracy-plot", [], emptyLayout());
setupConfusion(emptyLayout());
watchArchitecture();
const pad = drawingPad($("#draw-canvas"), askNetwork);
$("#draw-clear").addEventListener("click", () => pad.clear());
showGuess(null, "draw a digit");
