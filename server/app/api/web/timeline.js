// The timeline of a completed job, in seconds: shot boundaries across the top and one
// lane per track (from GET /video/jobs/{id}/summary), a playhead that follows the
// annotated video. Plain SVG, no library; app.js calls drawTimeline().
"use strict";

const TIMELINE = { width: 800, left: 110, right: 12, top: 22, shotLane: 16, lane: 15,
  maxLanes: 40 };
const LABEL_COLOURS = ["#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2",
  "#65a30d", "#dc2626", "#4b5563", "#c026d3"];

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

function labelColour(label, known) {
  if (!known.has(label)) known.set(label, LABEL_COLOURS[known.size % LABEL_COLOURS.length]);
  return known.get(label);
}

function svgNode(tag, attrs = {}, text = "") {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

// Draws into `svg`; returns { x(ms), msAt(clientX), setPlayhead(ms) } for app.js.
function drawTimeline(svg, summary, durationMs, onPick) {
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
      children.push(svgNode("text", { class: "tick-label", x: x(t) + 2, y: top - 8 }, formatTime(t)));
    }
  }
  children.push(svgNode("text", { class: "lane-label", x: 4, y: top + shotLane - 4 },
    `shots (${(summary.shots || []).length})`));
  (summary.shots || []).forEach((shot, i) => {
    const end = (summary.shots[i + 1] || {}).start_ms ?? span;
    children.push(svgNode("rect", { class: `shot ${i % 2 ? "odd" : "even"}`, x: x(shot.start_ms),
      y: top, width: Math.max(x(end) - x(shot.start_ms), 1), height: shotLane,
      "data-shot": shot.index }));
    if (i > 0) {
      children.push(svgNode("line", { class: "cut", x1: x(shot.start_ms), y1: top,
        x2: x(shot.start_ms), y2: height }));
    }
  });
  const colours = new Map();
  shown.forEach((track, i) => {
    const y = top + shotLane + 6 + i * lane;
    const colour = labelColour(track.label, colours);
    children.push(svgNode("text", { class: "lane-label", x: 4, y: y + lane - 4 },
      `${track.label} #${track.track_id}`));
    const bar = svgNode("rect", { class: "track", x: x(track.start_ms), y: y + 2,
      width: Math.max(x(track.end_ms) - x(track.start_ms), 2), height: lane - 4, rx: 2,
      fill: colour, "data-track": track.track_id });
    bar.append(svgNode("title", {}, `${track.label} #${track.track_id}: `
      + `${formatTime(track.start_ms, true)}–${formatTime(track.end_ms, true)}, `
      + `${track.frames} frames, best ${Number(track.max_confidence).toFixed(2)}`));
    children.push(bar);
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
