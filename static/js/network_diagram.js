// The network as TensorFlow Playground draws it: a column per layer, each neuron a small
// heatmap of what it computes over the plane, the weights as edges coloured by sign and
// thickened by size. Columns show their first 8 neurons and say "+N more". Hovering a
// neuron gives its value under the pointer; hovering an edge gives its weight.

const SHOWN = 8; // neurons per column; the server sends the maps of these only
const NEGATIVE = [232, 128, 12]; // class 0 / negative: orange
const POSITIVE = [8, 119, 189]; // class 1 / positive: blue
const SVG = "http://www.w3.org/2000/svg";

/** A map from the server ({low, high, bytes}: base64, row-major) as a Float32Array. */
export function decodeMap(map) {
  const bytes = Uint8Array.from(atob(map.bytes), (c) => c.charCodeAt(0));
  const values = new Float32Array(bytes.length);
  const step = (map.high - map.low) / 255;
  for (let i = 0; i < bytes.length; i++) values[i] = map.low + bytes[i] * step;
  return values;
}

/** Orange for -1, white for 0, blue for +1 (clamped). */
export function divergingColour(t) {
  const s = Math.max(-1, Math.min(1, t));
  const end = s < 0 ? NEGATIVE : POSITIVE;
  const a = Math.abs(s);
  return end.map((c) => Math.round(255 + (c - 255) * a));
}

/** Paint `values` (side × side, row 0 at the bottom of the plane) onto a canvas, with
 *  values divided by `scale` before colouring. */
function paint(canvas, values, side, scale) {
  canvas.width = canvas.height = side;
  const context = canvas.getContext("2d");
  const image = context.createImageData(side, side);
  for (let row = 0; row < side; row++) {
    for (let col = 0; col < side; col++) {
      const [r, g, b] = divergingColour(values[row * side + col] / scale);
      const at = ((side - 1 - row) * side + col) * 4; // y rises upwards on screen
      image.data.set([r, g, b, 255], at);
    }
  }
  context.putImageData(image, 0, 0);
}

const maxAbs = (values) => values.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;

export class NetworkDiagram {
  constructor(container, tooltip) {
    this.container = container;
    this.tooltip = tooltip;
    this.dataset = null;
    this.last = null; // the last epoch drawn, redrawn after a resize
    this.draws = 0; // read by the browser test
    new ResizeObserver(() => this.dataset && this.layout()).observe(container);
  }

  /** Build the columns for a new job: `dataset` carries layer_sizes, features, neuron_side. */
  setup(dataset) {
    this.dataset = dataset;
    this.last = null;
    this.layout();
  }

  layout() {
    const { layer_sizes: sizes, features, neuron_side: side } = this.dataset;
    const box = this.container;
    box.replaceChildren();
    const width = box.clientWidth;
    const height = box.clientHeight;
    const columns = sizes.length; // inputs, hidden layers, then the output (one node: P(class 1))
    const shown = sizes.map((n, k) => (k === columns - 1 ? 1 : Math.min(n, SHOWN)));
    const size = Math.max(18, Math.min(48, Math.floor((height - 44) / SHOWN) - 6));
    const left = 46; // room for the input labels
    const step = (width - left - size - 8) / Math.max(columns - 1, 1);
    this.svg = document.createElementNS(SVG, "svg");
    this.svg.setAttribute("class", "edges");
    this.svg.setAttribute("width", width);
    this.svg.setAttribute("height", height);
    box.append(this.svg);
    this.nodes = shown.map((count, k) => {
      const x = left + size / 2 + k * step;
      const total = count * size + (count - 1) * 6;
      const top = 22 + Math.max(0, (height - 44 - total) / 2);
      const title = k === 0 ? "inputs" : k === columns - 1 ? "output" : `layer ${k}`;
      this.text(title, x, 12, "heading");
      if (sizes[k] > count && k < columns - 1) this.text(`+${sizes[k] - count} more`, x, top + total + 14, "more");
      return Array.from({ length: count }, (_, i) => {
        const y = top + i * (size + 6) + size / 2;
        const canvas = document.createElement("canvas");
        canvas.className = "neuron";
        Object.assign(canvas.style, { left: `${x - size / 2}px`, top: `${y - size / 2}px`, width: `${size}px`, height: `${size}px` });
        canvas.dataset.layer = k;
        canvas.dataset.index = i;
        canvas.addEventListener("mousemove", (event) => this.hoverNeuron(event, canvas));
        canvas.addEventListener("mouseleave", () => (this.tooltip.hidden = true));
        box.append(canvas);
        if (k === 0) this.text(features[i].label, left - 6, y + 4, "feature");
        return { x, y, canvas, values: null };
      });
    });
    features.forEach((feature, i) => {
      const node = this.nodes[0][i];
      if (!node) return;
      node.values = decodeMap(feature.map);
      node.name = feature.label;
      paint(node.canvas, node.values, side, maxAbs(node.values));
    });
    this.svg.addEventListener("mousemove", (event) => this.hoverEdge(event));
    this.svg.addEventListener("mouseleave", () => (this.tooltip.hidden = true));
    if (this.last) this.update(this.last);
  }

