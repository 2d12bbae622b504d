"use strict";
// The status page: polls the admin JSON API every few seconds and renders it. No dependencies.

const $ = (id) => document.getElementById(id);
const rateUnits = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s", "EH/s"];

function rate(h) {
  if (!(h > 0)) return "0 H/s";
  let i = 0;
  while (h >= 1000 && i < rateUnits.length - 1) { h /= 1000; i++; }
  return h.toFixed(h >= 100 ? 0 : h >= 10 ? 1 : 2) + " " + rateUnits[i];
}
function usd(x, digits = 2) {
  if (x === null || x === undefined || !isFinite(x)) return "—";
  return (x < 0 ? "−$" : "$") + Math.abs(x).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
function big(x) {
  if (x === null || x === undefined || !isFinite(x)) return "—";
  const a = Math.abs(x);
  if (a >= 1e12) return (x / 1e12).toFixed(2) + " T";
  if (a >= 1e9) return (x / 1e9).toFixed(2) + " G";
  if (a >= 1e6) return (x / 1e6).toFixed(2) + " M";
  if (a >= 1e4) return (x / 1e3).toFixed(1) + " k";
  return x.toLocaleString("en-US", { maximumFractionDigits: 2 });
}
function power(w) { return w >= 1e6 ? (w / 1e6).toFixed(2) + " MW" : w >= 1000 ? (w / 1000).toFixed(1) + " kW" : Math.round(w) + " W"; }
function ago(iso) {
  if (!iso) return "";
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  return s < 60 ? Math.round(s) + " s ago" : s < 3600 ? Math.round(s / 60) + " min ago" : (s / 3600).toFixed(1) + " h ago";
}
function clock(iso) { const d = new Date(iso); return d.toLocaleTimeString("en-GB", { hour12: false }); }
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function td(text, cls) { return el("td", cls, text); }
function badge(text, kind) { const b = el("span", "badge " + (kind || text), text); return b; }
function tdNode(...nodes) { const c = el("td"); nodes.forEach((n) => c.append(n)); return c; }
function fill(table, rows, emptyText, columns) {
  const body = document.querySelector("#" + table + " tbody");
  if (rows.length === 0) {
    const cell = td(emptyText, "empty");
    cell.colSpan = columns;
    const tr = el("tr"); tr.append(cell);
    body.replaceChildren(tr);
    return;
  }
  body.replaceChildren(...rows.map((cells) => { const tr = el("tr"); cells.forEach((c) => tr.append(c)); return tr; }));
}
// With Admin:RequireTokenForReads the API asks for the token: open the page as /#token=TOKEN once; the token is kept
// for this tab only (sessionStorage) and the fragment is cleared, so it never reaches a server log or the history.
const adminToken = (() => {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem("stratumproxy-token", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem("stratumproxy-token");
})();
async function getJson(path) {
  const r = await fetch(path, { cache: "no-store", headers: adminToken ? { Authorization: "Bearer " + adminToken } : {} });
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

function card(label, value, sub, cls) {
  const c = el("div", "card");
  c.append(el("div", "label", label));
  c.append(el("div", "value" + (cls ? " " + cls : ""), value));
  if (sub) { const s = el("div", "sub", sub); s.title = sub; c.append(s); }
  return c;
}

function renderSummary(status, farm, economics) {
  const now = farm.now;
  const m = economics.market;
  const cards = [];
  cards.push(card("Hash rate", rate(now ? now.hashrate_hashes_per_second : status.hashrate_hashes_per_second), status.miners + " connected"));
  if (now && economics.rigs.length > 0) {
    cards.push(card("Power", power(now.power_watts), now.rigs_running + " on · " + now.rigs_sleeping + " asleep"));
    cards.push(card("Revenue / day", usd(now.revenue_usd_per_day), "observed hash rate"));
    cards.push(card("Power / day", usd(now.power_cost_usd_per_day), "energy price now"));
    cards.push(card("Profit / day", usd(now.profit_usd_per_day), "revenue − power", now.profit_usd_per_day >= 0 ? "pos" : "neg"));
  } else {
    const money = card("Money", "—", "no rig is priced yet: list rigs in Economics:Rigs (Worker, Model) or set Economics:DefaultModel");
    money.style.gridColumn = "span 4";
    cards.push(money);
  }
  if (m) {
    cards.push(card("BTC price", usd(m.price_usd, 0), (m.price_is_stale ? "STALE · " : "") + (m.price_source.startsWith("http") ? "live feed" : m.price_source), m.price_is_stale ? "neg" : ""));
    cards.push(card("Energy", usd(m.energy_usd_per_kwh * 1000, 0) + "/MWh", m.tariff_band + (m.in_demand_response ? " · demand response" : "")));
    cards.push(card("Hashprice", m.hashprice_usd_per_ph_day >= 1e5 ? "$" + big(m.hashprice_usd_per_ph_day) : usd(m.hashprice_usd_per_ph_day), "per PH·day · difficulty " + big(m.difficulty) + " from " + m.difficulty_source));
  }
  cards.push(card("Shutdown price", farm.shutdown_price_usd ? usd(farm.shutdown_price_usd, 0) : "—", "BTC price to break even"));
  $("summary").replaceChildren(...cards);
}

function chart(id, points, value, format, color) {
  const box = $(id);
  const series = points.map((p) => [Date.parse(p.at), value(p)]).filter((p) => isFinite(p[1]));
  if (series.length < 2) {
    box.replaceChildren(el("div", "empty", "collecting: one point per economics interval"));
    return;
  }
  const W = 300, H = 120, left = 4, right = W - 4, top = 12, bottom = H - 16;
  const t0 = series[0][0], t1 = series[series.length - 1][0];
  let lo = Math.min(...series.map((p) => p[1])), hi = Math.max(...series.map((p) => p[1]));
  if (lo > 0 && lo < hi * 0.5) lo = 0;
  if (hi === lo) { hi += Math.abs(hi) * 0.1 + 1; lo -= Math.abs(lo) * 0.1; }
  const x = (t) => left + (right - left) * (t - t0) / Math.max(1, t1 - t0);
  const y = (v) => bottom - (bottom - top) * (v - lo) / (hi - lo);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  svg.setAttribute("preserveAspectRatio", "none");
  const add = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const k in attrs) n.setAttribute(k, attrs[k]);
    if (text !== undefined) n.textContent = text;
    svg.append(n);
    return n;
  };
  add("line", { x1: left, x2: right, y1: bottom, y2: bottom, stroke: "#d0d5dd", "stroke-width": 1 });
  if (lo < 0 && hi > 0) add("line", { x1: left, x2: right, y1: y(0), y2: y(0), stroke: "#98a2b3", "stroke-dasharray": "3 3", "stroke-width": 1 });
  const path = series.map((p, i) => (i ? "L" : "M") + x(p[0]).toFixed(1) + " " + y(p[1]).toFixed(1)).join(" ");
  add("path", { d: path + " L" + right + " " + bottom + " L" + left + " " + bottom + " Z", fill: color, "fill-opacity": 0.12, stroke: "none" });
  add("path", { d: path, fill: "none", stroke: color, "stroke-width": 1.6, "vector-effect": "non-scaling-stroke" });
  add("text", { x: left, y: top - 2 }, format(hi));
  add("text", { x: left, y: bottom - 3 }, format(lo));
  add("text", { x: left, y: H - 2 }, clock(new Date(t0).toISOString()));
  add("text", { x: right, y: H - 2, "text-anchor": "end" }, clock(new Date(t1).toISOString()) + " · now " + format(series[series.length - 1][1]));
  box.replaceChildren(svg);
}

function latestDecisions(decisions) {
  const byRig = new Map();
  for (const d of decisions) if (d.kind !== "none") byRig.set(d.rig, d);
  return byRig;
}

function renderRigs(rigs, farm, economics, decisions) {
  const ratings = new Map(farm.rigs.map((r) => [r.worker, r]));
  const money = new Map(economics.rigs.map((r) => [r.worker, r]));
  const last = latestDecisions(decisions);
  const names = rigs.length > 0 ? rigs.map((r) => r.rig) : farm.rigs.map((r) => r.worker);
  const views = new Map(rigs.map((r) => [r.rig, r]));
  const rows = names.map((name) => {
    const v = views.get(name) || {};
    const rating = ratings.get(name) || {};
    const e = money.get(name);
    const state = v.state || (e ? "running" : "unknown");
    const asleep = state === "sleeping";
    const observed = asleep ? 0 : (v.observed_terahashes > 0 ? v.observed_terahashes : e ? e.hashrate_terahashes : 0);
    const nominal = v.nominal_terahashes || rating.nominal_terahashes;
    const jth = v.joules_per_terahash || rating.joules_per_terahash;
    const profit = asleep ? 0 : e ? e.profit_usd_per_day : null;
    const d = last.get(name);
    const stateCell = tdNode(badge(state, state));
    if (v.warning) { stateCell.append(" "); const w = badge("warning", "warn"); w.title = v.warning; stateCell.append(w); }
    const decision = d ? tdNode(badge(d.kind.replace("_", " "), d.kind), " " + ago(d.at) + " · " + d.outcome) : td("—");
    const reason = td((v.last_reason || "").replaceAll("_", " ") + (v.warning ? " — " + v.warning : ""), "wrap");
    return [
      td(name), td(rating.model || (e ? e.model : "") || v.model || ""), stateCell,
      td(asleep ? "—" : (v.pool || (e ? e.pool : null) || "—")),
      td(v.mode || (asleep ? "off" : "stock")),
      td(asleep ? "—" : rate(observed * 1e12), "num"),
      td(nominal ? nominal.toLocaleString("en-US") + " TH/s" : "—", "num"),
      td(jth ? jth.toFixed(1) : "—", "num"),
      td(profit === null ? "—" : asleep ? "$0.00 asleep" : usd(profit), "num " + (profit > 0 ? "pos" : profit < 0 ? "neg" : "")),
      decision, reason,
    ];
  });
  fill("rigs", rows, "No rigs listed in Economics:Rigs: add each rig's Worker and Model (and its Api and Address, so the proxy can sleep and wake it) to see its state, pool and dollars here.", 11);
}

function renderPools(status, workers) {
  const counts = new Map();
  for (const w of workers) for (const p of w.pools) {
    const c = counts.get(p.pool) || { accepted: 0, rejected: 0 };
    c.accepted += p.pool_accepted; c.rejected += p.pool_rejected;
    counts.set(p.pool, c);
  }
  const total = status.pools.reduce((s, p) => s + p.hashrate_hashes_per_second, 0);
  const rows = status.pools.map((p) => {
    const c = counts.get(p.name) || { accepted: 0, rejected: 0 };
    const share = total > 0 ? p.hashrate_hashes_per_second / total : 0;
    const split = el("td");
    const bar = el("span", "bar"); bar.style.width = Math.round(share * 80) + "px";
    split.append(bar, (share * 100).toFixed(0) + " %");
    const cell = tdNode(badge(p.ready ? "ready" : "down", p.ready ? "ready" : "down"));
    const name = td(p.name); name.title = p.url;
    return [name, cell, td(p.health_score.toFixed(2), "num"), td(p.latency_seconds === null || p.latency_seconds === undefined ? "—" : (p.latency_seconds * 1000).toFixed(0) + " ms", "num"),
      td(p.miners, "num"), td(rate(p.hashrate_hashes_per_second), "num"), split, td(c.accepted, "num"), td(c.rejected, "num"), td(p.last_error || "", "wrap")];
  });
  fill("pools", rows, "No pool configured: add Proxy:Pools (Name, Url, User) to appsettings.json, or start with --pool stratum+tcp://HOST:PORT --user ACCOUNT.", 10);
  const hint = $("pools-hint");
  hint.hidden = status.pools.length === 0 || status.pools.some((p) => p.ready);
  hint.textContent = "No pool is ready, so miners get no work: check each pool's Url and User in Proxy:Pools (the last error says what failed); the proxy keeps retrying.";
}

function renderDecisions(decisions) {
  const list = $("decisions");
  const changes = decisions.filter((d) => d.kind !== "none").sort((a, b) => Date.parse(b.at) - Date.parse(a.at)).slice(0, 40);
  if (changes.length === 0) {
    list.replaceChildren(el("li", "empty", "No decisions yet. The curtailment policy runs every Curtailment:Interval over the rigs in Economics:Rigs and lists here every pool switch, sleep and wake (with Curtailment:DryRun=true it only records what it would do)."));
    return;
  }
  list.replaceChildren(...changes.map((d) => {
    const li = el("li");
    li.append(el("span", "when", clock(d.at)), badge(d.kind.replace("_", " "), d.kind), " ", el("strong", null, d.rig), " " + d.from + " → " + d.to + " ");
    li.append(badge(d.dry_run ? "dry run" : d.outcome, d.dry_run ? "dry_run" : d.outcome === "confirmed" ? "running" : d.outcome));
    const detail = el("div", "detail", d.reason.replaceAll("_", " ") + " · gain " + usd(d.gain_usd_per_day) + "/day · BTC " + usd(d.price_usd, 0) + " · energy " + usd(d.energy_usd_per_kwh * 1000, 0) + "/MWh");
    detail.title = d.description || "";
    li.append(detail);
    return li;
  }));
}

function renderWorkers(workers) {
  fill("workers", workers.map((w) => [td(w.worker), td(w.sessions, "num"), td(rate(w.hashrate1m_hashes_per_second), "num"), td(rate(w.hashrate5m_hashes_per_second), "num"),
    td(rate(w.hashrate1h_hashes_per_second), "num"), td(w.accepted, "num"), td(w.stale, "num"), td(w.duplicate, "num"), td(w.low_difficulty, "num"),
    td(w.pool_rejected, "num"), td(w.lost, "num"), td(w.last_share_at ? ago(w.last_share_at) : "")]),
  "No miner has connected yet: point rigs at this proxy's listener (Proxy:Listeners) with their worker name as the user.", 12);
}

async function refresh() {
  try {
    const [status, workers, economics, rigs, decisions, farm, history] = await Promise.all([
      getJson("api/status"), getJson("api/workers"), getJson("api/economics"), getJson("api/rigs"),
      getJson("api/decisions?limit=500"), getJson("api/farm"), getJson("api/history?max=400")]);
    $("meta").textContent = "v" + status.version + " · up " + Math.round(status.uptime_seconds / 60) + " min · listening on " + status.listeners.join(", ");
    const notice = $("notice");
    notice.hidden = !status.notice;
    notice.textContent = status.notice || "";
    renderSummary(status, farm, economics);
    chart("chart-hashrate", history.points, (p) => p.hashrate_hashes_per_second, rate, "#2f6fdf");
    chart("chart-power", history.points, (p) => p.power_watts, power, "#a15c07");
    chart("chart-profit", history.points, (p) => p.profit_usd_per_day, (v) => usd(v, 0), "#12774a");
    renderRigs(rigs, farm, economics, decisions);
    renderPools(status, workers);
    renderDecisions(decisions);
    renderWorkers(workers);
    $("error").hidden = true;
    $("updated").textContent = "updated " + clock(new Date().toISOString());
    document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
  } catch (e) {
    $("error").hidden = false;
    $("error").textContent = "The proxy's API did not answer (" + e.message + "); retrying.";
  }
}

refresh();
setInterval(refresh, 5000);
