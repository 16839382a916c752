// The timeline of a completed job, in seconds: shot boundaries across the top and one
// lane per track (from GET /video/jobs/{id}/summary), a playhead that follows the
// annotated video. Plain SVG, no library; results.js calls drawTimeline(). Its size
// does not grow with the video: shots narrower than a pixel share one rectangle and
// one cut line is drawn per pixel column (49,753 shots draw ~800 rectangles).
"use strict";

const TIMELINE = { width: 800, left: 110, right: 12, top: 22, shotLane: 16, lane: 15,
  maxLanes: 40 };

function formatTime(ms, precise = false) {
  // 75400 -> "1:15" (or "1:15.4" when precise); past an hour "1:02:05".
  const total = Math.max(0, ms) / 1000;
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const secs = precise ? seconds.toFixed(1).padStart(4, "0") : String(Math.floor(seconds)).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}

function formatDuration(seconds) {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function tickStep(durationMs) {
  // About eight ticks at a step a person reads easily.
  const steps = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  const wanted = durationMs / 1000 / 8;
  return (steps.find((s) => s >= wanted) || 3600) * 1000;
}

function trackColour(trackId) {
  // TRACK_COLOURS (palette.js) is the annotator's list: the lane has the colour the
  // track has on the frame images and in the annotated video.
  return TRACK_COLOURS[trackId % TRACK_COLOURS.length];
}

function svgNode(tag, attrs = {}, text = "") {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function shotRects(shots, x, spanMs) {
  // [{ first, last, start_ms, end_ms }] groups of consecutive shots, each >= 1 px wide.
  const groups = [];
  shots.forEach((shot, i) => {
    const end = (shots[i + 1] || {}).start_ms ?? spanMs;
    const open = groups[groups.length - 1];
    if (open && x(open.end_ms) - x(open.start_ms) < 1) {
      open.last = i;
      open.end_ms = end;
    } else {
      groups.push({ first: i, last: i, start_ms: shot.start_ms, end_ms: end });
    }
  });
  return groups;
}

function laneRuns(runs, x) {
  // Runs closer than a pixel merge: a lane draws at most one rectangle per pixel.
  const merged = [];
  for (const [start, end] of runs) {
    const open = merged[merged.length - 1];
    if (open && x(start) - x(open[1]) < 1) open[1] = Math.max(open[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

// Draws into `svg`; returns { x(ms), msAt(clientX), setPlayhead(ms) } for results.js.
// `segments` (Map track_id -> [[start_ms, end_ms], ...]) draws each lane where its
// track was seen; without it a lane spans the track's first to last sighting.
function drawTimeline(svg, summary, durationMs, onPick, segments = null) {
  const { width: W, left, right, top, shotLane, lane, maxLanes } = TIMELINE;
  const tracks = [...(summary.tracks || [])].sort((a, b) => a.start_ms - b.start_ms
    || a.track_id - b.track_id);
  const shown = tracks.slice(0, maxLanes);
  const height = top + shotLane + 6 + shown.length * lane + (tracks.length > maxLanes ? 16 : 4);
  svg.setAttribute("viewBox", `0 0 ${W} ${height}`);
  const span = Math.max(durationMs, 1);
  const x = (ms) => left + ((W - left - right) * Math.min(Math.max(ms, 0), span)) / span;
  const children = [];
  const step = tickStep(span);
  for (let t = 0; t <= span + 1; t += step) {
    children.push(svgNode("line", { class: "tick", x1: x(t), y1: top - 4, x2: x(t), y2: height }));
    if (x(t) < W - 28) {  // no label cut off at the right edge
      children.push(svgNode("text", { class: "tick-label", x: x(t) + 2, y: top - 8 }, formatTime(t, step < 1000)));
    }
  }
  children.push(svgNode("text", { class: "lane-label", x: 4, y: top + shotLane - 4 },
    `shots (${(summary.shots || []).length})`));
  shotRects(summary.shots || [], x, span).forEach((group, i) => {
    const shots = group.last - group.first + 1;
    const rect = svgNode("rect", { class: `shot ${i % 2 ? "odd" : "even"}`, x: x(group.start_ms),
      y: top, width: Math.max(x(group.end_ms) - x(group.start_ms), 1), height: shotLane,
      "data-shot": summary.shots[group.first].index, "data-shots": shots });
    rect.append(svgNode("title", {}, shots > 1 ? `shots ${group.first + 1}–${group.last + 1}`
      : `shot ${group.first + 1}`));
    children.push(rect);
    if (group.first > 0) {
      children.push(svgNode("line", { class: "cut", x1: x(group.start_ms), y1: top,
        x2: x(group.start_ms), y2: height }));
    }
  });
  shown.forEach((track, i) => {
    const y = top + shotLane + 6 + i * lane;
    const colour = trackColour(track.track_id);
    children.push(svgNode("text", { class: "lane-label", x: 4, y: y + lane - 4 },
      `${track.label} #${track.track_id}`));
    const title = `${track.label} #${track.track_id}: `
      + `${formatTime(track.start_ms, true)}–${formatTime(track.end_ms, true)}, `
      + `seen on ${track.frames} frames, best ${Number(track.max_confidence).toFixed(2)}`;
    const seen = segments && segments.get(track.track_id);
    if (seen) {  // the extent, faint, and a solid piece where the track was seen
      children.push(svgNode("rect", { class: "track-extent", x: x(track.start_ms), y: y + 2,
        width: Math.max(x(track.end_ms) - x(track.start_ms), 2), height: lane - 4, rx: 2,
        fill: colour }));
    }
    for (const [start, end] of laneRuns(seen || [[track.start_ms, track.end_ms]], x)) {
      const bar = svgNode("rect", { class: "track", x: x(start), y: y + 2,
        width: Math.max(x(end) - x(start), 2), height: lane - 4, rx: 2, fill: colour,
        "data-track": track.track_id });
      bar.append(svgNode("title", {}, title));
      children.push(bar);
    }
  });
  if (tracks.length > maxLanes) {
    children.push(svgNode("text", { class: "lane-label", x: 4, y: height - 4 },
      `+ ${tracks.length - maxLanes} more tracks (see detections.csv)`));
  }
  const playhead = svgNode("line", { class: "playhead", x1: left, y1: top - 4, x2: left,
    y2: height, visibility: "hidden" });
  children.push(playhead);
  svg.replaceChildren(...children);
  const msAt = (clientX) => {
    const box = svg.getBoundingClientRect();
    const px = ((clientX - box.left) / box.width) * W;
    return ((px - left) / (W - left - right)) * span;
  };
  svg.onclick = (event) => {
    const ms = msAt(event.clientX);
    if (ms >= 0 && ms <= span) onPick(ms);
  };
  return {
    x,
    msAt,
    setPlayhead(ms) {
      playhead.setAttribute("x1", x(ms));
      playhead.setAttribute("x2", x(ms));
      playhead.setAttribute("visibility", "visible");
    },
  };
}
