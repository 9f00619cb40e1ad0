"use strict";
const params = new URLSearchParams(location.search);
if (params.has("token")) {
  sessionStorage.setItem("lbmirror-admin-token", params.get("token"));
  history.replaceState(null, "", location.pathname + location.hash);
}
const token = sessionStorage.getItem("lbmirror-admin-token") || "";
const $ = (id) => document.getElementById(id);

async function api(path, body) {
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? { authorization: "Bearer " + token }
      : { authorization: "Bearer " + token, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || response.status);
  return answer;
}
// Every value goes in as text.
function cell(row, value, className) {
  const td = document.createElement("td");
  td.textContent = value === null || value === undefined ? "–" : String(value);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}
// A table of a header row and rows of values, all as text.
function textTable(headers, rows) {
  const table = document.createElement("table");
  for (const values of [headers, ...rows]) {
    const row = document.createElement("tr");
    for (const value of values) cell(row, value);
    table.appendChild(row);
  }
  return table;
}
function status(text) { $("status").textContent = text; }

// A chart is drawn from series: [name, values], one line each, in a colour kept per name.
const PALETTE = ["#3d5afe", "#e65100", "#2e7d32", "#c2185b", "#6d4c41", "#00838f", "#9e9d24", "#5e35b1"];
const colours = new Map();
function colourOf(name) {
  if (!colours.has(name)) colours.set(name, PALETTE[colours.size % PALETTE.length]);
  return colours.get(name);
}
// One series per name found in points[i][field] (an object of name: number).
function byName(points, field) {
  const names = [...new Set(points.flatMap((p) => Object.keys(p[field] || {})))].sort();
  return names.map((name) => [name, points.map((p) => (p[field] || {})[name] ?? 0)]);
}
const lines = (points, pairs) => pairs.map(([name, value]) => [name, points.map(value)]);
const CHARTS = [
  ["webhooks", "webhooks / s by type", (pts) => byName(pts, "webhooks_by_type_per_s")],
  ["ack", "acknowledgement (ms)", (pts) => lines(pts, [["p99", (p) => p.ack_p99_ms], ["mean", (p) => p.ack_mean_ms]])],
  ["queue", "targets pending and failed", (pts) => lines(pts, [["pending", (p) => p.pending], ["failed", (p) => p.failed]])],
  ["lag", "lag: oldest pending (s)", (pts) => lines(pts, [["lag", (p) => p.lag_s]])],
  ["rest", "REST reads / s by outcome", (pts) => byName(pts, "rest_reads_per_s")],
  ["mirrored", "targets / s", (pts) => lines(pts, [["mirrored", (p) => p.mirrored_per_s], ["failed attempts", (p) => p.failed_attempts_per_s]])],
  ["repaired", "repaired by reconciliation", (pts) => lines(pts, [["repaired", (p) => p.repaired]])],
];
const SVG = "http://www.w3.org/2000/svg";
function drawChart(id, caption, series) {
  let figure = $("chart-" + id);
  if (!figure) {
    figure = document.createElement("figure");
    figure.id = "chart-" + id;
    figure.appendChild(document.createElement("figcaption"));
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 360 60");
    svg.setAttribute("preserveAspectRatio", "none");
    figure.appendChild(svg);
    const legend = document.createElement("div");
    legend.className = "legend";
    figure.appendChild(legend);
    $("charts").appendChild(figure);
  }
  const numbers = series.map(([name, values]) => [name, values.map((v) => (typeof v === "number" ? v : 0))]);
  // Lines that stay at zero are left out, unless all do: then the first shows the zeros.
  let drawn = numbers.filter(([, values]) => values.some((v) => v > 0));
  if (!drawn.length) drawn = numbers.slice(0, 1);
  const max = Math.max(0, ...drawn.flatMap(([, values]) => values));
  figure.querySelector("figcaption").textContent = caption + " — max " + max.toFixed(1);
  figure.dataset.max = String(max);
  const svg = figure.querySelector("svg");
  const legend = figure.querySelector(".legend");
  svg.replaceChildren();
  legend.replaceChildren();
  for (const [name, values] of drawn) {
    const line = document.createElementNS(SVG, "polyline");
    const step = values.length > 1 ? 360 / (values.length - 1) : 0;
    line.setAttribute("points", values.map((v, i) => (i * step).toFixed(1) + "," +
      (58 - (max > 0 ? (v / max) * 56 : 0)).toFixed(1)).join(" "));
    line.setAttribute("stroke", colourOf(name));
    line.dataset.series = name;
    line.dataset.max = String(Math.max(0, ...values));
    svg.appendChild(line);
    const entry = document.createElement("span");
    const swatch = document.createElementNS(SVG, "svg");
    swatch.setAttribute("viewBox", "0 0 10 10");
    const mark = document.createElementNS(SVG, "rect");
    for (const [k, v] of [["width", "10"], ["height", "10"], ["fill", colourOf(name)]]) mark.setAttribute(k, v);
    swatch.appendChild(mark);
    entry.append(swatch, document.createTextNode(name + " " + (values.length ? values[values.length - 1].toFixed(1) : "–")));
    legend.appendChild(entry);
  }
}

