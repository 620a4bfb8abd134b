// localctl dashboard: polls the operator API and draws the site. No library, no build step.
// The bearer token comes from the URL fragment (#token=...), which browsers never send to
// the server, and is kept in sessionStorage for this tab only.
"use strict";

const API = "/api/v1";
const POLL_MS = 2000;
const HISTORY_MS = 10000;
const PHASES = ["L1", "L2", "L3"];
let token = null;
let lastEventSeq = 0;
let configStationsShown = "";

function takeToken() {
  const match = /token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem("localctl-token", decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname);
  }
  return sessionStorage.getItem("localctl-token");
}

async function call(method, path, body) {
  const options = { method, headers: { Authorization: `Bearer ${token}` } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(API + path, options);
  if (response.status === 401) {
    showLogin("the token was refused");
    throw new Error("unauthorised");
  }
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status}`);
  return response.status === 204 ? null : response.json();
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

const amps = (value) => (value === null || value === undefined ? "–" : `${value.toFixed(1)} A`);

// -- site tree ------------------------------------------------------------------------------

function lowestCurrentLimit(node) {
  const limits = node.limits.filter((l) => l.current_a).map((l) => l.current_a);
  if (!limits.length) return null;
  return [0, 1, 2].map((p) => Math.min(...limits.map((c) => c[p])));
}

function phaseBar(node, phase, value, limit) {
  const share = limit ? Math.min(1, Math.max(0, value / limit)) : 0;
  const level = share > 1 - 1e-9 ? "over" : share > 0.9 ? "high" : "";
  return el("div", { class: "phase-bar", "data-node": node.id, "data-phase": PHASES[phase] },
    el("span", {}, PHASES[phase]),
    el("div", { class: "bar" }, el("div", { class: `fill ${level}`, style: `width:${(share * 100).toFixed(1)}%` })),
    el("span", { class: "value" }, `${value.toFixed(1)} / ${limit === null ? "–" : limit.toFixed(1)} A`));
}

function drawSite(site) {
  document.getElementById("site-name").textContent = site.name;
  const depth = {};
  const tree = document.getElementById("site-tree");
  tree.replaceChildren(...site.nodes.map((node) => {
    depth[node.id] = node.parent === null ? 0 : depth[node.parent] + 1;
    const limit = lowestCurrentLimit(node);
    const load = node.measured_current_a || node.ev_draw_a;
    const sources = node.limits.map((l) => l.source).join(", ");
    const headroom = node.headroom_a.map((h) => (h === null ? "–" : h.toFixed(1))).join(" / ");
    return el("div", { class: "node", style: `--depth:${depth[node.id]}`, "data-node": node.id },
      el("div", {}, el("span", { class: "node-name" }, `${node.id} `),
        el("span", { class: "node-limits" },
          `${node.kind} · limits: ${sources} · headroom ${headroom} A` +
          (node.measured_current_a ? ` · meter ${node.meter_age_s.toFixed(1)} s old` : " · EV draw (no meter)"))),
      ...[0, 1, 2].map((p) => phaseBar(node, p, load[p], limit && limit[p])));
  }));
}

// -- EVSE cards -----------------------------------------------------------------------------

function drawEvses(evses) {
  document.getElementById("evses").replaceChildren(...evses.map((evse) => {
    const classes = ["evse-card", evse.paused ? "paused" : "", evse.non_compliant ? "flagged" : ""];
    const draw = evse.draw_a.map((a) => a.toFixed(1)).join(" / ");
    const action = evse.paused ? "resume" : "pause";
    return el("div", { class: classes.join(" "), "data-evse": evse.id },
      el("div", {}, el("strong", {}, evse.id), ` · ${evse.station_id || "no station"} #${evse.ocpp_evse_id ?? "–"}`),
      el("div", { class: "limit" }, amps(evse.limit_a)),
      el("div", { class: "why", title: "what bound the limit" }, evse.bound_by || "–"),
      el("div", {}, `status ${evse.status || "unknown"} · mode ${evse.mode}`),
      el("div", { class: "draw" }, `draw ${draw} A`),
      evse.non_compliant ? el("div", { class: "result-bad" }, `non-compliant: ${evse.non_compliant}`) : "",
      el("button", { type: "button", onclick: () => act(() => call("POST", `/evses/${evse.id}/${action}`)) }, action),
      el("button", { type: "button", onclick: () => explain(evse.id) }, "why?"));
  }));
}

async function explain(evseId) {
  const answer = await call("GET", `/evses/${evseId}/explain`);
  alert(answer.explanation);
}

// -- chart: the root node's measured current over the last hour, hand-drawn in SVG ---------

function drawChart(history, rootId) {
  const samples = history.samples.filter((s) => s.measured_a[rootId] || s.allocated_a[rootId]);
  const limit = history.limits_a[rootId];
  const width = 600, height = 180, left = 30, bottom = 16;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("data-samples", String(samples.length));
  document.getElementById("chart-node").textContent = `(${rootId})`;
  if (samples.length) {
    const values = samples.flatMap((s) => s.measured_a[rootId] || s.allocated_a[rootId]);
    const top = Math.max(1, ...values, ...(limit || [])) * 1.1;
    const t0 = Date.parse(samples[0].time), t1 = Math.max(t0 + 1, Date.parse(samples.at(-1).time));
    const x = (t) => left + ((Date.parse(t) - t0) / (t1 - t0)) * (width - left - 4);
    const y = (a) => height - bottom - (a / top) * (height - bottom - 4);
    const svgEl = (tag, attrs) => {
      const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
      return node;
    };
    if (limit) svg.append(svgEl("line", { class: "limit", x1: left, x2: width, y1: y(Math.min(...limit)), y2: y(Math.min(...limit)) }));
    for (const phase of [0, 1, 2]) {
      const points = samples.map((s) => `${x(s.time).toFixed(1)},${y((s.measured_a[rootId] || s.allocated_a[rootId])[phase]).toFixed(1)}`);
      svg.append(svgEl("polyline", { class: `l${phase + 1}`, points: points.join(" ") }));
    }
    for (const a of [0, top / 2, top / 1.1]) {
      const label = svgEl("text", { x: 0, y: y(a) + 3 });
      label.textContent = a.toFixed(0);
      svg.append(label);
    }
    const span = svgEl("text", { x: left, y: height - 2 });
    span.textContent = `${new Date(t0).toLocaleTimeString()} – ${new Date(t1).toLocaleTimeString()}`;
    svg.append(span);
  }
  document.getElementById("chart").replaceChildren(svg);
}

