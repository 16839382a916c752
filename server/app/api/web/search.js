// The "Search all jobs" box: GET /video/search by label, text read on screen, tag and
// minimum individuals, over every completed job. Each match links to its job's results
// at the match's time (#job=<id>&t=<ms>), which results.js opens and seeks.
"use strict";

const FIND_PAGE = 10;
const FIND_INPUTS = { label: "#find-label", text: "#find-text", tag: "#find-tag",
  min_individuals: "#find-min" };
const finder = { params: null, offset: 0 };

function findParams() {
  const params = new URLSearchParams();
  for (const [name, selector] of Object.entries(FIND_INPUTS)) {
    const value = $(selector).value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

function matchLink(jobId, match) {
  const what = match.kind === "text" ? `“${match.value}”` : match.value;
  const track = match.track_id != null ? ` #${match.track_id}` : "";
  const times = `${formatTime(match.start_ms, true)}–${formatTime(match.end_ms, true)}`;
  return el("a", { class: `match ${match.kind}`, href: `#job=${jobId}&t=${match.start_ms}`,
    title: `open the results at ${times}` }, `${what}${track} ${times}`);
}

function renderFound(page) {
  $("#find-results").replaceChildren(...page.items.map((item) => {
    const name = el("a", { class: "results-link", href: `#job=${item.job_id}`,
      title: `job ${item.job_id}` }, item.filename || item.job_id.slice(0, 8));
    const head = el("div", { class: "found-job" }, name);
    if (item.tag) head.append(" ", el("span", { class: "tag" }, item.tag));
    return el("li", { "data-job-id": item.job_id }, head,
      el("div", { class: "matches" }, ...item.matches.map((m) => matchLink(item.job_id, m))));
  }));
  const count = page.items.length;
  $("#find-message").textContent = page.total ? "" : "No completed job matches.";
  $("#find-pager").hidden = page.total <= FIND_PAGE && finder.offset === 0;
  $("#find-info").textContent = count ? `${finder.offset + 1}–${finder.offset + count} of ${page.total}` : "";
  $("#find-prev").disabled = finder.offset === 0;
  $("#find-next").disabled = finder.offset + count >= page.total;
}

async function find(offset) {
  finder.offset = offset;
  const params = new URLSearchParams(finder.params);
  params.set("limit", FIND_PAGE);
  params.set("offset", offset);
  try {
    renderFound(await (await api(`/video/search?${params}`)).json());
  } catch (error) {
    $("#find-results").replaceChildren();
    $("#find-pager").hidden = true;
    $("#find-message").textContent = error.message;
  }
}

function setupFind() {
  $("#find-form").addEventListener("submit", (event) => {
    event.preventDefault();
    finder.params = findParams();
    if ([...finder.params.keys()].length === 0) {
      $("#find-message").textContent = "Give a label, a text, a tag or a number of individuals.";
      return;
    }
    find(0);
  });
  $("#find-prev").addEventListener("click", () => find(Math.max(0, finder.offset - FIND_PAGE)));
  $("#find-next").addEventListener("click", () => find(finder.offset + FIND_PAGE));
}

setupFind();
