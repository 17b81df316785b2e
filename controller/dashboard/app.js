// app.js: the dashboard's page. It calls the controller's REST API with the
// session cookie (never the token itself) and redraws every second. Every
// piece of text from the API goes into the page as text (textContent),
// never as markup, so a name or a message cannot become code.
"use strict";

const REFRESH_MS = 1000;
const HISTORY_MS = 15 * 60 * 1000;
const CHARTED = ["ops_per_sec", "used_memory", "hit_ratio", "repl_lag_bytes"];
const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#a16207", "#db2777"];
const SVG = "http://www.w3.org/2000/svg";
// stats: the open cluster's nodes, {cluster, since, nodes: Map id -> {current, time_ms: [], <charted>: []}}
// events: the last EVENTS_KEPT of the current scope, fetched once and then only the new ones (?since=)
const EVENTS_KEPT = 1000;
const state = { cluster: null, timer: null, stats: null, events: { scope: null, last: 0, list: [] } };

function $(id) { return document.getElementById(id); }

// An element with attributes and children (strings become text nodes).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "onclick") e.addEventListener("click", v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
  return e;
}

function svgEl(tag, attrs, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function bytes(v) {
  if (v == null) return "?";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v < 10 && i ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

function count(v) { return v == null ? "?" : String(v); }
function percent(v) { return v == null ? "–" : `${(v * 100).toFixed(1)}%`; }

function statusCell(text) {
  return el("td", { class: "status status-" + String(text).replace(/[^a-z-]/g, "") }, text);
}

async function api(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: { "X-Requested-With": "cachefleet" } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  let doc = null;
  try { doc = await res.json(); } catch (e) { doc = null; }
  if (res.status === 401 && path !== "/dashboard/login") { showLogin("Your session ended; log in again."); }
  return { status: res.status, doc };
}

function show(ids) {
  for (const id of ["login", "fleet", "cluster", "operations-section", "events-section"])
    $(id).hidden = !ids.includes(id);
  $("logout").hidden = ids.includes("login");
}

function showLogin(message) {
  if (state.timer) { clearInterval(state.timer); state.timer = null; }
  $("login-error").textContent = message || "";
  show(["login"]);
}

function fillRows(tbody, rows) {
  tbody.replaceChildren(...rows);
}

function renderHosts(hosts) {
  const zones = new Map();
  for (const h of hosts) {
    if (!zones.has(h.az)) zones.set(h.az, []);
    zones.get(h.az).push(h);
  }
  const boxes = [];
  for (const az of [...zones.keys()].sort()) {
    const rows = zones.get(az).map(h => el("tr", {},
      el("td", {}, h.id), statusCell(h.status),
      el("td", {}, `${h.memory_used_mb ?? "?"} / ${h.memory_mb} MB`),
      el("td", {}, `${h.node_total} nodes`)));
    boxes.push(el("div", { class: "zone" }, el("h3", {}, az), el("table", {}, el("tbody", {}, ...rows))));
  }
  $("zones").replaceChildren(...boxes);
}

function renderClusters(clusters) {
  fillRows($("clusters").tBodies[0], clusters.map(c => el("tr", { class: "link", "data-cluster": c.name,
    onclick: () => openCluster(c.name) },
    el("td", {}, c.name), el("td", {}, c.engine), statusCell(c.status),
    el("td", {}, c.cluster_mode ? "cluster" : (c.engine === "redis" ? "primary/replicas" : "nodes")),
    el("td", {}, c.shard_count), el("td", {}, c.node_total),
    el("td", {}, `${c.node_memory_mb} MB`))));
}

function errorText(r) {
  return (r.doc && r.doc.error && `${r.doc.error.code}: ${r.doc.error.message}`) || `HTTP ${r.status}`;
}

// Reports an operation the API started (202), a change that was not needed
// (200), or the refusal.
function reportResult(where, what, r) {
  $(where).textContent = r.status === 202
    ? `${what}: started (operation ${r.doc.operation.id}, ${r.doc.operation.kind}).`
    : r.status === 200 ? `${what}: nothing to change.`
      : `${what} refused: ${errorText(r)}`;
}

async function createCluster(event) {
  event.preventDefault();
  const engine = $("create-engine").value;
  const body = { name: $("create-name").value, engine, node_memory_mb: Number($("create-memory").value) };
  if (engine === "memcached") {
    body.nodes = Number($("create-nodes").value);
  } else {
    body.shards = Number($("create-shards").value);
    body.replicas = Number($("create-replicas").value);
    body.cluster_mode = $("create-cluster-mode").checked;
  }
  if (!window.confirm(`Create ${engine} cluster ${body.name}?`)) return;
  const r = await api("POST", "/v1/clusters", body);
  reportResult("create-result", `Create ${body.name}`, r);
  refresh();
}

// PATCH of one field of the open cluster, confirmed first.
async function modify(field, inputId, label) {
  const value = Number($(inputId).value);
  if (!Number.isInteger(value) || $(inputId).value === "") {
    $("action-result").textContent = `${label}: give a whole number.`;
    return;
  }
  if (!window.confirm(`${label} of ${state.cluster}: ${field} = ${value}?`)) return;
  const r = await api("PATCH", "/v1/clusters/" + encodeURIComponent(state.cluster), { [field]: value });
  reportResult("action-result", label, r);
  refresh();
}

async function deleteCluster() {
  const name = state.cluster;
  const typed = window.prompt(`Deleting ${name} stops all its nodes and loses their data. Type the cluster's name to go on.`);
  if (typed !== name) {
    $("action-result").textContent = typed === null ? "" : "Delete: the name did not match; nothing deleted.";
    return;
  }
  const r = await api("DELETE", "/v1/clusters/" + encodeURIComponent(name));
  reportResult("action-result", `Delete ${name}`, r);
  refresh();
}

// A planned failover of the node's shard, after the operator confirms it.
async function failover(cluster, shard, primary) {
  if (!window.confirm(`Planned failover of shard ${shard} of ${cluster}: ${primary} hands over to a replica. Go on?`))
    return;
  const r = await api("POST", "/v1/clusters/" + encodeURIComponent(cluster) + "/failover", { shard });
  reportResult("action-result", `Failover of shard ${shard}`, r);
  refresh();
}

function actionCell(c, n) {
  const can = c.engine === "redis" && n.role === "primary" && (c.shards || []).some(s => s.id === n.shard &&
    (s.replicas || []).length > 0);
  if (!can) return el("td", {});
  return el("td", {}, el("button", { class: "failover", "data-shard": n.shard,
    onclick: () => failover(c.name, n.shard, n.id) }, "Fail over"));
}

// The modify form shows the fields the cluster's engine and mode take.
function renderModify(c) {
  const memcached = c.engine === "memcached";
  for (const [id, on] of [["replicas", !memcached], ["shards", !memcached && c.cluster_mode], ["nodes", memcached]]) {
    $("modify-" + id).parentElement.hidden = !on;
    $("apply-" + id).hidden = !on;
  }
}

// The node's latest numbers as its agent last reported them (stats endpoint).
function metricCells(n) {
  const s = state.stats && state.stats.nodes.get(n.id);
  const cur = (s && s.current) || {};
  const memory = cur.used_memory == null ? "?" : `${bytes(cur.used_memory)} / ${bytes(cur.maxmemory)}`;
  return [el("td", { class: "num", "data-metric": "ops_per_sec" }, count(cur.ops_per_sec)),
    el("td", { class: "num", "data-metric": "hit_ratio" }, percent(cur.hit_ratio)),
    el("td", { class: "num", "data-metric": "memory" }, memory),
    el("td", { class: "num", "data-metric": "connected_clients" }, count(cur.connected_clients)),
    el("td", { class: "num", "data-metric": "repl_lag_bytes" }, n.role === "replica" ? bytes(cur.repl_lag_bytes) : ""),
    el("td", { class: "num", "data-metric": "evicted_keys" }, count(cur.evicted_keys))];
}

// Adds the points after state.stats.since; keeps 15 minutes.
function mergeStats(doc) {
  if (!state.stats || state.stats.cluster !== doc.cluster) state.stats = { cluster: doc.cluster, since: 0, nodes: new Map() };
  const keep = new Map();
  const oldest = doc.time_ms - HISTORY_MS;
  for (const n of doc.nodes) {
    const s = state.stats.nodes.get(n.id) || { time_ms: [], ...Object.fromEntries(CHARTED.map(k => [k, []])) };
    s.current = n.current;
    for (const k of ["time_ms", ...CHARTED]) s[k].push(...n.history[k]);
    const drop = s.time_ms.findIndex(t => t >= oldest);
    for (const k of ["time_ms", ...CHARTED]) s[k].splice(0, drop < 0 ? s.time_ms.length : drop);
    keep.set(n.id, s);
  }
  state.stats.nodes = keep;
  state.stats.since = doc.time_ms;
  state.stats.now = doc.time_ms;
}

// One chart: a line per node over the last 15 minutes; gaps where a value is unknown.
function renderChart(figure, metric) {
  const svg = figure.querySelector("svg");
  const W = 400, H = 120, top = 14, bottom = 14;
  const now = state.stats.now, series = [...state.stats.nodes.entries()];
  let max = metric === "hit_ratio" ? 1 : 0;
  for (const [, s] of series) for (const v of s[metric]) if (v != null && v > max) max = v;
  const scale = max || 1;
  const x = t => W - ((now - t) / HISTORY_MS) * W;
  const y = v => top + (H - top - bottom) * (1 - v / scale);
  const children = [svgEl("line", { class: "axis", x1: 0, x2: W, y1: H - bottom, y2: H - bottom })];
  series.forEach(([id, s], i) => {
    let points = [];
    const flush = () => {
      const color = COLORS[i % COLORS.length];
      if (points.length > 1) children.push(svgEl("polyline", { points: points.join(" "), fill: "none",
        stroke: color, "stroke-width": 1.5, "data-node": id }));
      else if (points.length) {
        const [cx, cy] = points[0].split(",");
        children.push(svgEl("circle", { cx, cy, r: 2, fill: color, "data-node": id }));
      }
      points = [];
    };
    s.time_ms.forEach((t, j) => {
      const v = s[metric][j];
      if (v == null) flush();
      else points.push(`${x(t).toFixed(1)},${y(v).toFixed(1)}`);
    });
    flush();
  });
  const label = metric === "hit_ratio" ? percent(max) : metric === "ops_per_sec" ? String(Math.round(max)) : bytes(max);
  children.push(svgEl("text", { x: 2, y: 10 }, `max ${label}`), svgEl("text", { x: 2, y: H - 2 }, "15 min ago"),
    svgEl("text", { x: W - 22, y: H - 2 }, "now"));
  svg.replaceChildren(...children);
}

function renderCharts() {
  if (!state.stats) return;
  for (const figure of document.querySelectorAll("#charts .chart")) renderChart(figure, figure.dataset.metric);
  $("chart-legend").replaceChildren(...[...state.stats.nodes.keys()].map((id, i) => el("span", {},
    svgEl("svg", { width: 10, height: 10 }, svgEl("rect", { width: 10, height: 10, fill: COLORS[i % COLORS.length] })),
    " " + id)));
}

function renderCluster(c) {
  renderModify(c);
  $("cluster-name").textContent = c.name;
  const st = $("cluster-status");
  st.textContent = c.status;
  st.className = "status status-" + String(c.status).replace(/[^a-z-]/g, "");
  fillRows($("nodes").tBodies[0], (c.nodes || []).map(n => el("tr", { "data-node": n.id, "data-role": n.role },
    el("td", {}, n.id), el("td", {}, n.shard), el("td", {}, n.role), el("td", {}, n.az), el("td", {}, n.host),
    el("td", {}, `${n.address}:${n.port}`), statusCell(n.status), statusCell(n.health || "?"), ...metricCells(n),
    actionCell(c, n))));
  renderCharts();
}

function renderOperations(ops) {
  fillRows($("operations").tBodies[0], ops.map(o => {
    const m = o.moves;
    const step = o.current_step ? `${o.current_step.action}${o.current_step.node ? " " + o.current_step.node : ""}` : "";
    const moves = m ? `${m.slots_moved}/${m.slots_total} slots, ${m.keys_moved} keys, ${m.bytes_per_second} B/s` : "";
    return el("tr", { "data-operation": o.id, "data-kind": o.kind },
      el("td", {}, o.id), el("td", {}, o.kind), el("td", {}, o.cluster), el("td", {}, o.shard || ""),
      statusCell(o.status), el("td", {}, el("progress", { max: "100", value: String(o.progress) }), ` ${o.progress}%`),
      el("td", {}, step), el("td", {}, moves));
  }));
}

function renderEvents(events) {
  const filter = $("event-filter").value.trim();
  const rows = events.filter(e => !filter || String(e.type).includes(filter)).slice(-200).reverse()
    .map(e => el("tr", { "data-type": e.type },
      el("td", {}, new Date(e.time).toLocaleTimeString()), el("td", {}, e.cluster || ""), el("td", {}, e.node || ""),
      el("td", {}, e.type), el("td", {}, e.message)));
  fillRows($("events").tBodies[0], rows);
}

async function refresh() {
  const scope = state.cluster ? "cluster=" + encodeURIComponent(state.cluster) : "";
  if (state.events.scope !== scope) state.events = { scope, last: 0, list: [] };
  const [events, ops] = await Promise.all([api("GET", `/v1/events?since=${state.events.last}&${scope}`),
    api("GET", "/v1/operations?status=running&" + scope)]);
  if (ops.status === 200) renderOperations(ops.doc.operations);
  if (state.cluster) {
    const path = "/v1/clusters/" + encodeURIComponent(state.cluster);
    const since = state.stats && state.stats.cluster === state.cluster ? state.stats.since : 0;
    const [c, stats] = await Promise.all([api("GET", path), api("GET", `${path}/stats?since=${since}`)]);
    if (c.status === 404) { closeCluster(); return; }
    if (stats.status === 200) mergeStats(stats.doc);
    if (c.status === 200) renderCluster(c.doc);
  } else {
    const [hosts, clusters] = await Promise.all([api("GET", "/v1/hosts?view=summary"),
      api("GET", "/v1/clusters?view=summary")]);
    if (hosts.status === 200) renderHosts(hosts.doc.hosts);
    if (clusters.status === 200) renderClusters(clusters.doc.clusters);
  }
  if (events.status === 200 && state.events.scope === scope) {
    const fresh = events.doc.events;
    if (fresh.length) state.events.last = fresh[fresh.length - 1].id;
    state.events.list = state.events.list.concat(fresh).slice(-EVENTS_KEPT);
  }
  renderEvents(state.events.list);
  $("updated").textContent = "updated " + new Date().toLocaleTimeString();
}

function start() {
  show([state.cluster ? "cluster" : "fleet", "operations-section", "events-section"]);
  refresh();
  if (!state.timer) state.timer = setInterval(refresh, REFRESH_MS);
}

function openCluster(name) {
  state.cluster = name;
  $("action-result").textContent = "";
  start();
}

function closeCluster() {
  state.cluster = null;
  start();
}

async function login(event) {
  event.preventDefault();
  const token = $("token");
  const r = await api("POST", "/dashboard/login", { token: token.value });
  token.value = "";
  if (r.status === 200) start();
  else $("login-error").textContent = (r.doc && r.doc.error && r.doc.error.message) || "Login failed";
}

async function logout() {
  await api("POST", "/dashboard/logout");
  showLogin("Logged out.");
}

document.addEventListener("DOMContentLoaded", async () => {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("back").addEventListener("click", e => { e.preventDefault(); closeCluster(); });
  $("event-filter").addEventListener("input", refresh);
  $("create-form").addEventListener("submit", createCluster);
  $("apply-replicas").addEventListener("click", () => modify("replicas", "modify-replicas", "Scale replicas"));
  $("apply-shards").addEventListener("click", () => modify("shards", "modify-shards", "Reshard"));
  $("apply-nodes").addEventListener("click", () => modify("nodes", "modify-nodes", "Scale nodes"));
  $("apply-memory").addEventListener("click", () => modify("node_memory_mb", "modify-memory", "Resize"));
  $("delete-cluster").addEventListener("click", deleteCluster);
  const s = await fetch("/dashboard/session", { credentials: "same-origin" });
  if (s.status === 200) start();
  else showLogin("");
});
