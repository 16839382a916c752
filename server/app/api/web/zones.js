// Zones and lines: drawn on the chosen file before it is uploaded, and shown with their
// counts over a completed job's first frame. The chosen file plays from an object URL:
// nothing leaves the browser until the form is submitted. Points are in the video's
// displayed pixels (videoWidth x videoHeight), the `zones` option's default units.
const SVG_NS = "http://www.w3.org/2000/svg";
const zoneState = { lines: [], zones: [], pending: [], url: null, size: null };

function svgEl(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== null) node.textContent = text;
  return node;
}

// Shapes (and optional captions) into an <svg> whose viewBox is the video's pixels.
function drawShapes(target, size, lines, zones, pending = [], captions = {}) {
  const [w, h] = size;
  target.setAttribute("viewBox", `0 0 ${w} ${h}`);
  const stroke = Math.max(2, Math.round(h / 180));
  const font = Math.max(12, Math.round(h / 28));
  const children = [];
  for (const zone of zones) {
    const points = zone.polygon.map((p) => p.join(",")).join(" ");
    children.push(svgEl("polygon", { class: "zone-shape", points, "stroke-width": stroke }));
    const top = zone.polygon.reduce((a, b) => (b[1] < a[1] ? b : a));
    children.push(svgEl("text", { class: "zone-caption", x: top[0], y: Math.max(font, top[1] - 4), "font-size": font },
      captions[zone.name] || zone.name));
  }
  for (const line of lines) {
    const [[x0, y0], [x1, y1]] = line.points;
    children.push(svgEl("line", { class: "line-shape", x1: x0, y1: y0, x2: x1, y2: y1, "stroke-width": stroke }));
    // A tick from the middle towards the "in" side (s > 0: the normal (-dy, dx)).
    const length = Math.hypot(x1 - x0, y1 - y0) || 1;
    const reach = Math.max(12, 0.04 * h);
    const mx = (x0 + x1) / 2;
    const my = (y0 + y1) / 2;
    children.push(svgEl("line", { class: "line-shape", x1: mx, y1: my, x2: mx - ((y1 - y0) / length) * reach,
      y2: my + ((x1 - x0) / length) * reach, "stroke-width": stroke }));
    children.push(svgEl("text", { class: "line-caption", x: x0, y: Math.max(font, y0 - 4), "font-size": font },
      captions[line.name] || `${line.name} (in →)`));
  }
  if (pending.length) {
    children.push(svgEl("polyline", { class: "pending-shape", points: pending.map((p) => p.join(",")).join(" "),
      "stroke-width": stroke }));
    for (const [x, y] of pending) children.push(svgEl("circle", { class: "pending-point", cx: x, cy: y, r: stroke * 2 }));
  }
  target.replaceChildren(...children);
}

function zoneTool() {
  const checked = document.querySelector("input[name=zone-tool]:checked");
  return checked ? checked.value : "line";
}

function nextName(kind) {
  const typed = document.querySelector("#zone-name").value.trim();
  document.querySelector("#zone-name").value = "";
  const taken = new Set([...zoneState.lines, ...zoneState.zones].map((s) => s.name));
  if (typed && !taken.has(typed)) return typed.slice(0, 64);
  let n = 1;
  while (taken.has(`${kind} ${n}`)) n += 1;
  return `${kind} ${n}`;
}

function redrawDrawing() {
  if (!zoneState.size) return;
  drawShapes(document.querySelector("#zone-svg"), zoneState.size, zoneState.lines, zoneState.zones, zoneState.pending);
  const names = [...zoneState.lines.map((l) => `line “${l.name}”`), ...zoneState.zones.map((z) => `zone “${z.name}”`)];
  document.querySelector("#zone-list").textContent = names.length
    ? `To count: ${names.join(", ")}.` : "Nothing drawn yet.";
}

function clickPoint(event) {
  const svg = document.querySelector("#zone-svg");
  const box = svg.getBoundingClientRect();
  const [w, h] = zoneState.size;
  const x = Math.round(Math.min(Math.max(((event.clientX - box.left) / box.width) * w, 0), w));
  const y = Math.round(Math.min(Math.max(((event.clientY - box.top) / box.height) * h, 0), h));
  return [x, y];
}

function closeZone() {
  if (zoneState.pending.length >= 3) {
    zoneState.zones.push({ name: nextName("zone"), polygon: zoneState.pending });
  }
  zoneState.pending = [];
  redrawDrawing();
}

