// "Show code": a panel with a complete Python script that reproduces the current settings,
// with the bpnet library and, in a second tab, its PyTorch twin. The server writes both
// (bpnet/engine/codegen.py) from the same config a Start would send.

const TABS = [["bpnet", "bpnet"], ["torch", "PyTorch"]];

/** Wire the panel. `ask()` resolves to the server's answer for the current form:
 *  {ok, bpnet, torch, filename} or a refusal, which `refused(ack)` shows. */
export function codePanel(button, ask, refused) {
  const dialog = document.createElement("dialog");
  dialog.id = "code-panel";
  dialog.className = "code-panel";
  dialog.innerHTML = `
    <div class="code-head">
      <div class="tabs" role="tablist">${TABS.map(([key, label]) =>
        `<button type="button" role="tab" data-tab="${key}">${label}</button>`).join("")}</div>
      <button type="button" id="code-copy">Copy</button>
      <a id="code-download" class="button" download>Download</a>
      <button type="button" id="code-close" aria-label="close">×</button>
    </div>
    <p class="caption" id="code-note"></p>
    <pre><code id="code-text"></code></pre>`;
  document.body.append(dialog);
  let answer = null;
  let tab = "bpnet";
  let url = null;

  const show = (key) => {
    tab = key;
    dialog.querySelectorAll("[data-tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === key)));
    const text = answer[key];
    dialog.querySelector("#code-text").textContent = text;
    if (url) URL.revokeObjectURL(url);
    url = URL.createObjectURL(new Blob([text], { type: "text/x-python" }));
    const link = dialog.querySelector("#code-download");
    link.href = url;
    link.download = answer.filenames[key];
    dialog.querySelector("#code-note").textContent = key === "bpnet"
      ? "Runs as is with bpnet installed; prints the same losses as this page for the same settings."
      : "Needs torch and bpnet (for the same data and the same initial weights); trains the same network with torch.";
  };

  dialog.querySelectorAll("[data-tab]").forEach((b) => b.addEventListener("click", () => show(b.dataset.tab)));
  dialog.querySelector("#code-close").addEventListener("click", () => dialog.close());
  dialog.querySelector("#code-copy").addEventListener("click", async (event) => {
    try {
      await navigator.clipboard.writeText(answer[tab]);
      event.target.textContent = "Copied";
    } catch {
      event.target.textContent = "Select and copy";
    }
    setTimeout(() => (event.target.textContent = "Copy"), 1500);
  });
  button.addEventListener("click", async () => {
    const ack = await ask();
    if (refused(ack)) return;
    answer = ack;
    show(tab);
    dialog.showModal();
  });
}
