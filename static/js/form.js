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

/** Show a refused acknowledgement and mark its field; true when it was refused. A field with
 *  its own message line (the formula) shows the message there only, not twice. */
export function refused(ack) {
  if (ack.ok) return false;
  const message = ack.error || "The server refused the request.";
  const inputs = ack.field ? [...fieldInputs(ack.field)] : [];
  inputs.forEach((input) => input.classList.add("invalid"));
  const inline = inputs.length ? $(`#${inputs[0].id}-error`) : null;
  if (inline) {
    inline.textContent = message;
    inputs[0].focus();
  } else {
    showBanner("#error", message);
  }
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
  let cut = ""; // said after a paste longer than the box holds, until the next edit
  let pasting = false;
  const check = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const question = ++asked;
      const ack = await request("validate", { task, expression: input.value });
      if (question !== asked) return; // a newer answer is on its way
      $("#expression-error").textContent = [ack.ok ? "" : ack.error, cut].filter(Boolean).join(" ");
      input.classList.toggle("invalid", !ack.ok);
    }, 250);
  };
  const bare = (text) => text.replace(/\s+/g, ""); // "x^3-x" is the preset "x^3 - x"
  input.addEventListener("input", () => {
    if (!pasting) cut = "";
    pasting = false;
    const match = [...preset.options].find((option) => option.value && bare(option.value) === bare(input.value));
    preset.value = match ? match.value : "";
    check();
  });
  // The box keeps maxlength characters of a paste; say so rather than cut silently.
  input.addEventListener("paste", (event) => {
    const pasted = event.clipboardData?.getData("text") ?? "";
    const room = input.maxLength - input.value.length + (input.selectionEnd - input.selectionStart);
    pasting = true;
    cut = input.maxLength > 0 && pasted.length > room
      ? `The paste was ${pasted.length} characters long; a formula holds at most ${input.maxLength}, `
        + `so only the first ${room} were kept.`
      : "";
  });
  preset.addEventListener("change", () => {
    if (preset.value) input.value = preset.value;
    cut = "";
    check();
  });
}
