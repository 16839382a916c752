// The web page: submit an MP4, watch the jobs, look at what a job found.
// Plain JS against the public /video API (the same calls the CLI makes); no build step.
"use strict";

const KEY_STORAGE = "videoJobsApiKey";
const POLL_MS = 1000;
const THUMBNAILS = 6;
const THUMBNAIL_WIDTH = 320;  // shown at 220 CSS px: sharp on most screens, small to send
// Which per-frame value to plot first, when the results have it.
const PREFERRED_SERIES = ["motion_ratio", "score", "detections", "brightness", "sharpness",
  "contrast"];

const state = { key: localStorage.getItem(KEY_STORAGE) || "", jobsJson: "", openJob: null,
  results: null, objectUrls: [] };
const $ = (selector) => document.querySelector(selector);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function svg(tag, attrs = {}, text = "") {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

// -- the API ----------------------------------------------------------------------------
function authHeaders() { return state.key ? { "X-API-Key": state.key } : {}; }

function describe(detail) {
  if (Array.isArray(detail)) return detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
  return String(detail);
}

async function api(path) {
  const response = await fetch(path, { headers: authHeaders() });
  if (response.ok) return response;
  let detail = response.statusText;
  try { detail = describe((await response.json()).detail); } catch (_) { /* not JSON */ }
  if (response.status === 401) showKeyBox("This server needs an API key: " + detail);
  throw new Error(`HTTP ${response.status}: ${detail}`);
}

// -- API key ------------------------------------------------------------------------------
function showKeyBox(message) {
  $("#key-box").hidden = false;
  if (message) $("#key-message").textContent = message;
}

function setupKey() {
  $("#key-input").value = state.key;
  $("#key-toggle").addEventListener("click", () => { $("#key-box").hidden = !$("#key-box").hidden; });
  $("#key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.key = $("#key-input").value.trim();
    localStorage.setItem(KEY_STORAGE, state.key);
    $("#key-box").hidden = true;
    state.jobsJson = "";
    loadPipelines();
  });
  $("#key-clear").addEventListener("click", () => {
    state.key = "";
    $("#key-input").value = "";
    localStorage.removeItem(KEY_STORAGE);
  });
}

// -- upload -------------------------------------------------------------------------------
async function loadPipelines() {
  const select = $("#pipeline-select");
  try {
    const pipelines = await (await api("/video/pipelines")).json();
    select.replaceChildren(...pipelines.map((p) => el("option", { value: p.id, title: p.description }, p.id)));
    const describeSelected = () => {
      const chosen = pipelines.find((p) => p.id === select.value);
      $("#pipeline-description").textContent = chosen ? chosen.description : "";
    };
    select.onchange = describeSelected;
    describeSelected();
  } catch (error) {
    $("#pipeline-description").textContent = error.message;
  }
}

function upload(event) {
  event.preventDefault();
  const file = $("#file-input").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  form.append("pipeline_id", $("#pipeline-select").value);
  const xhr = new XMLHttpRequest();
  const bar = $("#upload-progress");
  const message = $("#upload-message");
  bar.hidden = false;
  bar.value = 0;
  message.textContent = `Uploading ${file.name}…`;
  message.className = "";
  $("#upload-button").disabled = true;
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = e.loaded / e.total; };
  xhr.onload = () => {
    $("#upload-button").disabled = false;
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
    if (xhr.status === 200) {
      bar.value = 1;
      message.textContent = `Submitted job ${body.job_id} (${body.pipeline_id}).`;
      message.dataset.jobId = body.job_id;
      refreshJobs();
    } else {
      if (xhr.status === 401) showKeyBox("This server needs an API key.");
      message.textContent = `Upload refused (HTTP ${xhr.status}): ${describe(body.detail || xhr.statusText)}`;
      message.className = "error-text";
    }
  };
  xhr.onerror = () => {
    $("#upload-button").disabled = false;
    message.textContent = "Upload failed: the server could not be reached.";
    message.className = "error-text";
  };
  xhr.open("POST", "/video/submit");
  for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
  xhr.send(form);
}