async function refreshOverview() {
  const overview = await api("/api/overview");
  const last = overview.points[overview.points.length - 1] || {};
  $("card-pending").textContent = last.pending ?? "–";
  $("card-failed").textContent = last.failed ?? "–";
  $("card-lag").textContent = last.lag_s === null || last.lag_s === undefined ? "none" : last.lag_s.toFixed(1) + " s";
  const r = overview.reconcile;
  $("card-reconcile").textContent = r && r.last_pass_end ? r.last_pass_end.slice(11, 19) + " UTC, " + r.repaired + " repaired" : "off";
  for (const [id, caption, series] of CHARTS) {
    if (id === "repaired" && !r) continue;  // reconciliation is off
    drawChart(id, caption, series(overview.points));
  }
}

function refreshForwarding(endpoints) {
  const body = $("forwarding-body");
  body.replaceChildren();
  for (const e of endpoints) {
    const row = document.createElement("tr");
    cell(row, e.endpoint);
    cell(row, e.position);
    cell(row, e.lag);
    cell(row, e.delivered);
    cell(row, e.failures);
    cell(row, e.failures ? "in " + Math.round(e.next_attempt_in_s) + " s" : "–");
    cell(row, e.last_error ?? "", "error");
    const button = document.createElement("button");
    button.textContent = "Retry now";
    button.className = "retry";
    button.disabled = e.failures === 0;
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await api("/api/forward/retry", { endpoint: e.endpoint });
        status("retrying " + e.endpoint);
      } catch (x) { status("retry failed: " + x.message); }
    });
    cell(row, "").replaceChildren(button);
    body.appendChild(row);
  }
  $("forwarding-note").textContent = endpoints.length ? "" : "No endpoint (serve --forward-config).";
}

// What a change says changed, in a few words.
function changeSummary(c) {
  if (c.payload.patch) return c.payload.patch.length + " patch operation(s)";
  if (c.payload.changed) return "changed (" + c.payload.bytes + " bytes)";
  if (c.op === "update") return Object.keys(c.payload.previous ?? {}).join(", ");
  return "";
}

async function refreshFailures() {
  const queue = await api("/api/queue");
  const body = $("failures-body");
  body.replaceChildren();
  for (const failure of queue.failures) {
    const row = document.createElement("tr");
    cell(row, failure.target);
    cell(row, failure.attempts);
    cell(row, "in " + Math.round(failure.next_attempt_in_s) + " s");
    cell(row, failure.last_error, "error");
    const button = document.createElement("button");
    button.textContent = "Retry now";
    button.className = "retry";
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await api("/api/retry", { target: failure.target });
        status("retrying " + failure.target);
      } catch (e) { status("retry failed: " + e.message); }
    });
    cell(row, "").replaceChildren(button);
    body.appendChild(row);
  }
  $("failures-note").textContent = queue.failures.length ? "" : "No failing target.";
  refreshForwarding(queue.forwarding);
  const passes = $("passes-body");
  passes.replaceChildren();
  for (const pass of queue.passes) {
    const row = document.createElement("tr");
    row.className = "pass";
    cell(row, pass.name);
    cell(row, pass.interval_s ? pass.interval_s + " s" : "off");
    cell(row, pass.unsupported ? "not offered by this server (501)" : pass.started_at ?? "never");
    cell(row, pass.finished_at ?? (pass.started_at ? "marking" : "–"));
    cell(row, pass.marked);
    cell(row, pass.pending);
    cell(row, pass.failed);
    passes.appendChild(row);
  }
}

