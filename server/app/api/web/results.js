// The results of one completed job: downloads, the annotated video with the timeline of
// shots and tracks under it, the per-frame plot and frames with their boxes drawn.
"use strict";

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

function timeOf(item, video) {
  // The decoder's timestamp when the results have it, else the nominal frame time.
  if (typeof item.timestamp_ms === "number") return item.timestamp_ms;
  return video.fps ? (1000 * item.frame_index) / video.fps : item.frame_index;
}

function pickFrames(results, name) {
  // One result per equal slice of the results: the one with the most detections, else
  // the highest value of the plotted series. Returns positions in `results`.
  const count = Math.min(THUMBNAILS, results.length);
  const picks = [];
  const score = (r) => valueOf(r.result, "detections") * 1e9 + valueOf(r.result, name);
  for (let i = 0; i < count; i += 1) {
    const start = Math.floor((i * results.length) / count);
    const end = Math.floor(((i + 1) * results.length) / count);
    let best = start;
    for (let j = start; j < end; j += 1) if (score(results[j]) > score(results[best])) best = j;
    picks.push(best);
  }
  return picks;
}

function extent(values) {
  // Min and max in one pass (Math.max(...values) overflows the stack past ~100k values).
  let [min, max] = [0, 0];
  for (const v of values) { if (v < min) min = v; if (v > max) max = v; }
  return [min, max];
}

function envelope(positions, xs, ys) {
  // At most two points (lowest, highest) per plot pixel, in order: a polyline of a
  // 20,000-frame stretch stays ~1,500 points and looks the same.
  const points = [];
  let column = null;
  let low = null;
  let high = null;
  const flush = () => {
    if (low === null) return;
    const pair = low === high ? [low] : [Math.min(low, high), Math.max(low, high)];
    for (const i of pair) points.push(`${xs[i].toFixed(1)},${ys[i].toFixed(1)}`);
  };
  for (const i of positions) {
    const c = Math.round(xs[i]);
    if (c !== column) { flush(); column = c; low = i; high = i; continue; }
    if (ys[i] > ys[low]) low = i;  // SVG y grows downwards: larger y is a lower value
    if (ys[i] < ys[high]) high = i;
  }
  flush();
  return points.join(" ");
}

function drawPlot(loaded, name, marks) {
  const { results, video, stretches } = loaded;
  const plot = $("#plot");
  const [W, H, left, right, top, bottom] = [800, 220, 48, 10, 12, 26];
  const values = results.map((r) => valueOf(r.result, name));
  const [min, max] = extent(values);
  const span = max - min || 1;
  const startMs = results.length ? timeOf(results[0], video) : 0;
  const endMs = results.length ? timeOf(results[results.length - 1], video) : 0;
  const length = Math.max(endMs - startMs, 1);
  const xOfMs = (ms) => left + ((W - left - right) * (ms - startMs)) / length;
  const xs = results.map((r) => xOfMs(timeOf(r, video)));
  const ys = values.map((v) => top + (H - top - bottom) * (1 - (v - min) / span));
  const children = [
    svg("line", { class: "axis", x1: left, y1: H - bottom, x2: W - right, y2: H - bottom }),
    svg("line", { class: "axis", x1: left, y1: top, x2: left, y2: H - bottom }),
    svg("text", { x: 4, y: top + 10 }, max.toPrecision(3)),
    svg("text", { x: 4, y: H - bottom }, min.toPrecision(3)),
    svg("text", { x: left, y: H - 8 }, results.length ? formatTime(startMs, true) : ""),
    svg("text", { x: W - right - 50, y: H - 8 }, formatTime(endMs, true)),
    svg("text", { x: W / 2 - 40, y: H - 8 }, name),
  ];
  const cutColumns = new Set();  // one line per pixel column, however many cuts
  results.forEach((r, i) => {
    const column = Math.round(xs[i]);
    if (r.result.scene_cut === true && !cutColumns.has(column)) {
      cutColumns.add(column);
      children.push(svg("line", { class: "cut", x1: xs[i], y1: top, x2: xs[i], y2: H - bottom }));
    }
  });
  for (const [first, end] of stretches) {  // a gap where frames were not fetched
    const positions = Array.from({ length: end - first }, (_, k) => first + k);
    if (positions.length) children.push(svg("polyline", { class: "series", points: envelope(positions, xs, ys) }));
  }
  for (const i of marks) children.push(svg("circle", { class: "mark", cx: xs[i], cy: ys[i], r: 3.5 }));
  plot.replaceChildren(...children);
  plot.onclick = (event) => {
    const box = plot.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * W;
    const ms = startMs + ((px - left) / (W - left - right)) * length;
    if (ms >= startMs - 1 && ms <= endMs + 1 && results.length) showFrames("#frame-view", [nearestAt(ms)], 960);
  };
}

