// The confusion matrix: how often each true class (row) was guessed as each class
// (column) on the whole validation set. Colours follow log(1 + count) so that the few
// mistakes show beside the thousands of right answers; a click on a cell shows its images.

import { baseLayout, newPlot } from "./plots.js";
import { drawPixels, element, fetchImages } from "./images.js";

const PLOT = "confusion-plot";
let current = null; // {confusion, classes, dataset}
let chosen = null; // [row, column] of the cell whose images are shown

function layout(classes) {
  const axis = (title) => ({
    title: { text: title }, tickvals: classes.map((_, k) => k), ticktext: classes,
    tickfont: { size: 10 }, fixedrange: true, showgrid: false,
  });
  return baseLayout({
    xaxis: { ...axis("guess"), side: "top" },
    yaxis: { ...axis("true"), autorange: "reversed" },
    margin: { l: 64, r: 8, t: 48, b: 8 },
  });
}

/** Draw this epoch's matrix: `confusion` = {counts, examples}, both classes × classes. */
export function showConfusion(confusion, classes, dataset) {
  current = { confusion, classes, dataset };
  const { counts } = confusion;
  const trace = {
    type: "heatmap", z: counts.map((row) => row.map((n) => Math.log10(1 + n))),
    x: classes.map((_, k) => k), y: classes.map((_, k) => k),
    text: counts, texttemplate: "%{text}", textfont: { size: 10 },
    customdata: counts.map((row, t) => row.map((_, g) => [classes[t], classes[g]])),
    hovertemplate: "true %{customdata[0]}, guessed %{customdata[1]}: %{text}<extra></extra>",
    colorscale: "Blues", reversescale: true, showscale: false, xgap: 1, ygap: 1,
  };
  Plotly.react(PLOT, [trace], layout(classes));
  if (chosen) showCell(...chosen);
}

/** Up to 12 images of the cell (true `row`, guessed `column`) under the matrix. */
async function showCell(row, column) {
  chosen = [row, column];
  const { confusion, classes, dataset } = current;
  const indices = confusion.examples[row][column];
  const count = confusion.counts[row][column];
  const shown = indices.length < count ? ` (the first ${indices.length})` : "";
  const title = `${count} ${count === 1 ? "image" : "images"} of ${classes[row]} guessed as ${classes[column]}${shown}`;
  const box = document.getElementById("cell-images");
  box.replaceChildren(element("p", "caption", title));
  if (!indices.length) return;
  const images = await fetchImages(dataset, indices);
  if (chosen[0] !== row || chosen[1] !== column) return; // another cell was clicked meanwhile
  const strip = element("div", "cell-strip");
  images.forEach((pixels, k) => {
    const canvas = drawPixels(pixels);
    canvas.title = `validation image #${indices[k]}`;
    strip.append(canvas);
  });
  box.append(strip);
}

export function resetConfusion(text) {
  current = chosen = null;
  document.getElementById("cell-images").replaceChildren(element("p", "caption", text));
}

export function setupConfusion(emptyLayout) {
  newPlot(PLOT, [], emptyLayout);
  document.getElementById(PLOT).on("plotly_click", (event) => {
    const point = event.points?.[0];
    if (current && point) showCell(point.y, point.x);
  });
}
