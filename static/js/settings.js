// A page's settings survive a reload and travel in a link: every field lives in the URL
// query (?expression=sin(3*x)&hidden=16,16&lr=0.01…) and in localStorage. A shared link
// wins over what this browser remembers; its values are checked like any config before
// anything runs (nothing starts until Start).

const storageKey = (task) => `bpnet.settings.${task}`;

/** Set a field as if typed; a menu also tells its listeners (the optimizer's menu shows or
 *  hides the momentum field, which comes after it in the form). */
function setValue(input, text) {
  input.value = text;
  if (input.tagName === "SELECT") input.dispatchEvent(new Event("change", { bubbles: true }));
}

/** The inputs that hold the config, by their name (x_min, hidden, lr, …). */
function inputs(form) {
  return [...form.querySelectorAll("[data-field][name]")];
}

/** The form as {name: text}, every field, blanks included (a blank means "the default"). */
export function formValues(form) {
  return Object.fromEntries(inputs(form).map((input) => [input.name, input.value.trim()]));
}

function remembered(task) {
  try {
    return JSON.parse(localStorage.getItem(storageKey(task)) || "{}");
  } catch {
    return {}; // storage holds something else: start from the page's defaults
  }
}

/** Write the fields into the URL (without a new history entry) and into localStorage. */
export function saveSettings(form, task) {
  const values = formValues(form);
  // commas and parentheses stay readable: "hidden=16,16&expression=sin(3*x)"
  const query = new URLSearchParams(values).toString().replace(/%2C|%28|%29/g, decodeURIComponent);
  history.replaceState(history.state, "", `${location.pathname}?${query}`);
  try {
    localStorage.setItem(storageKey(task), JSON.stringify(values));
  } catch {
    // private mode or a full quota: the URL still holds the settings
  }
}

/**
 * Fill the form from localStorage, then from the URL query (which wins).
 * Returns the problems found in the query: [{field, error}] for values a number field
 * cannot hold (the field stays at its default and is marked), and whether a query was given.
 */
export function restoreSettings(form, task) {
  const query = new URLSearchParams(location.search);
  const values = { ...remembered(task), ...Object.fromEntries(query) };
  const problems = [];
  for (const input of inputs(form)) {
    if (!(input.name in values)) continue;
    const text = String(values[input.name]).slice(0, 500);
    if (input.type === "number" && text !== "" && !Number.isFinite(Number(text))) {
      if (query.has(input.name)) {
        problems.push({ field: input.dataset.field, error: `${input.name}: "${text}" is not a number; e.g. ${input.defaultValue || "0.01"}` });
      }
      continue;
    }
    if (input.tagName === "SELECT" && ![...input.options].some((option) => option.value === text)) {
      if (query.has(input.name)) {
        const allowed = [...input.options].map((option) => option.value).join(", ");
        problems.push({ field: input.dataset.field, error: `${input.name}: "${text}" is not one of ${allowed}` });
      }
      continue;
    }
    setValue(input, text);
  }
  const unknown = [...query.keys()].filter((name) => !inputs(form).some((input) => input.name === name));
  if (unknown.length) {
    problems.push({ field: null, error: `The link has settings this page does not know: ${unknown.join(", ")} (ignored).` });
  }
  return { problems, fromLink: [...query.keys()].length > 0 };
}

/** A config (as the server reports it) as the form's texts: {name: text}. */
export function configValues(form, config) {
  const values = {};
  for (const input of inputs(form)) {
    let value = config[input.dataset.field];
    if (value !== undefined && value !== null && input.dataset.index !== undefined) {
      value = value[Number(input.dataset.index)];
    }
    values[input.name] = value === undefined || value === null ? "" : Array.isArray(value) ? value.join(",") : String(value);
  }
  return values;
}

/** Put a job's full config into the form (after attaching to it, the form shows its settings). */
export function fillForm(form, config) {
  const values = configValues(form, config);
  for (const input of inputs(form)) if (values[input.name] !== "") setValue(input, values[input.name]);
}

const same = (a, b) => a === b || (a !== "" && b !== "" && Number(a) === Number(b))
  || a.replace(/\s+/g, "") === b.replace(/\s+/g, "");

/** What a run's settings ({name: text}) have that the form does not:
 *  "lr 0.1 → 0.01, activation relu → tanh". */
export function difference(form, theirs) {
  const ours = formValues(form);
  const changes = Object.keys(theirs)
    .filter((name) => theirs[name] !== "" && !same(theirs[name], ours[name] ?? ""))
    .map((name) => `${name} ${theirs[name]} → ${ours[name] || "default"}`);
  if (!changes.length) return "same settings";
  return changes.length > 3 ? `${changes.slice(0, 3).join(", ")}, …` : changes.join(", ");
}

/** "Copy link": the URL holds every field; copy it, or show it where copying is refused. */
export async function copyLink(form, task, show) {
  saveSettings(form, task);
  try {
    await navigator.clipboard.writeText(location.href);
    show("Link copied: it opens this page with these settings.");
  } catch {
    show(`Copy this link to share these settings: ${location.href}`);
  }
}