function nearestAt(ms) {
  // Position of the analysed frame closest to `ms` (results are in time order).
  const { results, video } = state.results;
  let lo = 0;
  let hi = results.length - 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (timeOf(results[mid], video) < ms) lo = mid + 1; else hi = mid;
  }
  if (lo > 0 && Math.abs(timeOf(results[lo - 1], video) - ms) < Math.abs(timeOf(results[lo], video) - ms)) lo -= 1;
  return lo;
}

function showFrames(target, positions, width) {
  const { results, video } = state.results;
  $(target).replaceChildren(...positions.map((i) => {
    const { frame_index: index, result } = results[i];
    const img = el("img", { alt: `frame ${index}`, "data-frame": index });
    objectUrl(`/video/jobs/${state.openJob}/frames/${index}.jpg?width=${width}`)
      .then((url) => { img.src = url; })
      .catch((error) => { img.alt = error.message; });
    const caption = `${formatTime(timeOf(results[i], video), true)} · frame ${index} · `
      + `${valueOf(result, "detections")} detection(s)`;
    return el("figure", {}, img, el("figcaption", {}, caption));
  }));
}

function renderResults() {
  const results = state.results.results;
  const name = $("#series-select").value;
  const marks = pickFrames(results, name);
  drawPlot(state.results, name, marks);
  showFrames("#thumbs", marks, THUMBNAIL_WIDTH);
}

function downloadLink(label, path, filename) {
  // Without a key a plain link (the browser streams it); with one, fetched then saved.
  const link = el("a", { href: path, download: filename, class: "download" }, label);
  if (state.key) {
    link.addEventListener("click", async (event) => {
      event.preventDefault();
      try {
        const a = el("a", { href: await objectUrl(path), download: filename });
        document.body.append(a);
        a.click();
        a.remove();
      } catch (error) { link.textContent = `${label}: ${error.message}`; }
    });
  }
  return link;
}

function renderDownloads(job) {
  const base = `/video/jobs/${job.job_id}`;
  const links = [downloadLink("detections.csv", `${base}/detections.csv`, `${jobName(job)}.csv`),
    downloadLink("tracks.vtt", `${base}/tracks.vtt`, `${jobName(job)}.vtt`),
    downloadLink("chapters.vtt", `${base}/chapters.vtt`, `${jobName(job)}-chapters.vtt`),
    downloadLink("results.json", `/video/results/${job.job_id}`, `${jobName(job)}.json`)];
  if (seriesOf(state.results.results.slice(0, 1)).includes("brightness")) {
    links.splice(3, 0, downloadLink("quality.csv", `${base}/quality.csv`, `${jobName(job)}-quality.csv`));
  }
  if (job.options && job.options.zones) {
    links.splice(3, 0, downloadLink("events.csv", `${base}/events.csv`, `${jobName(job)}-events.csv`));
  }
  if (job.options && job.options.annotate) {
    links.splice(3, 0, downloadLink("annotated.mp4", `${base}/annotated.mp4`, `${jobName(job)}-annotated.mp4`));
  }
  $("#downloads").replaceChildren("Download: ", ...links.flatMap((link, i) => (i ? [" · ", link] : [link])));
}

async function showVideo(job) {
  const video = $("#annotated-video");
  video.hidden = true;
  video.removeAttribute("src");
  $("#video-message").textContent = "";
  if (!(job.options && job.options.annotate)) return;
  const path = `/video/jobs/${job.job_id}/annotated.mp4`;
  video.onerror = () => {
    video.hidden = true;
    $("#video-message").textContent = "The annotated video is not available.";
  };
  video.ontimeupdate = () => { if (state.timeline) state.timeline.setPlayhead(video.currentTime * 1000); };
  try {
    // Without a key the browser streams it with Range requests (it can seek at once).
    const src = state.key ? await objectUrl(path) : path;
    if (state.openJob !== job.job_id) return;
    video.src = src;
    video.hidden = false;
  } catch (error) {
    $("#video-message").textContent = `The annotated video is not available (${error.message}).`;
  }
}

function pickTime(ms) {
  const video = $("#annotated-video");
  if (!video.hidden && video.src) video.currentTime = ms / 1000;
  if (state.timeline) state.timeline.setPlayhead(ms);
  if (state.results && state.results.results.length) showFrames("#frame-view", [nearestAt(ms)], 960);
}

async function showTimeline(job) {
  state.timeline = null;
  const box = $("#timeline");
  box.replaceChildren();
  try {
    const summary = await (await api(`/video/jobs/${job.job_id}/summary`)).json();
    if (state.openJob !== job.job_id) return;  // another job's results are shown now
    state.summary = summary;
  } catch (error) {
    state.summary = null;
    $("#timeline-message").textContent = `Shots and tracks are not available (${error.message}).`;
    $("#timeline-box").hidden = true;
    return;
  }
  const video = state.summary.video || state.results.video;
  const durationMs = 1000 * (video.duration_s || state.results.video.duration_s || 0);
  // Individuals (tracks of one object joined); an older summary has tracks only.
  const labels = (state.summary.labels || []).map((l) => {
    const individuals = l.individuals ?? l.tracks;
    const tracks = individuals === l.tracks ? "" : ` in ${l.tracks} tracks`;
    return `${l.label}: ${individuals} individual(s)${tracks}, `
      + `${formatTime(l.screen_time_ms, true)} on screen`;
  });
  $("#timeline-message").textContent = [`${(state.summary.shots || []).length} shot(s)`, ...labels].join(" · ");
  $("#timeline-box").hidden = false;
  // Gaps in the lanes need every frame; past the fetch budget a lane spans first to last sighting.
  const segments = state.results.complete ? trackSegments(state.results.results, state.results.video) : null;
  state.timeline = drawTimeline(box, state.summary, durationMs, pickTime, segments);
  if (typeof showZones === "function") showZones(job, state.summary);  // zones.js
  showKeyframes(job.job_id, state.summary.shots || []);
}

