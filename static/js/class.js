// The teacher's view: list every running job once a second, with a stop button each.
// The token comes from the page's own address (?token=…) and goes in a header.

const token = new URLSearchParams(location.search).get("token") || "";
const headers = { "X-Teacher-Token": token };
const body = document.querySelector("#jobs tbody");

function sparkline(losses) {
  // an inline SVG polyline of the train losses (log scale: losses span decades)
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", "120");
  svg.setAttribute("height", "24");
  const values = losses.filter((v) => v > 0).map(Math.log10);
  if (values.length > 1) {
    const low = Math.min(...values), high = Math.max(...values), span = high - low || 1;
    const points = values.map((v, i) =>
      `${(i / (values.length - 1)) * 118 + 1},${23 - ((v - low) / span) * 22}`);
    const line = document.createElementNS(svg.namespaceURI, "polyline");
    line.setAttribute("points", points.join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", "currentColor");
    svg.append(line);
  }
  return svg;
}

function duration(seconds) {
  const m = Math.floor(seconds / 60), s = Math.floor(seconds % 60);
  return m ? `${m} min ${s} s` : `${s} s`;
}

function cell(content) {
  const td = document.createElement("td");
  td.append(content);
  return td;
}

function row(job) {
  const tr = document.createElement("tr");
  tr.dataset.job = job.job;
  const stop = document.createElement("button");
  stop.textContent = "Stop";
  stop.addEventListener("click", async () => {
    stop.disabled = true;
    await fetch(`/class/jobs/${job.job}/stop`, { method: "POST", headers });
    refresh();
  });
  const last = job.losses.length ? job.losses[job.losses.length - 1].toPrecision(3) : "";
  const loss = document.createElement("span");
  loss.append(sparkline(job.losses), ` ${last}`);
  tr.append(cell(job.task), cell(job.summary), cell(`${job.epoch} / ${job.epochs}`),
    cell(loss), cell(job.worker), cell(duration(job.running_s)), cell(stop));
  return tr;
}

async function refresh() {
  const error = document.getElementById("error");
  try {
    const response = await fetch("/class/jobs", { headers });
    if (!response.ok) throw new Error(await response.text());
    const { jobs } = await response.json();
    body.replaceChildren(...jobs.map(row));
    document.getElementById("empty").hidden = jobs.length > 0;
    error.hidden = true;
  } catch (exc) {
    error.textContent = `could not list the jobs: ${exc.message}`;
    error.hidden = false;
  }
}

refresh();
setInterval(refresh, 1000);
