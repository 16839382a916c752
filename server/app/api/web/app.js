// The web page: submit an MP4, find and follow jobs, look at what a job found.
// Plain JS against the public /video API (the same calls the CLI makes); no build step.
// timeline.js (loaded first) draws the shots-and-tracks timeline.
"use strict";

const KEY_STORAGE = "videoJobsApiKey";
const POLL_MS = 1000;
const PAGE_SIZE = 25;
const THUMBNAILS = 6;
const THUMBNAIL_WIDTH = 320;  // shown at 220 CSS px: sharp on most screens, small to send
// Which per-frame value to plot first, when the results have it.
const PREFERRED_SERIES = ["motion_ratio", "score", "detections", "brightness", "sharpness",
  "contrast"];
const OPTION_INPUTS = { sample_fps: "#opt-sample-fps", start_s: "#opt-start", end_s: "#opt-end",
  min_confidence: "#opt-min-confidence", labels: "#opt-labels" };

const state = { key: localStorage.getItem(KEY_STORAGE) || "", jobsJson: "", openJob: null,
  results: null, summary: null, objectUrls: [], offset: 0, tag: "", total: 0, jobs: new Map(),
  pipelines: [], timeline: null };
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

const svg = svgNode;  // from timeline.js

// -- the API ----------------------------------------------------------------------------
function authHeaders() { return state.key ? { "X-API-Key": state.key } : {}; }

function describe(detail) {
  if (Array.isArray(detail)) return detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
  return String(detail);
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: authHeaders() });
  if (response.ok) return response;
  let detail = response.statusText;
  try { detail = describe((await response.json()).detail); } catch (_) { /* not JSON */ }
  if (response.status === 401) showKeyBox("This server needs an API key: " + detail);
  const error = new Error(`HTTP ${response.status}: ${detail}`);
  error.status = response.status;
  throw error;
}

async function objectUrl(path) {
  // Fetched with the API key header (an <img>, <video> or <a> could not send it).
  const url = URL.createObjectURL(await (await api(path)).blob());
  state.objectUrls.push(url);
  return url;
}

function jobName(job) { return job.filename || job.tag || job.job_id.slice(0, 8); }

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
    const chosen = select.value;
    state.pipelines = await (await api("/video/pipelines")).json();
    select.replaceChildren(...state.pipelines.map((p) => el("option", { value: p.id, title: p.description }, p.id)));
    // The API's default (what a submit naming none runs) unless one was already picked.
    const preselect = state.pipelines.find((p) => p.id === chosen) || state.pipelines.find((p) => p.default);
    if (preselect) select.value = preselect.id;
    const describeSelected = () => {
      const chosen = state.pipelines.find((p) => p.id === select.value);
      const labels = (chosen && chosen.labels) || [];
      $("#pipeline-description").textContent = chosen ? chosen.description : "";
      $("#label-list").replaceChildren(...labels.map((label) => el("option", { value: label })));
      $("#opt-labels").placeholder = labels.length ? `all, or e.g. ${labels.slice(0, 2).join(",")}` : "all";
    };
    select.onchange = describeSelected;
    describeSelected();
  } catch (error) {
    $("#pipeline-description").textContent = error.message;
  }
}

function uploadForm(file) {
  const form = new FormData();
  form.append("file", file);
  form.append("pipeline_id", $("#pipeline-select").value);
  const tag = $("#tag-input").value.trim();
  if (tag) form.append("tag", tag);
  for (const [name, selector] of Object.entries(OPTION_INPUTS)) {
    const value = $(selector).value.trim();
    if (value) form.append(name, value);
  }
  if ($("#opt-annotate").checked) form.append("annotate", "true");
  const zones = typeof zonesField === "function" ? zonesField() : "";  // zones.js
  if (zones) form.append("zones", zones);
  return form;
}

// The server's pipelines may have changed since the page loaded them: ask again before
// sending what may be gigabytes, and refuse an id it no longer lists.
async function pipelineUnknown(pipelineId) {
  try {
    state.pipelines = await (await api("/video/pipelines")).json();
  } catch (_) {
    return null; // let the submit itself answer
  }
  if (state.pipelines.some((p) => p.id === pipelineId)) return null;
  return `unknown pipeline '${pipelineId}'; valid ids are: ${state.pipelines.map((p) => p.id).join(", ")} (nothing was uploaded)`;
}

async function upload(event) {
  event.preventDefault();
  const file = $("#file-input").files[0];
  if (!file) return;
  const xhr = new XMLHttpRequest();
  const bar = $("#upload-progress");
  const message = $("#upload-message");
  const refused = await pipelineUnknown($("#pipeline-select").value);
  if (refused) {
    message.textContent = `Upload refused: ${refused}`;
    message.className = "error-text";
    loadPipelines();
    return;
  }
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
      const warnings = (body.warnings || []).map((w) => ` Warning: ${w}`).join("");
      message.textContent = `Submitted ${file.name} as job ${body.job_id} (${body.pipeline_id}).${warnings}`;
      message.dataset.jobId = body.job_id;
      showPage(0);
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
  xhr.send(uploadForm(file));
}

