// The controls form: reading it into a start payload, marking the field a refusal names,
// the error and notice banners, and the formula box that the server checks as you type.

import { $ } from "./state.js";
import { request } from "./connection.js";

export const form = $("#config");

/** The inputs of a config field; "x_range" is the min/max pair, "hidden[1]" is hidden. */
export function fieldInputs(field) {
  return form.querySelectorAll(`[data-field="${CSS.escape(field.split(/[.[]/)[0])}"]`);
}

export function showBanner(id, message) {
  $(id).textContent = message || "";
  $(id).hidden = !message;
}

/** Show a refused acknowledgement and mark its field; true when it was refused. */
export function refused(ack) {
  if (ack.ok) return false;
  showBanner("#error", ack.error || "The server refused the request.");
  if (ack.field) fieldInputs(ack.field).forEach((input) => input.classList.add("invalid"));
  return true;
}

const PARSERS = {
  float: Number,
  int: Number,
  text: (text) => text,
  bool: () => true, // a ticked checkbox (an unticked one is left out, like a blank field)
  // "64,64" or "64 64"; anything else goes as typed, so that the server's message names the problem.
  ints: (text) => (/^\d+([\s,]+\d+)*$/.test(text) ? text.split(/[\s,]+/).map(Number) : text),
};

/** The form as a start payload for `task`: blank fields left out (the server's defaults apply). */
export function readConfig(task) {
  const config = { task };
  for (const input of form.querySelectorAll("[data-field]")) {
    const { field, index, kind } = input.dataset;
    if (input.disabled) continue; // e.g. momentum, for an optimizer without one
    if (input.validity.badInput) return { field, error: `"${input.name}" is not a number.` };
    const text = input.type === "checkbox" ? (input.checked ? "on" : "") : input.value.trim();
    if (text === "") continue;
    if (index === undefined) config[field] = PARSERS[kind](text);
    else (config[field] ??= [null, null])[Number(index)] = PARSERS[kind](text);
  }
  return { config };
}

/** Ask the server about the expression ~250 ms after the last key; show its answer below. */
export function watchExpression(input, preset, task) {
  let timer = null;
  let asked = 0;
  const check = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const question = ++asked;
      const ack = await request("validate", { task, expression: input.value });
      if (question !== asked) return; // a newer answer is on its way
      $("#expression-error").textContent = ack.ok ? "" : ack.error;
      input.classList.toggle("invalid", !ack.ok);
    }, 250);
  };
  input.addEventListener("input", () => {
    preset.value = [...preset.options].some((option) => option.value === input.value) ? input.value : "";
    check();
  });
  preset.addEventListener("change", () => {
    if (preset.value) input.value = preset.value;
    check();
  });
}