// -- configuration editor -------------------------------------------------------------------

function drawConfigStations(stations) {
  const ids = stations.map((s) => `${s.id}:${s.connected}`).join(",");
  if (ids === configStationsShown) return;
  configStationsShown = ids;
  const box = document.getElementById("config-stations");
  box.replaceChildren(el("legend", {}, "Stations"), ...stations.map((s) =>
    el("label", {}, el("input", { type: "checkbox", value: s.id, "data-station": s.id }),
      ` ${s.id} (${s.ocpp_version || "offline"}) `)));
}

function addConfigRow(key = "", value = "") {
  document.getElementById("config-rows").append(el("div", { class: "row" },
    el("input", { class: "config-key", placeholder: "MeterValueSampleInterval", value: key }),
    el("input", { class: "config-value", placeholder: "value", value })));
}

function selectedStations() {
  return [...document.querySelectorAll("#config-stations input:checked")].map((i) => i.value);
}

async function applyConfig() {
  const values = {};
  for (const row of document.querySelectorAll("#config-rows .row")) {
    const key = row.querySelector(".config-key").value.trim();
    if (key) values[key] = row.querySelector(".config-value").value;
  }
  const stationIds = selectedStations();
  if (!stationIds.length || !Object.keys(values).length) return;
  const answer = await call("POST", "/configuration", { station_ids: stationIds, values });
  const rows = Object.entries(answer.results).flatMap(([station, results]) => results.map((r) =>
    el("tr", { "data-station": station, "data-key": r.key },
      el("td", {}, station), el("td", {}, r.key), el("td", {}, r.value ?? ""),
      el("td", { class: `status status-${r.status}` }, r.status), el("td", {}, r.detail || ""))));
  document.getElementById("config-results").replaceChildren(el("table", { id: "config-result-table" },
    el("tr", {}, ...["station", "parameter", "value", "result", "detail"].map((h) => el("th", {}, h))), ...rows));
}

async function readConfig() {
  const [stationId] = selectedStations();
  if (!stationId) return;
  const answer = await call("GET", `/stations/${encodeURIComponent(stationId)}/configuration`);
  document.getElementById("config-results").replaceChildren(
    el("div", {}, `${stationId}: ${answer.status}, ${answer.entries.length} values`),
    el("table", {}, ...answer.entries.map((e) => el("tr", {}, el("td", {}, e.key), el("td", {}, e.value ?? ""),
      el("td", { class: "muted" }, e.read_only ? "read-only" : "")))));
}

// -- events and the poll loop ---------------------------------------------------------------

function drawEvents(events) {
  const list = document.getElementById("events");
  for (const event of events) {
    lastEventSeq = Math.max(lastEventSeq, event.seq);
    list.prepend(el("li", {}, `${new Date(event.time).toLocaleTimeString()} ${event.kind}: ${event.message}`));
  }
  while (list.children.length > 200) list.lastChild.remove();
}

async function act(action) {
  try { await action(); await refresh(); } catch (error) { setStatus(String(error), true); }
}

function setStatus(text, bad = false) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = bad ? "result-bad" : "muted";
}

let rootId = null;
let chartDrawn = false;
async function refresh() {
  const [site, evses, stations, events] = await Promise.all([
    call("GET", "/site"), call("GET", "/evses"), call("GET", "/stations"),
    call("GET", `/events?after=${lastEventSeq}`),
  ]);
  rootId = site.nodes.length ? site.nodes[0].id : null;
  drawSite(site);
  drawEvses(evses);
  drawConfigStations(stations);
  drawEvents(events);
  setStatus(`${site.stations_connected} stations connected`);
  document.getElementById("updated-at").textContent = new Date().toLocaleTimeString();
  if (!chartDrawn) await refreshHistory();
}

async function refreshHistory() {
  if (rootId === null) return;
  const history = await call("GET", "/history");
  chartDrawn = history.samples.length > 0;
  drawChart(history, rootId);
}

function every(ms, task) {
  const run = async () => {
    try { await task(); } catch (error) { setStatus(String(error), true); }
    setTimeout(run, ms);
  };
  run();
}

function showLogin(reason) {
  document.getElementById("main").hidden = true;
  document.getElementById("login").hidden = false;
  setStatus(reason, true);
}

function start() {
  token = takeToken();
  document.getElementById("login").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem("localctl-token", document.getElementById("token-input").value);
    location.reload();
  });
  if (!token) return showLogin("no token: open the URL localctl printed, or enter the token");
  document.getElementById("config-add").addEventListener("click", () => addConfigRow());
  document.getElementById("config-apply").addEventListener("click", () => act(applyConfig));
  document.getElementById("config-read").addEventListener("click", () => act(readConfig));
  addConfigRow("MeterValueSampleInterval", "30");
  every(POLL_MS, refresh);
  setTimeout(() => every(HISTORY_MS, refreshHistory), HISTORY_MS);
}

start();
