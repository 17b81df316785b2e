// app.js: the dashboard's page. It calls the controller's REST API with the
// session cookie (never the token itself) and redraws every second. Every
// piece of text from the API goes into the page as text (textContent),
// never as markup, so a name or a message cannot become code.
"use strict";

const REFRESH_MS = 1000;
const state = { cluster: null, timer: null };

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
      el("td", {}, `${(h.nodes || []).length} nodes`)));
    boxes.push(el("div", { class: "zone" }, el("h3", {}, az), el("table", {}, el("tbody", {}, ...rows))));
  }
  $("zones").replaceChildren(...boxes);
}

function renderClusters(clusters) {
  fillRows($("clusters").tBodies[0], clusters.map(c => el("tr", { class: "link", "data-cluster": c.name,
    onclick: () => openCluster(c.name) },
    el("td", {}, c.name), el("td", {}, c.engine), statusCell(c.status),
    el("td", {}, c.cluster_mode ? "cluster" : (c.engine === "redis" ? "primary/replicas" : "nodes")),
    el("td", {}, (c.shards || []).length), el("td", {}, (c.nodes || []).length),
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

function renderCluster(c) {
  renderModify(c);
  $("cluster-name").textContent = c.name;
  const st = $("cluster-status");
  st.textContent = c.status;
  st.className = "status status-" + String(c.status).replace(/[^a-z-]/g, "");
  fillRows($("nodes").tBodies[0], (c.nodes || []).map(n => el("tr", { "data-node": n.id, "data-role": n.role },
    el("td", {}, n.id), el("td", {}, n.shard), el("td", {}, n.role), el("td", {}, n.az), el("td", {}, n.host),
    el("td", {}, `${n.address}:${n.port}`), statusCell(n.status), statusCell(n.health || "?"), actionCell(c, n))));
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
  const [events, ops] = await Promise.all([api("GET", "/v1/events?" + scope),
    api("GET", "/v1/operations?status=running&" + scope)]);
  if (ops.status === 200) renderOperations(ops.doc.operations);
  if (state.cluster) {
    const c = await api("GET", "/v1/clusters/" + encodeURIComponent(state.cluster));
    if (c.status === 404) { closeCluster(); return; }
    if (c.status === 200) renderCluster(c.doc);
  } else {
    const [hosts, clusters] = await Promise.all([api("GET", "/v1/hosts"), api("GET", "/v1/clusters")]);
    if (hosts.status === 200) renderHosts(hosts.doc.hosts);
    if (clusters.status === 200) renderClusters(clusters.doc.clusters);
  }
  if (events.status === 200) renderEvents(events.doc.events);
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
