#include "node/dashboard_page.h"

namespace epara::node {

const char* DashboardHtml() {
  return R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>epara cluster</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;padding:12px;background:#f6f7f9;color:#1b1f24}
h1{font-size:18px;margin:0 0 8px}h2{font-size:15px;margin:16px 0 6px}
.bar{display:flex;flex-wrap:wrap;gap:8px;align-items:center}
.card{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:8px;overflow-x:auto}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceff3;white-space:nowrap}
th{font-weight:600;color:#57606a}.up{color:#1a7f37;font-weight:600}.down{color:#cf222e;font-weight:600}
.spark{vertical-align:middle}.plan{margin:0 0 8px}.plan ul{margin:2px 0 0;padding-left:18px}
.muted{color:#6e7781}[hidden]{display:none!important}.err{color:#cf222e}input{padding:4px;font:inherit}
</style></head><body>
<div class="bar"><h1>epara cluster</h1><span id="status" class="muted">loading...</span></div>
<div id="auth" class="bar" hidden><span class="err">This cluster asks for a key (admin scope or the
cluster credential):</span><input id="key" type="password" size="40" placeholder="epk-... or epc-...">
<button id="save">use key</button></div>
<h2>Nodes</h2><div class="card"><table><thead><tr><th>node</th><th>class</th><th>state</th>
<th>digest age</th><th>GFLOP/s</th><th>CPU</th><th>instances (mode, queue)</th></tr></thead>
<tbody id="nodes"></tbody></table></div>
<h2>Demand entering this node</h2><div class="card" id="demand"></div>
<h2>SLO, whole cluster, last 5 minutes</h2><div class="card"><table><thead><tr><th>model</th>
<th>requests</th><th>met SLO</th><th>goodput</th><th>p50</th><th>p90</th><th>p99</th>
<th>SLO met per 10 s</th></tr></thead><tbody id="slo"></tbody></table>
<div class="muted" id="slo-note"></div></div>
<h2>Controller plans</h2><div class="card" id="plans"></div>
<h2>Recent routing decisions</h2><div class="card"><table><thead><tr><th>time</th><th>model</th>
<th>routing</th><th>SLO ms</th><th>outcome</th><th>candidates: predicted ms (wait + service)</th>
</tr></thead><tbody id="decisions"></tbody></table></div>
<script>
"use strict";
const seen = new Map();  // node id -> last record, to show nodes that left the store as down
let key = localStorage.getItem("epara-key") || "";
if (location.hash.startsWith("#key=")) {  // a link with the key in its fragment (never sent)
  key = decodeURIComponent(location.hash.slice(5));
  localStorage.setItem("epara-key", key);
  history.replaceState(null, "", location.pathname);
}
document.getElementById("save").onclick = () => {
  key = document.getElementById("key").value.trim();
  localStorage.setItem("epara-key", key);
  refresh();
};
function esc(s) {
  return String(s).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
                                              "\"": "&quot;", "'": "&#39;"}[c]));
}
async function get(path) {
  const r = await fetch(path, {headers: key ? {"Authorization": "Bearer " + key} : {}});
  if (r.status === 401 || r.status === 403) {
    document.getElementById("auth").hidden = false;
    throw new Error("a key with the admin scope is needed (HTTP " + r.status + ")");
  }
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}
function mode(i) {
  if (i.split > 1) return "split x" + i.split;
  return i.task === "llm" ? "LLM engine" : "replica";
}
function renderNodes(c) {
  const listed = new Set(c.nodes.map(n => n.id));
  for (const n of c.nodes) seen.set(n.id, n);
  for (const d of c.departed || [])  // left the store (down, or stopped) before this page saw it
    if (!seen.has(d.id)) seen.set(d.id, {id: d.id, device_class: d.device_class, instances: []});
  const rows = [];
  for (const [id, n] of [...seen.entries()].sort()) {
    const age = n.self ? 0 : (n.digest ? n.digest.age_ms : Infinity);
    const up = listed.has(id) && age < c.down_after_ms;
    const loads = new Map(((n.digest && n.digest.instances) || []).map(i => [i.model, i]));
    const inst = (listed.has(id) ? n.instances : []).map(i => {
      const l = loads.get(i.model);
      return esc(i.model) + " (" + mode(i) + (l ? ", q " + l.queue_length + "+" + l.in_flight : "") + ")";
    }).join(", ");
    const dev = (n.devices && n.devices[0]) || {};
    rows.push("<tr data-node=\"" + esc(id) + "\" data-state=\"" + (up ? "up" : "down") + "\"><td>" +
              esc(id) + (n.self ? " <span class=muted>(this node)</span>" : "") + "</td><td>" +
              esc(n.device_class) + "</td><td class=" + (up ? "up>up" : "down>down") + "</td><td>" +
              (n.self ? "-" : isFinite(age) ? Math.round(age) + " ms" : "none") + "</td><td>" +
              (dev.speed_gflops ? dev.speed_gflops.toFixed(1) : "") + "</td><td>" +
              (n.digest ? Math.round(100 * n.digest.cpu_utilization) + "%" : "") + "</td><td>" +
              (inst || "<span class=muted>none</span>") + "</td></tr>");
  }
  document.getElementById("nodes").innerHTML = rows.join("");
  const demand = Object.entries(c.ingress || {}).map(([m, k]) => esc(m) + ": " + k + " requests");
  document.getElementById("demand").innerHTML = demand.join("<br>") || "<span class=muted>none yet</span>";
}
function renderDecisions(d) {
  const rows = d.decisions.slice(-30).reverse().map(x => {
    const cands = x.candidates.map(o => esc(o.node) + " " + Math.round(o.predicted_ms) + " (" +
        Math.round(o.expected_wait_ms) + " + " + Math.round(o.service_ms) +
        (o.service_measured ? "" : "?") + ")").join(", ");
    const outcome = x.outcome === "forward" ? "forward to " + esc(x.chosen)
                  : x.outcome === "local" ? "served here" : "rejected: " + esc(x.reason);
    return "<tr class=decision><td>" + new Date(x.at_ms).toLocaleTimeString() + "</td><td>" +
           esc(x.model) + "</td><td>" + esc(x.routing) + "</td><td>" + Math.round(x.slo_ms) +
           "</td><td>" + outcome + "</td><td>" + cands + "</td></tr>";
  });
  document.getElementById("decisions").innerHTML =
      rows.join("") || "<tr><td colspan=6 class=muted>no routed requests yet</td></tr>";
}
function spark(series) {  // per bucket: a bar as high as the share that met the SLO
  const w = 150, h = 24, n = series.length, bw = w / Math.max(1, n);
  const bars = series.map((b, i) => {
    if (!b.requests) return "";
    const share = b.met / b.requests, bh = Math.max(2, (h - 2) * share);
    return "<rect x=" + (i * bw).toFixed(1) + " y=" + (h - bh).toFixed(1) + " width=" +
           Math.max(1, bw - 1).toFixed(1) + " height=" + bh.toFixed(1) + " fill=" +
           (share >= 0.9 ? "#1a7f37" : "#cf222e") + "><title>" + b.met + " of " + b.requests +
           "</title></rect>";
  });
  return "<svg class=spark width=" + w + " height=" + h + ">" + bars.join("") + "</svg>";
}
function ms(v) { return v == null ? "-" : (v < 10 ? v.toFixed(1) : Math.round(v)) + " ms"; }
function renderSlo(s) {
  const rows = Object.entries(s.models).sort().map(([m, x]) =>
      "<tr class=slo data-model=\"" + esc(m) + "\"><td>" + esc(m) + "</td><td>" + x.requests +
      (x.failed ? " <span class=err>(" + x.failed + " failed)</span>" : "") + "</td><td>" +
      (100 * x.attainment).toFixed(1) + "%</td><td>" + x.goodput_rps.toFixed(2) + " req/s</td><td>" +
      ms(x.p50_ms) + "</td><td>" + ms(x.p90_ms) + "</td><td>" + ms(x.p99_ms) + "</td><td>" +
      spark(x.series) + "</td></tr>");
  document.getElementById("slo").innerHTML =
      rows.join("") || "<tr><td colspan=8 class=muted>no requests in the window</td></tr>";
  document.getElementById("slo-note").textContent =
      "Requests counted at the node they entered, from " + s.nodes.length + " node(s); goodput: " +
      "SLO-meeting requests/s over " + s.window_s + " s; latency: end to end, or the first " +
      "streamed chunk (an LLM's TTFT); percentiles to within 25%.";
}
function renderPlans(p) {
  const el = document.getElementById("plans");
  if (!p.length) {
    el.innerHTML = "<span class=muted>no controller period yet</span>";
    return;
  }
  // The newest period, then the latest ones that changed something.
  const newest = p[p.length - 1];
  const shown = [newest, ...p.slice(0, -1).filter(r => r.changed).reverse()].slice(0, 5);
  el.innerHTML = shown.map(r => {
    const moved = r.services.filter(s => (s.added || []).length || (s.removed || []).length);
    const items = (moved.length ? moved : r.services).map(s =>
        "<li>" + esc(s.name) + ": demand " + (s.demand_rps || 0).toFixed(1) + " req/s, capacity " +
        (s.capacity_rps || 0).toFixed(1) + " req/s on " + s.instances.map(esc).join(", ") +
        ((s.added || []).length ? "; <span class=up>+" + s.added.map(esc).join(", +") + "</span>" : "") +
        ((s.removed || []).length ? "; <span class=down>-" + s.removed.map(esc).join(", -") + "</span>" : "") +
        (s.why ? " <span class=muted>(" + esc(s.why) + ")</span>" : "") + "</li>").join("");
    return "<div class=plan data-period=" + r.period + "><b>period " + r.period + "</b> " +
           new Date(r.at_ms).toLocaleTimeString() + ": " + (r.changed ? "changes" : "no change") +
           ", predicted goodput " + r.predicted_goodput_rps.toFixed(1) + " req/s over " + r.nodes +
           " nodes <span class=muted>(hysteresis " + r.placement.keep + " req/s per unit kept)</span>" +
           "<ul>" + items + "</ul></div>";
  }).join("");
}
async function refresh() {
  const status = document.getElementById("status");
  try {
    const c = await get("/v1/cluster");
    renderNodes(c);
    renderDecisions(await get("/v1/decisions?limit=100"));
    renderSlo(await get("/v1/slo?scope=cluster"));
    renderPlans(await get("/v1/plans"));
    document.getElementById("auth").hidden = true;
    status.className = "muted";
    status.textContent = "node " + c.node + ", " + c.nodes.length + " listed, updated " +
                         new Date().toLocaleTimeString();
  } catch (e) {
    status.className = "err";
    status.textContent = e.message;
  }
}
refresh();
setInterval(refresh, 2000);
</script></body></html>
)HTML";
}

}  // namespace epara::node