function setupZoneDrawing() {
  const input = document.querySelector("#file-input");
  const video = document.querySelector("#zone-video");
  const svg = document.querySelector("#zone-svg");
  if (!input || !video || !svg) return;
  input.addEventListener("change", () => {
    if (zoneState.url) URL.revokeObjectURL(zoneState.url);
    zoneState.lines = [];
    zoneState.zones = [];
    zoneState.pending = [];
    zoneState.size = null;
    document.querySelector("#zone-time").value = 0;
    const file = input.files && input.files[0];
    document.querySelector("#zone-stage").hidden = !file;
    if (!file) return;
    zoneState.url = URL.createObjectURL(file);  // local only: nothing is uploaded
    video.src = zoneState.url;
  });
  video.addEventListener("error", () => {
    document.querySelector("#zone-list").textContent = "This browser cannot show this file, so "
      + "nothing can be drawn on it here; send the zones as JSON (video-jobs submit --zones).";
  });
  video.addEventListener("loadedmetadata", () => {
    zoneState.size = [video.videoWidth, video.videoHeight];
    if (video.duration > 0.2) video.currentTime = 0.1;
    redrawDrawing();
  });
  svg.addEventListener("click", (event) => {
    if (!zoneState.size) return;
    zoneState.pending.push(clickPoint(event));
    if (zoneTool() === "line" && zoneState.pending.length === 2) {
      const [a, b] = zoneState.pending;
      if (a[0] !== b[0] || a[1] !== b[1]) zoneState.lines.push({ name: nextName("line"), points: [a, b] });
      zoneState.pending = [];
    }
    redrawDrawing();
  });
  document.querySelector("#zone-time").addEventListener("input", (event) => {
    if (video.duration > 0) video.currentTime = (event.target.value / 1000) * video.duration;
  });
  document.querySelector("#zone-close").addEventListener("click", closeZone);
  document.querySelector("#zone-undo").addEventListener("click", () => {
    if (zoneState.pending.length) zoneState.pending.pop();
    else if (zoneTool() === "zone" ? zoneState.zones.pop() : zoneState.lines.pop()) { /* removed */ }
    redrawDrawing();
  });
  document.querySelector("#zone-clear").addEventListener("click", () => {
    zoneState.lines = [];
    zoneState.zones = [];
    zoneState.pending = [];
    redrawDrawing();
  });
}

// The `zones` form field for the upload, or "" when nothing is drawn.
function zonesField() {
  if (zoneState.pending.length >= 3 && zoneTool() === "zone") closeZone();
  if (!zoneState.lines.length && !zoneState.zones.length) return "";
  return JSON.stringify({ lines: zoneState.lines, zones: zoneState.zones, units: "px" });
}

function inPixels(option, w, h) {
  const f = option.units === "fraction" ? ([x, y]) => [x * w, y * h] : (p) => p;
  return {
    lines: (option.lines || []).map((l) => ({ name: l.name, points: l.points.map(f) })),
    zones: (option.zones || []).map((z) => ({ name: z.name, polygon: z.polygon.map(f) })),
  };
}

// A completed job with `zones`: the shapes over its first analysed frame, with counts.
function showZones(job, summary) {
  const box = document.querySelector("#zones-view");
  if (!box) return;
  box.replaceChildren();
  const option = job.options && job.options.zones;
  if (!option || !summary || !state.results) return;
  const video = summary.video || state.results.video;
  const { lines, zones } = inPixels(option, video.width, video.height);
  const captions = {};
  const rows = [];
  for (const line of summary.lines || []) {
    const sum = (key) => line.counts.reduce((n, c) => n + c[key], 0);
    captions[line.name] = `${line.name}: in ${sum("in")} · out ${sum("out")}`;
    for (const c of line.counts) rows.push([`line ${line.name}`, c.label, `in ${c.in} · out ${c.out}`]);
  }
  for (const zone of summary.zones || []) {
    const sum = (key) => zone.counts.reduce((n, c) => n + c[key], 0);
    captions[zone.name] = `${zone.name}: ${sum("individuals")} individual(s)`;
    for (const c of zone.counts) {
      rows.push([`zone ${zone.name}`, c.label, `${c.entries} entries · ${c.individuals} individual(s) · `
        + `dwell mean ${(c.mean_dwell_ms / 1000).toFixed(1)} s, max ${(c.max_dwell_ms / 1000).toFixed(1)} s · `
        + `peak ${c.peak_occupancy} at ${formatTime(c.peak_ms, true)}`]);
    }
  }
  const stage = el("div", { class: "zone-stage" });
  const img = el("img", { alt: "first analysed frame" });
  const first = state.results.results[0];
  if (first) {
    objectUrl(`/video/jobs/${job.job_id}/frames/${first.frame_index}.jpg?width=960`)
      .then((url) => { img.src = url; }).catch((error) => { img.alt = error.message; });
  }
  const overlay = svgEl("svg", { class: "zone-svg", role: "img", "aria-label": "zones and lines with counts" });
  drawShapes(overlay, [video.width, video.height], lines, zones, [], captions);
  stage.append(img, overlay);
  const table = el("table", { id: "zone-counts" }, el("thead", {}, el("tr", {}, el("th", {}, "Where"),
    el("th", {}, "Label"), el("th", {}, "Counts"))), el("tbody", {}, ...rows.map((r) =>
    el("tr", {}, ...r.map((cell) => el("td", {}, cell))))));
  box.append(el("h3", {}, "Zones and lines"), stage,
    rows.length ? table : el("p", { class: "muted" }, "Nothing was counted."));
}

setupZoneDrawing();