function showKeyframes(jobId, shots) {
  // One thumbnail per shot (the worker's keyframe JPEGs); a click seeks there.
  $("#keyframes").replaceChildren(...shots.filter((s) => s.keyframe).map((shot) => {
    const img = el("img", { alt: `shot ${shot.index + 1}`, "data-shot": shot.index });
    objectUrl(`/video/jobs/${jobId}/shots/${shot.index}.jpg`)
      .then((url) => { img.src = url; })
      .catch((error) => { img.alt = error.message; });
    const figure = el("figure", { class: "keyframe", title: `Shot ${shot.index + 1}` }, img,
      el("figcaption", {}, `${shot.index + 1} · ${formatTime(shot.keyframe.timestamp_ms, true)}`));
    figure.addEventListener("click", () => pickTime(shot.keyframe.timestamp_ms));
    return figure;
  }));
}

async function openResults(jobId) {
  if (!/^[0-9a-f-]{36}$/i.test(jobId)) return;
  state.objectUrls.forEach((url) => URL.revokeObjectURL(url));
  state.objectUrls = [];
  state.openJob = jobId;
  state.jobsJson = "";
  const section = $("#results");
  section.hidden = false;
  $("#frame-view").replaceChildren();
  $("#results-warnings").replaceChildren();
  let job;
  try {
    job = state.jobs.get(jobId) || await (await api(`/video/status/${jobId}`)).json();
    if (job.status !== "completed") throw new Error(`job ${jobId} is ${job.status}; results exist once it has completed`);
    const loaded = await loadResults(job);
    if (state.openJob !== jobId) return;  // another job was opened meanwhile: it owns the view
    state.results = loaded;
  } catch (error) {
    if (state.openJob !== jobId) return;
    $("#results-title").textContent = "";
    $("#results-summary").textContent = error.message;
    ["#results-warnings", "#downloads", "#plot", "#thumbs", "#timeline"].forEach((s) => $(s).replaceChildren());
    $("#annotated-video").hidden = true;
    return;
  }
  $("#results-title").textContent = `${jobName(job)} `;
  $("#results-title").title = `job ${jobId}`;
  const { video, pipeline_id: pipeline, results, complete, total } = state.results;
  const shown = complete ? "" : ` (plotted: ${results.length} of them, in ${state.results.stretches.length} stretches)`;
  $("#results-summary").textContent = `${pipeline} · ${total} frames analysed${shown} · `
    + `${video.width}×${video.height} · ${video.fps} fps · ${formatDuration(video.duration_s)}`;
  const warnings = state.results.warnings.length ? state.results.warnings : (job.warnings || []);
  $("#results-warnings").replaceChildren(...warnings.map((warning) => el("li", {}, warning)));
  $("#results-title").append(warnings.length
    ? el("span", { class: "warning-badge" }, `⚠ completed with ${warnings.length} warning${warnings.length > 1 ? "s" : ""}`)
    : "");
  renderDownloads(job);
  const series = seriesOf(results);
  $("#series-select").replaceChildren(...series.map((n) => el("option", { value: n }, n)));
  $("#series-select").onchange = renderResults;
  if (results.length && series.length) renderResults();
  await Promise.all([showVideo(job), showTimeline(job)]);
  if (state.openJob !== jobId) return;
  refreshJobs();
  section.scrollIntoView({ behavior: "smooth" });
}

// -- a URL per job's results: #job=<id>, at a time with &t=<ms> (search matches) ---------
function jobInUrl() {
  const match = /^#job=([0-9a-f-]{36})(?:&t=\d+)?$/i.exec(location.hash);
  return match ? match[1].toLowerCase() : null;
}

function timeInUrl() {
  const match = /&t=(\d+)$/.exec(location.hash);
  return match ? Number(match[1]) : null;
}

async function followUrl() {
  const jobId = jobInUrl();
  if (!jobId) return;
  if (jobId !== state.openJob) await openResults(jobId);
  const ms = timeInUrl();
  if (ms !== null && state.openJob === jobId && state.results) pickTime(ms);
}

// -- start ----------------------------------------------------------------------------------
setupKey();
setupJobs();
$("#upload-form").addEventListener("submit", upload);
loadPipelines();
refreshJobs();
setInterval(refreshJobs, POLL_MS);
window.addEventListener("hashchange", followUrl);
followUrl();