// -- the jobs list ------------------------------------------------------------------------
async function refreshJobs() {
  try {
    const page = await (await api("/video/jobs?limit=25")).json();
    $("#jobs-updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    const json = JSON.stringify(page.jobs);
    if (json !== state.jobsJson) {  // re-render only on change, so buttons stay put
      state.jobsJson = json;
      renderJobs(page.jobs);
    }
  } catch (error) {
    $("#jobs-updated").textContent = error.message;
  }
}

function renderJobs(jobs) {
  $("#jobs-empty").hidden = jobs.length > 0;
  $("#jobs tbody").replaceChildren(...jobs.map((job) => {
    const open = job.status === "completed"
      ? el("button", { class: "link", type: "button", onclick: () => openResults(job.job_id) }, "results")
      : "";
    return el("tr", { "data-job-id": job.job_id, "data-status": job.status,
      class: job.job_id === state.openJob ? "open" : "" },
      el("td", {}, new Date(job.created_at).toLocaleString()),
      el("td", { class: "id", title: job.job_id }, job.job_id.slice(0, 8)),
      el("td", {}, job.pipeline_id),
      el("td", {}, el("span", { class: `status ${job.status}` }, job.status)),
      job.error_message ? el("td", { class: "error" }, job.error_message) : el("td", {}, open));
  }));
}

// -- results: plot and thumbnails -----------------------------------------------------------
function seriesOf(results) {
  const names = new Set();
  for (const { result } of results) {
    for (const [name, value] of Object.entries(result)) {
      if (typeof value === "number") names.add(name);
      if (name === "detections" && Array.isArray(value)) names.add("detections");
    }
  }
  const ordered = PREFERRED_SERIES.filter((n) => names.has(n));
  return ordered.concat([...names].filter((n) => !ordered.includes(n)).sort());
}

function valueOf(result, name) {
  if (name === "detections") return Array.isArray(result.detections) ? result.detections.length : 0;
  return typeof result[name] === "number" ? result[name] : 0;
}

function pickFrames(results, name) {
  // One frame per equal slice of the video: the slice's frame with the most detections,
  // else its highest value of the plotted series.
  const count = Math.min(THUMBNAILS, results.length);
  const picks = [];
  for (let i = 0; i < count; i += 1) {
    const start = Math.floor((i * results.length) / count);
    const end = Math.floor(((i + 1) * results.length) / count);
    let best = start;
    for (let j = start; j < end; j += 1) {
      const score = (r) => valueOf(r.result, "detections") * 1e9 + valueOf(r.result, name);
      if (score(results[j]) > score(results[best])) best = j;
    }
    picks.push(results[best].frame_index);
  }
  return picks;
}

function drawPlot(results, name, marks) {
  const plot = $("#plot");
  const [W, H, left, right, top, bottom] = [800, 220, 48, 10, 12, 26];
  const values = results.map((r) => valueOf(r.result, name));
  const max = Math.max(...values, 0);
  const min = Math.min(...values, 0);
  const span = max - min || 1;
  const last = Math.max(results.length - 1, 1);
  const x = (i) => left + ((W - left - right) * i) / last;
  const y = (v) => top + (H - top - bottom) * (1 - (v - min) / span);
  const children = [
    svg("line", { class: "axis", x1: left, y1: H - bottom, x2: W - right, y2: H - bottom }),
    svg("line", { class: "axis", x1: left, y1: top, x2: left, y2: H - bottom }),
    svg("text", { x: 4, y: top + 10 }, max.toPrecision(3)),
    svg("text", { x: 4, y: H - bottom }, min.toPrecision(3)),
    svg("text", { x: left, y: H - 8 }, "frame 0"),
    svg("text", { x: W - right - 70, y: H - 8 }, `frame ${results.length - 1}`),
    svg("text", { x: W / 2 - 40, y: H - 8 }, name),
  ];
  results.forEach((r, i) => {
    if (r.result.scene_cut === true) {
      children.push(svg("line", { class: "cut", x1: x(i), y1: top, x2: x(i), y2: H - bottom }));
    }
  });
  const points = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  children.push(svg("polyline", { class: "series", points }));
  for (const index of marks) {
    children.push(svg("circle", { class: "mark", cx: x(index), cy: y(values[index]), r: 3.5 }));
  }
  plot.replaceChildren(...children);
  plot.onclick = (event) => {
    const box = plot.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * W;
    const index = Math.round(((px - left) / (W - left - right)) * last);
    if (index >= 0 && index < results.length) showFrames("#frame-view", [index], 960);
  };
}

async function loadImage(img, path) {
  // Fetched with the API key header (an <img src> could not send it), then shown as a blob.
  const blob = await (await api(path)).blob();
  const url = URL.createObjectURL(blob);
  state.objectUrls.push(url);
  img.src = url;
}

function showFrames(target, indexes, width) {
  const results = state.results.results;
  $(target).replaceChildren(...indexes.map((index) => {
    const found = valueOf(results[index].result, "detections");
    const img = el("img", { alt: `frame ${index}`, "data-frame": index });
    loadImage(img, `/video/jobs/${state.openJob}/frames/${index}.jpg?width=${width}`)
      .catch((error) => { img.alt = error.message; });
    return el("figure", {}, img, el("figcaption", {}, `frame ${index} · ${found} detection(s)`));
  }));
}

function renderResults() {
  const results = state.results.results;
  const name = $("#series-select").value;
  const marks = pickFrames(results, name);
  drawPlot(results, name, marks);
  showFrames("#thumbs", marks, THUMBNAIL_WIDTH);
}

async function openResults(jobId) {
  state.objectUrls.forEach((url) => URL.revokeObjectURL(url));
  state.objectUrls = [];
  state.openJob = jobId;
  state.jobsJson = "";
  const section = $("#results");
  section.hidden = false;
  $("#results-title").textContent = jobId;
  $("#frame-view").replaceChildren();
  try {
    state.results = await (await api(`/video/results/${jobId}`)).json();
  } catch (error) {
    $("#results-summary").textContent = error.message;
    return;
  }
  const { video, pipeline_id: pipeline, results } = state.results;
  $("#results-summary").textContent = `${pipeline} · ${video.frame_count} frames · `
    + `${video.width}×${video.height} · ${video.fps} fps · ${video.duration_s} s`;
  const series = seriesOf(results);
  $("#series-select").replaceChildren(...series.map((n) => el("option", { value: n }, n)));
  $("#series-select").onchange = renderResults;
  if (results.length && series.length) renderResults();
  refreshJobs();
  section.scrollIntoView({ behavior: "smooth" });
}

// -- start ----------------------------------------------------------------------------------
setupKey();
$("#upload-form").addEventListener("submit", upload);
loadPipelines();
refreshJobs();
setInterval(refreshJobs, POLL_MS);