// -- the jobs list ------------------------------------------------------------------------
function jobsPath() {
  const params = new URLSearchParams({ limit: PAGE_SIZE, offset: state.offset });
  if (state.tag) params.set("tag", state.tag);
  return `/video/jobs?${params}`;
}

async function refreshJobs() {
  try {
    const page = await (await api(jobsPath())).json();
    $("#jobs-updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    state.total = page.total ?? page.jobs.length;
    if (page.jobs.length === 0 && state.offset > 0 && state.total > 0) {
      showPage(Math.max(0, Math.floor((state.total - 1) / PAGE_SIZE) * PAGE_SIZE));
      return;
    }
    renderPager(page.jobs.length);
    const json = JSON.stringify(page.jobs);
    if (json !== state.jobsJson) {  // re-render only on change, so buttons stay put
      state.jobsJson = json;
      state.jobs = new Map(page.jobs.map((job) => [job.job_id, job]));
      renderJobs(page.jobs);
    }
  } catch (error) {
    $("#jobs-updated").textContent = error.message;
  }
}

function showPage(offset) {
  state.offset = offset;
  state.jobsJson = "";
  refreshJobs();
}

function renderPager(count) {
  const first = count ? state.offset + 1 : 0;
  $("#page-info").textContent = `${first}–${state.offset + count} of ${state.total}`
    + (state.tag ? ` tagged “${state.tag}”` : "");
  $("#page-prev").disabled = state.offset === 0;
  $("#page-next").disabled = state.offset + count >= state.total;
}

function progressCell(job) {
  if (job.status !== "running") return "";
  const done = job.frames_done || 0;
  const total = job.frames_total;
  const pct = total ? Math.min(100, Math.floor((100 * done) / total)) : null;
  const eta = job.eta_s != null ? ` · ETA ${formatDuration(job.eta_s)}` : "";
  // A long video analysed as segments by several workers: how far its segments are.
  const seg = job.segments;
  const parts = seg ? ` · segments ${seg.completed}/${seg.total} done, ${seg.running} running` : "";
  const text = (pct != null ? `${pct}%${eta}` : `${done} frames${eta}`) + parts;
  return el("span", { class: "job-progress" },
    el("progress", { max: 100, value: pct ?? 0 }), el("span", { class: "pct" }, text));
}

async function cancelJob(jobId, button) {
  button.disabled = true;
  try {
    await api(`/video/jobs/${jobId}`, { method: "DELETE" });
  } catch (error) {
    $("#jobs-updated").textContent = `cancel failed: ${error.message}`;
  }
  state.jobsJson = "";
  refreshJobs();
}

function statusCell(job) {
  const cell = el("td", { class: "status-cell" }, el("span", { class: `status ${job.status}` }, job.status));
  const warnings = job.warnings || [];
  if (job.status === "completed" && warnings.length) {
    // Completed, but something went wrong quietly: say so before anyone trusts it.
    cell.append(" ", el("span", { class: "warning-badge", title: warnings.join("\n") },
      `⚠ ${warnings.length} warning${warnings.length > 1 ? "s" : ""}`));
  }
  cell.append(" ", progressCell(job));
  return cell;
}

function actionCell(job) {
  if (job.status === "completed") {
    return el("a", { class: "results-link", href: `#job=${job.job_id}` }, "results");
  }
  if (job.status === "pending" || job.status === "running") {
    return el("button", { class: "cancel", type: "button",
      onclick: (event) => cancelJob(job.job_id, event.target) }, "cancel");
  }
  return job.error_message ? el("span", { class: "error" }, job.error_message) : "";
}

function renderJobs(jobs) {
  $("#jobs-empty").hidden = jobs.length > 0;
  $("#jobs-empty").textContent = state.tag ? `No jobs tagged “${state.tag}”.` : "No jobs yet.";
  $("#jobs tbody").replaceChildren(...jobs.map((job) => {
    const name = el("td", { class: "name", title: `job ${job.job_id}` }, jobName(job));
    if (job.tag && job.filename) name.append(" ", el("span", { class: "tag" }, job.tag));
    return el("tr", { "data-job-id": job.job_id, "data-status": job.status,
      class: job.job_id === state.openJob ? "open" : "" },
      el("td", { class: "created" }, new Date(job.created_at).toLocaleString()),
      name,
      el("td", { class: "pipeline" }, job.pipeline_id),
      statusCell(job),
      el("td", { class: "action" }, actionCell(job)));
  }));
}

function setupJobs() {
  $("#search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.tag = $("#search-tag").value.trim();
    showPage(0);
  });
  $("#search-clear").addEventListener("click", () => {
    $("#search-tag").value = "";
    state.tag = "";
    showPage(0);
  });
  $("#page-prev").addEventListener("click", () => showPage(Math.max(0, state.offset - PAGE_SIZE)));
  $("#page-next").addEventListener("click", () => showPage(state.offset + PAGE_SIZE));
}
