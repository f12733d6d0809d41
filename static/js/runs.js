// Runs a learner can look back on: the pictures a page received (time travel: a slider
// under the main plot shows the fit at an earlier epoch and marks it on the loss chart)
// and up to five pinned runs kept in localStorage, drawn muted beside the live one.

const MAX_SNAPSHOTS = 200; // beyond this, every other older picture is dropped
const MAX_PINS = 5;
const MUTED = ["#9e86c8", "#5fb37a", "#e0955a", "#6a9fcf", "#c76f9f"]; // not the live run's colours
const pinsKey = (task) => `bpnet.pins.${task}`;

/** The pinned runs of a page: [{id, config, settings (the form's texts), train: {x, y},
 *  val: {x, y}, picture}]. */
export function loadPins(task) {
  try {
    const pins = JSON.parse(localStorage.getItem(pinsKey(task)) || "[]");
    return Array.isArray(pins) ? pins : [];
  } catch {
    return [];
  }
}

function savePins(task, pins) {
  localStorage.setItem(pinsKey(task), JSON.stringify(pins));
}

/** Muted loss lines of the pinned runs, labelled by what differs from the current settings. */
export function pinTraces(task, describe) {
  return loadPins(task).map((pin, i) => ({
    x: pin.train.x, y: pin.train.y, name: `pinned: ${describe(pin)}`, mode: "lines",
    line: { color: MUTED[i % MUTED.length], width: 1.5, dash: "dash" }, opacity: 0.75,
  }));
}

export const pinColour = (i) => MUTED[i % MUTED.length];

/** The slider and the pictures it can go back to. `page.drawPicture(event)` draws one. */
export class TimeTravel {
  constructor(page, lossPlot) {
    this.page = page;
    this.lossPlot = lossPlot;
    this.snapshots = [];
    this.live = true;
    const main = page.mainPlot && page.drawPicture && document.getElementById(page.mainPlot);
    const box = document.createElement("div");
    box.hidden = !main; // a page that does not say where its picture is gets no slider
    box.className = "time-travel";
    box.innerHTML = `<label title="drag back to see the picture at an earlier epoch">epoch
      <input type="range" id="time-travel" min="0" max="0" value="0" disabled></label>
      <span id="time-travel-label" class="values">live</span>`;
    if (main) main.after(box);
    this.slider = box.querySelector("#time-travel");
    this.label = box.querySelector("#time-travel-label");
    this.slider.addEventListener("input", () => this.show(Number(this.slider.value)));
  }

  reset() {
    this.snapshots = [];
    this.live = true;
    this.update();
    this.mark(null);
  }

  /** Keep an epoch event that carries a picture; thin evenly once there are too many. */
  record(event) {
    if (!(this.page.hasPicture?.(event) ?? true)) return;
    const { history, ...snapshot } = event; // the losses are on the chart already
    this.snapshots.push(snapshot);
    if (this.snapshots.length > MAX_SNAPSHOTS) {
      const last = this.snapshots.at(-1);
      this.snapshots = this.snapshots.filter((_, i) => i % 2 === 0);
      if (this.snapshots.at(-1) !== last) this.snapshots.push(last);
    }
    this.update();
  }

  latest() {
    return this.snapshots.at(-1);
  }

  update() {
    const end = Math.max(0, this.snapshots.length - 1);
    this.slider.max = String(end);
    this.slider.disabled = this.snapshots.length < 2;
    if (this.live) this.slider.value = String(end);
    const shown = this.snapshots[Number(this.slider.value)];
    this.label.textContent = this.live ? "live" : `epoch ${shown?.epoch ?? "—"}`;
  }

  /** Show snapshot `index`; the last one means live again. */
  show(index) {
    this.live = index >= this.snapshots.length - 1;
    const snapshot = this.snapshots[index];
    if (snapshot) this.page.drawPicture(snapshot);
    this.mark(this.live ? null : snapshot?.epoch);
    this.update();
  }

  mark(epoch) {
    const plot = document.getElementById(this.lossPlot);
    if (!plot?.data) return;
    const shapes = epoch == null ? [] : [{
      type: "line", x0: epoch, x1: epoch, yref: "paper", y0: 0, y1: 1,
      line: { color: "#d62728", width: 1.5, dash: "dot" },
    }];
    Plotly.relayout(plot, { shapes });
  }
}

/** "Pin this run" and the list of pinned runs, each removable with a click. */
export class Pins {
  constructor(task, describe, onChange) {
    this.task = task;
    this.describe = describe; // pin -> "lr 0.1 → 0.01, activation relu → tanh"
    this.onChange = onChange;
    this.list = document.createElement("ul");
    this.list.id = "pins";
    this.list.className = "pins";
    document.getElementById("loss-plot").after(this.list);
    this.render();
  }

  /** Keep a run; false (with a reason) when five are pinned already. */
  add(run) {
    const pins = loadPins(this.task);
    if (pins.some((pin) => pin.id === run.id)) return { ok: false, error: "This run is pinned already." };
    if (pins.length >= MAX_PINS) {
      return { ok: false, error: `At most ${MAX_PINS} runs can be pinned: remove one first (× in the list under the loss chart).` };
    }
    try {
      savePins(this.task, [...pins, run]);
    } catch {
      return { ok: false, error: "The browser's storage is full: remove a pinned run first." };
    }
    this.changed();
    return { ok: true };
  }

  remove(id) {
    savePins(this.task, loadPins(this.task).filter((pin) => pin.id !== id));
    this.changed();
  }

  changed() {
    this.render();
    this.onChange();
  }

  /** Settings changed: update the labels in place (replacing the items under a pointer that
   *  is about to click × would swallow the click). */
  relabel() {
    const pins = loadPins(this.task);
    const labels = this.list.querySelectorAll(".pin-label");
    if (labels.length !== pins.length) return this.render();
    pins.forEach((pin, i) => (labels[i].textContent = this.describe(pin)));
  }

  render() {
    const items = loadPins(this.task).map((pin, i) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = pinColour(i);
      const text = document.createElement("span");
      text.className = "pin-label";
      text.textContent = this.describe(pin);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "unpin";
      remove.textContent = "×";
      remove.title = "remove this pinned run";
      remove.addEventListener("click", () => this.remove(pin.id));
      item.append(swatch, text, remove);
      return item;
    });
    this.list.replaceChildren(...items);
    this.list.hidden = items.length === 0;
  }
}
