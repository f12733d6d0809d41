// MNIST page: classify 28×28 digit images. Besides loss and gradients it shows validation
// accuracy, the speed and progress within an epoch, and ten validation digits with the
// network's guess and its probability for each class.

import { $, VAL, baseLayout, dashboard, emptyLayout, epochAxis, fmt, line, newPlot } from "./common.js";

let classes = [];

function accuracyLayout(epochs) {
  const yaxis = { tickformat: ".1~%", autorangeoptions: { clipmin: 0, clipmax: 1 } };
  return baseLayout({ xaxis: epochAxis(epochs), yaxis, showlegend: false });
}

const speed = (examplesPerSecond) => `${Math.round(examplesPerSecond).toLocaleString("en")} examples/s`;

function setProgress(fraction, text) {
  $("#progress-bar").style.width = `${(100 * fraction).toFixed(1)}%`;
  $("#progress-text").textContent = text;
}

/** Paint 784 grey levels (0 = paper, 255 = ink) onto a 28×28 canvas, dark ink on white. */
function drawPixels(pixels) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 28;
  const context = canvas.getContext("2d");
  const image = context.createImageData(28, 28);
  pixels.forEach((value, i) => image.data.set([255 - value, 255 - value, 255 - value, 255], 4 * i));
  context.putImageData(image, 0, 0);
  return canvas;
}

function element(tag, className, text = "") {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}

/** Ten bars, one per class: the guess in blue (red when wrong), the true class in green. */
function probabilityBars(sample) {
  const bars = element("div", "probs");
  sample.probs.forEach((p, k) => {
    const bar = element("div", k === sample.pred ? "bar-guess" : k === sample.label ? "bar-true" : "");
    bar.style.height = `${Math.max(2, 100 * p)}%`;
    bar.title = `${classes[k] ?? k}: ${(100 * p).toFixed(1)}%`;
    bars.append(bar);
  });
  return bars;
}

function digit(sample) {
  const wrong = sample.pred !== sample.label;
  const card = element("div", wrong ? "digit wrong" : "digit");
  card.title = `validation image #${sample.index}`;
  const names = element("div", "names");
  const name = (k) => classes[k] ?? String(k);
  names.append(element("span", "label", name(sample.label)), element("span", "pred", name(sample.pred)));
  if (wrong) names.append(element("span", "mark", "✗"));
  card.append(drawPixels(sample.pixels), names, probabilityBars(sample));
  return card;
}

dashboard({
  task: "mnist",
  onDataset(dataset) {
    classes = dataset.classes;
    const trace = line("validation accuracy", VAL, "lines+markers");
    Plotly.react("accuracy-plot", [trace], accuracyLayout(dataset.config.epochs));
    $("#accuracy-value").textContent = "—";
    const count = (n) => n.toLocaleString("en");
    $("#speed").textContent =
      `${dataset.dataset}: ${count(dataset.train_size)} training, ${count(dataset.val_size)} validation images`;
    const note = element("p", "caption", "Ten validation digits appear after the first epoch.");
    $("#digits").replaceChildren(note);
    setProgress(0, "epoch 1 · starting…");
  },
  onEpochs(batch) {
    const epochs = batch.map((e) => e.epoch);
    Plotly.extendTraces("accuracy-plot", { x: [epochs], y: [batch.map((e) => e.val_accuracy)] }, [0]);
    const last = batch.at(-1);
    $("#accuracy-value").textContent = `${(100 * last.val_accuracy).toFixed(2)}%`;
    $("#speed").textContent = speed(last.examples_per_s);
    setProgress(1, `epoch ${last.epoch} / ${last.epochs} done`);
    const sampled = batch.filter((e) => e.samples).at(-1);
    if (sampled) $("#digits").replaceChildren(...sampled.samples.map(digit));
  },
  onProgress(update) {
    const { epoch, batch, batches, train_loss } = update;
    setProgress(batch / batches, `epoch ${epoch} · batch ${batch} / ${batches} · running loss ${fmt(train_loss)}`);
    $("#speed").textContent = speed(update.examples_per_s);
  },
});

newPlot("accuracy-plot", [], emptyLayout());