  text(words, x, y, kind) {
    const label = document.createElement("span");
    label.className = `diagram-label ${kind}`;
    label.textContent = words;
    Object.assign(label.style, { left: `${x}px`, top: `${y - 10}px` });
    this.container.append(label);
  }

  /** Redraw the hidden neurons, the output and the edges from an `epoch` event. */
  update(epoch) {
    this.last = epoch;
    const { neuron_side: side } = this.dataset;
    epoch.neurons.forEach((layer, l) => layer.forEach((map, i) => {
      const node = this.nodes[l + 1]?.[i];
      if (!node) return;
      node.values = decodeMap(map);
      node.name = `layer ${l + 1}, neuron ${i + 1}`;
      // tanh and sigmoid stay within ±1; wider activations (relu) are scaled to their own range
      paint(node.canvas, node.values, side, Math.max(1, maxAbs(node.values)));
    }));
    const output = this.nodes.at(-1)[0];
    const g = Math.round(Math.sqrt(decodeMap(epoch.boundary).length));
    output.values = decodeMap(epoch.boundary);
    output.name = "output: P(class 1)";
    output.side = g;
    paint(output.canvas, output.values.map((p) => 2 * p - 1), g, 1);
    this.drawEdges(epoch.weights);
    this.draws += 1;
  }

  drawEdges(weights) {
    this.svg.replaceChildren();
    weights.forEach((matrix, l) => {
      const last = l === weights.length - 1;
      // the output shows P(class 1), which follows the difference of the two logits
      const rows = last ? [matrix[1].map((w, j) => w - matrix[0][j])] : matrix;
      rows.forEach((row, i) => row.forEach((w, j) => {
        const from = this.nodes[l][j];
        const to = this.nodes[l + 1][i];
        if (!from || !to) return;
        const [r, g, b] = w < 0 ? NEGATIVE : POSITIVE;
        const edge = document.createElementNS(SVG, "line");
        for (const [name, value] of Object.entries({ x1: from.x, y1: from.y, x2: to.x, y2: to.y })) edge.setAttribute(name, value);
        edge.setAttribute("stroke", `rgb(${r},${g},${b})`);
        edge.setAttribute("stroke-width", Math.min(4, 0.3 + 1.2 * Math.abs(w)).toFixed(2));
        edge.setAttribute("stroke-opacity", Math.min(0.9, 0.2 + 0.5 * Math.abs(w)).toFixed(2));
        const what = last ? "to the class-1 logit minus the class-0 logit" : `to ${to.name ?? `layer ${l + 1}, neuron ${i + 1}`}`;
        edge.dataset.label = `weight from ${from.name ?? `neuron ${j + 1}`} ${what}: ${w.toFixed(3)}`;
        this.svg.append(edge);
      }));
    });
  }

  show(event, text) {
    this.tooltip.textContent = text;
    this.tooltip.hidden = false;
    this.tooltip.style.left = `${event.clientX + 12}px`;
    this.tooltip.style.top = `${event.clientY + 12}px`;
  }

  hoverNeuron(event, canvas) {
    const node = this.nodes[canvas.dataset.layer][canvas.dataset.index];
    if (!node.values) return;
    const side = node.side ?? this.dataset.neuron_side;
    const rect = canvas.getBoundingClientRect();
    const col = Math.min(side - 1, Math.floor(((event.clientX - rect.left) / rect.width) * side));
    const row = side - 1 - Math.min(side - 1, Math.floor(((event.clientY - rect.top) / rect.height) * side));
    const half = this.dataset.half_side;
    const at = (k) => (-half + (2 * half * k) / (side - 1)).toFixed(1);
    const value = node.values[row * side + col];
    this.show(event, `${node.name}: ${value.toFixed(3)} at x ${at(col)}, y ${at(row)}`);
  }

  hoverEdge(event) {
    const label = event.target.dataset?.label;
    if (label) this.show(event, label);
    else this.tooltip.hidden = true;
  }
}