async function refreshWebhooks() {
  const query = new URLSearchParams({ limit: "50" });
  if ($("filter-room").value) query.set("room", $("filter-room").value);
  if ($("filter-type").value) query.set("type", $("filter-type").value);
  const log = await api("/api/events?" + query);
  const body = $("webhooks-body");
  body.replaceChildren();
  for (const event of log.events) {
    const row = document.createElement("tr");
    row.className = "webhook";
    cell(row, event.received_at);
    cell(row, event.type);
    cell(row, event.room_id);
    cell(row, event.targets.join(", "));
    row.addEventListener("click", () => { $("payload").textContent = event.payload; });
    body.appendChild(row);
  }
}

async function showRoom() {
  const id = $("room-id").value;
  if (!id) return;
  const room = await api("/api/room?id=" + encodeURIComponent(id));
  const view = $("room-view");
  view.replaceChildren();
  const title = document.createElement("p");
  title.textContent = room.room_id + (room.known ? (room.deleted_at ? " — deleted " + room.deleted_at : "") : " — no room row");
  view.appendChild(title);
  view.appendChild(textTable(["table", "rows", "live", "last synced"],
    room.tables.map((t) => [t.table, t.rows, t.live, t.last_synced_at])));
  if (room.latest_comments.length) {
    const comments = textTable(["latest comments", "by", "thread", "at"],
      room.latest_comments.map((c) => [c.text, c.user_id, c.thread_id, c.created_at]));
    comments.id = "room-comments";
    view.appendChild(comments);
  }
  const changes = textTable(["changes, newest first", "kind", "key", "what", "why"],
    room.changes.map((c) => [new Date(c.committed_at_ms).toISOString() + " " + c.op, c.kind, c.key,
      changeSummary(c), c.cause.reason + (c.cause.webhooks ? " " + c.cause.webhooks.join(" ") : "")]));
  changes.id = "room-changes";
  view.appendChild(changes);
  const pending = document.createElement("p");
  pending.textContent = room.pending.length ? "pending: " + room.pending.map((p) => p.target).join(", ") : "nothing pending";
  view.appendChild(pending);
  $("mirror-again").disabled = false;
}

$("webhook-filter").addEventListener("submit", (e) => { e.preventDefault(); refreshWebhooks().catch((x) => status(x.message)); });
$("room-form").addEventListener("submit", (e) => { e.preventDefault(); showRoom().catch((x) => status(x.message)); });
$("mirror-again").addEventListener("click", async () => {
  try {
    const answer = await api("/api/mirror", { room: $("room-id").value });
    status(answer.marked + " targets of the room marked to be read again");
  } catch (e) { status("mirror again failed: " + e.message); }
});
$("replay-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    const answer = await api("/api/replay", { since: $("replay-since").value, until: $("replay-until").value,
      type: $("replay-type").value, room: $("replay-room").value });
    $("replay-result").textContent = "replayed " + answer.webhooks + " webhooks: " + answer.targets + " targets marked dirty";
  } catch (x) { $("replay-result").textContent = "replay failed: " + x.message; }
});

async function refresh() {
  try {
    await Promise.all([refreshOverview(), refreshFailures(), refreshWebhooks()]);
    status("updated " + new Date().toLocaleTimeString());
  } catch (e) { status("cannot reach the admin API: " + e.message); }
}
refresh();
setInterval(refresh, 3000);
