// A completed job's per-frame results, fetched in bounded pages (never the whole
// document: a 200,000-frame job's is tens of MB): every frame up to RESULTS_BUDGET,
// else RESULTS_STRETCHES evenly spaced stretches of one page each. Also the track
// segments for the timeline: where each track was seen, from those frames.
"use strict";

const RESULTS_PAGE = 5000;
const RESULTS_BUDGET = 20000;
const RESULTS_STRETCHES = 4;

async function resultsPage(jobId, offset) {
  const path = `/video/results/${jobId}?offset=${offset}&limit=${RESULTS_PAGE}`;
  return (await api(path)).json();
}

// -> { video, pipeline_id, warnings, results, stretches: [[first, end), ...], complete, total }
async function loadResults(job) {
  const first = await resultsPage(job.job_id, 0);
  const loaded = { video: first.video, pipeline_id: first.pipeline_id,
    warnings: first.warnings || [], results: first.results.slice(), complete: true,
    stretches: [[0, first.results.length]], total: first.results.length };
  if (first.next_offset == null) return loaded;
  const total = job.frames_done || 0;
  if (total <= RESULTS_BUDGET) {
    let next = first.next_offset;
    while (next != null && loaded.results.length < RESULTS_BUDGET) {
      const page = await resultsPage(job.job_id, next);
      loaded.results.push(...page.results);
      next = page.next_offset;
    }
    loaded.complete = next == null;
    loaded.stretches = [[0, loaded.results.length]];
    loaded.total = loaded.complete ? loaded.results.length : Math.max(total, loaded.results.length);
    return loaded;
  }
  // Too many frames to fetch them all: stretches spread over the job, the first at 0.
  loaded.complete = false;
  loaded.total = total;
  for (let i = 1; i < RESULTS_STRETCHES; i += 1) {
    const offset = Math.floor((i * (total - RESULTS_PAGE)) / (RESULTS_STRETCHES - 1));
    const page = await resultsPage(job.job_id, Math.max(offset, RESULTS_PAGE));
    const start = loaded.results.length;
    loaded.results.push(...page.results);
    loaded.stretches.push([start, loaded.results.length]);
  }
  return loaded;
}

// Map track_id -> [[start_ms, end_ms], ...]: one segment per run of consecutive analysed
// frames the track has a box on; a frame stands until the next analysed one.
function trackSegments(results, video) {
  const segments = new Map();
  const lastSeen = new Map();
  const step = video.fps ? 1000 / video.fps : 40;
  results.forEach((item, i) => {
    const start = timeOf(item, video);
    const end = i + 1 < results.length ? timeOf(results[i + 1], video) : start + step;
    for (const detection of item.result.detections || []) {
      const id = detection.track_id;
      if (id == null || lastSeen.get(id) === i) continue;
      const runs = segments.get(id) || [];
      if (lastSeen.get(id) === i - 1 && runs.length) runs[runs.length - 1][1] = end;
      else runs.push([start, end]);
      segments.set(id, runs);
      lastSeen.set(id, i);
    }
  });
  return segments;
}
