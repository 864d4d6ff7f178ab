/* floorwatch reports: hourly flow and service quality from the history database,
   drill-down month → day → hour → queue → agent (an agent's hours of the day, or days of
   the month), today against last week, team and agent performance (team → its agents),
   CSV/XLSX exports. zh-CN and English. Charts with ECharts (served by
   floorwatch at /vendor/echarts.min.js); without it, the same tables and a note. */
"use strict";

const T = {
  en: {
    title: "Floor reports", site: "Site", period: "Period", date: "Date", day: "Day", week: "Week", month: "Month",
    lang: "中文", export: "Export:", compare: "Today against the same weekday last week",
    flow_month: "Daily flow and service quality", flow_day: "Hourly flow and service quality",
    flow_hour: "Queues in the hour", agents: "Agent performance", agents_day: "Agents of the day",
    no_charts: "Charts are not available (the ECharts package is not installed: run make with npm present); the tables below hold every figure.",
    start: "Start", queue: "Queue", offered: "Offered", answered: "Answered", abandoned: "Abandoned",
    short_abandoned: "Short abandons", asa_s: "ASA (s)", aht_s: "AHT (s)", sl_pct: "Service level %",
    abandon_pct: "Abandon %", max_wait_s: "Max wait (s)", agent: "Agent", handled: "Handled",
    occupancy_pct: "Occupancy %", not_ready: "Not ready", all: "All", total: "Total",
    this_day: "This day", week_before: "Same weekday last week", hour: "Hour", empty: "No history for this selection.",
    drill_hint: "Click a bar or a row for more detail.", agent_days: "Agent by day",
    agent_hours: "Agent by hour", teams: "Team performance", team: "Team", aht_q: "AHT (s)",
    all_teams: "all teams", of_team: "Agents of",
  },
  zh: {
    title: "楼面报表", site: "站点", period: "周期", date: "日期", day: "日", week: "周", month: "月",
    lang: "English", export: "导出：", compare: "今日与上周同日对比",
    flow_month: "每日客流与服务质量", flow_day: "每小时客流与服务质量",
    flow_hour: "该小时各队列", agents: "坐席绩效", agents_day: "当日坐席",
    no_charts: "图表不可用（未安装 ECharts 包：请在有 npm 的环境运行 make）；下表包含全部数据。",
    start: "开始", queue: "队列", offered: "进线", answered: "接通", abandoned: "放弃",
    short_abandoned: "短时放弃", asa_s: "平均应答(秒)", aht_s: "平均处理(秒)", sl_pct: "服务水平%",
    abandon_pct: "放弃率%", max_wait_s: "最长等待(秒)", agent: "坐席", handled: "处理量",
    occupancy_pct: "占用率%", not_ready: "未就绪", all: "全部", total: "合计",
    this_day: "当日", week_before: "上周同日", hour: "小时", empty: "该选择没有历史数据。",
    drill_hint: "点击柱形或表格行查看明细。", agent_days: "坐席每日",
    agent_hours: "坐席每小时", teams: "班组绩效", team: "班组", aht_q: "平均处理(秒)",
    all_teams: "全部班组", of_team: "班组坐席：",
  },
};
const FLOW_COLS = ["offered", "answered", "abandoned", "short_abandoned", "asa_s", "aht_s", "sl_pct", "abandon_pct", "max_wait_s"];

const params = new URLSearchParams(location.search);
const token = params.get("token") || "";
const S = {
  lang: params.get("lang") === "en" ? "en" : (params.get("lang") === "zh" ? "zh" : (localStorage.getItem("fw-lang") || "zh")),
  sites: [], site: params.get("site") || null, period: params.get("period") || "day", date: params.get("date") || null,
  level: null, hour: null, queue: null, rows: [], agent: null, agentLabel: null, prevLevel: null,
  team: null, teamNames: {},
};
const charts = {};
const hasCharts = typeof window.echarts !== "undefined";

function t(k) { return (T[S.lang] || T.en)[k] || k; }
function el(id) { return document.getElementById(id); }

function exportUrl(q) {
  const u = new URL("/api/history/export", location.origin);
  for (const [k, v] of Object.entries(q)) if (v !== null && v !== undefined) u.searchParams.set(k, v);
  u.searchParams.set("token", token);
  return u.pathname + u.search;
}

function addDays(iso, n) { const d = new Date(iso + "T00:00:00Z"); d.setUTCDate(d.getUTCDate() + n); return d.toISOString().slice(0, 10); }
function range() {
  if (S.level === "month" || S.level === "agent") { const m = S.date.slice(0, 8); const next = addDays(m + "28", 4).slice(0, 8) + "01"; return [m + "01", addDays(next, -1)]; }
  if (S.level === "week") { const d = new Date(S.date + "T00:00:00Z"); const back = (d.getUTCDay() + 6) % 7; const mon = addDays(S.date, -back); return [mon, addDays(mon, 6)]; }
  return [S.date, S.date];
}
function siteInfo() { return S.sites.find((s) => s.site === S.site) || { queue_names: {}, name: { en: S.site, zh: S.site } }; }
function qname(q) { if (q === "*") return t("all"); const n = siteInfo().queue_names[q]; return n ? n[S.lang] || n.en : q; }

function applyLang() {
  document.documentElement.lang = S.lang === "zh" ? "zh-CN" : "en";
  el("title").textContent = t("title");
  el("lang").textContent = t("lang");
  document.querySelectorAll("[data-t]").forEach((n) => { n.textContent = t(n.dataset.t); });
  for (const o of el("period").options) o.textContent = t(o.value);
  el("no-charts").textContent = t("no_charts");
  for (const s of S.sites) { const o = el("site").querySelector(`option[value="${CSS.escape(s.site)}"]`); if (o) o.textContent = s.name[S.lang] || s.site; }
}

function crumbs() {
  const c = el("crumbs"); c.innerHTML = "";
  const path = [];
  const lvl = S.level === "agent" ? S.prevLevel : S.level;
  if (S.period === "month" || S.period === "week") path.push([S.period === "month" ? S.date.slice(0, 7) : t("week") + " " + range0(), () => { S.level = S.period; load(); }]);
  if (["day", "hour", "queue"].includes(lvl)) path.push([S.date, () => { S.level = "day"; S.hour = null; S.queue = null; load(); }]);
  if (["hour", "queue"].includes(lvl)) path.push([S.hour + ":00", () => { S.level = "hour"; S.queue = null; load(); }]);
  if (lvl === "queue") path.push([qname(S.queue), () => { S.level = "queue"; load(); }]);
  if (S.level === "agent") path.push([S.agentLabel, () => {}]);
  path.forEach(([label, go], i) => {
    if (i) { const s = document.createElement("span"); s.className = "sep"; s.textContent = "›"; c.appendChild(s); }
    const a = document.createElement("a"); a.textContent = label; a.onclick = go; c.appendChild(a);
  });
  const h = document.createElement("span"); h.className = "sep"; h.textContent = " — " + t("drill_hint"); c.appendChild(h);
}
function range0() { return range()[0]; }

function table(id, cols, rows, opts) {
  const tb = el(id); tb.innerHTML = "";
  const head = tb.insertRow();
  for (const c of cols) { const th = document.createElement("th"); th.textContent = t(c); head.appendChild(th); }
  if (!rows.length) { const r = tb.insertRow(); const td = r.insertCell(); td.colSpan = cols.length; td.textContent = t("empty"); return; }
  rows.forEach((row, i) => {
    const tr = tb.insertRow();
    if (opts && opts.total && opts.total(row)) tr.className = "total";
    if (opts && opts.drill) { tr.classList.add("drill"); tr.onclick = () => opts.drill(row, i); tr.dataset.drill = String(i); }
    for (const c of cols) tr.insertCell().textContent = opts && opts.cell ? opts.cell(row, c) : fmt(row[c]);
  });
}

function chart(id, option, onClick) {
  if (!hasCharts) { el(id).hidden = true; return; }
  let ch = charts[id];
  if (!ch) { ch = charts[id] = echarts.init(el(id)); }
  ch.clear();
  ch.setOption(option);
  ch.off("click");
  if (onClick) ch.on("click", (p) => onClick(p.dataIndex));
  window.fwCharts = charts;
}
function flowOption(labels, rows) {
  return {
    tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 50, right: 50, top: 40, bottom: 30 },
    xAxis: { type: "category", data: labels },
    yAxis: [{ type: "value" }, { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }],
    series: [
      { name: t("offered"), type: "bar", data: rows.map((r) => r.offered) },
      { name: t("answered"), type: "bar", data: rows.map((r) => r.answered) },
      { name: t("abandoned"), type: "bar", data: rows.map((r) => r.abandoned) },
      { name: t("sl_pct"), type: "line", yAxisIndex: 1, data: rows.map((r) => r.sl_pct) },
    ],
  };
}

async function loadFlow() {
  el("flow-section").hidden = S.level === "agent";
  if (S.level === "agent") return;
  const [from, to] = range();
  let q = { site: S.site, from, to };
  let title, rows, labels, drill, cols;
  if (S.level === "month" || S.level === "week") {
    q = { ...q, step: "1d", queue: "*" };
    rows = (await api("/api/history", q)).rows;
    labels = rows.map((r) => r.start.slice(5, 10)); title = t("flow_month"); cols = ["start", ...FLOW_COLS];
    drill = (r) => { S.date = r.start.slice(0, 10); S.level = "day"; load(); };
  } else if (S.level === "day") {
    q = { ...q, step: "1h", queue: "*" };
    rows = (await api("/api/history", q)).rows;
    labels = rows.map((r) => r.start.slice(11, 16)); title = t("flow_day") + " " + S.date; cols = ["start", ...FLOW_COLS];
    drill = (r) => { S.hour = r.start.slice(11, 13); S.level = "hour"; load(); };
  } else {
    q = { ...q, step: "1h" };
    const all = (await api("/api/history", q)).rows.filter((r) => r.start.slice(11, 13) === S.hour);
    rows = S.level === "queue" ? all.filter((r) => r.queue === S.queue) : all.filter((r) => r.queue !== "*").concat(all.filter((r) => r.queue === "*"));
    labels = rows.map((r) => qname(r.queue)); title = t("flow_hour") + " " + S.date + " " + S.hour + ":00"; cols = ["queue", ...FLOW_COLS];
    drill = (r) => { if (r.queue !== "*") { S.queue = r.queue; S.level = "queue"; load(); } };
  }
  S.rows = rows;
  el("flow-title").textContent = title;
  const cell = (r, c) => (c === "start" ? (S.level === "day" ? r.start.slice(11, 16) : r.start.slice(0, 10)) : c === "queue" ? qname(r.queue) : fmt(r[c]));
  table("flow-table", cols, rows, { drill, cell, total: (r) => r.queue === "*" && S.level === "hour" });
  chart("flow-chart", flowOption(labels, rows), (i) => drill(rows[i], i));
  const ex = { site: S.site, from, to, kind: "flow", step: q.step, queue: q.queue };
  el("flow-csv").href = exportUrl({ ...ex, format: "csv" });
  el("flow-xlsx").href = exportUrl({ ...ex, format: "xlsx" });
}

async function loadCompare() {
  const sec = el("compare-section");
  if (S.level !== "day") { sec.hidden = true; return; }
  sec.hidden = false;
  const before = addDays(S.date, -7);
  const [a, b] = await Promise.all([
    api("/api/history", { site: S.site, from: S.date, to: S.date, step: "1h", queue: "*" }),
    api("/api/history", { site: S.site, from: before, to: before, step: "1h", queue: "*" }),
  ]);
  const hours = [...new Set([...a.rows, ...b.rows].map((r) => r.start.slice(11, 13)))].sort();
  const at = (rows, h, k) => { const r = rows.find((x) => x.start.slice(11, 13) === h); return r ? r[k] : null; };
  const rows = hours.map((h) => ({ hour: h + ":00", this_day: at(a.rows, h, "offered"), week_before: at(b.rows, h, "offered"),
    sl_this: at(a.rows, h, "sl_pct"), sl_before: at(b.rows, h, "sl_pct") }));
  table("compare-table", ["hour", "this_day", "week_before"], rows);
  chart("compare-chart", {
    tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 50, right: 30, top: 40, bottom: 30 },
    xAxis: { type: "category", data: rows.map((r) => r.hour) }, yAxis: { type: "value" },
    series: [
      { name: t("this_day") + " " + S.date, type: "line", data: rows.map((r) => r.this_day) },
      { name: t("week_before") + " " + before, type: "line", lineStyle: { type: "dashed" }, data: rows.map((r) => r.week_before) },
    ],
  });
}

// What the agent and team tables read: the period (a day, or the month/week), one hour of it.
function agentScope() {
  const one = S.level === "agent";
  const dayView = one && ["day", "hour", "queue"].includes(S.prevLevel);
  const [from, to] = ["month", "week"].includes(S.level) || (one && !dayView) ? range() : [S.date, S.date];
  const hour = !one && ["hour", "queue"].includes(S.level) ? Number(S.hour) : null;
  return { one, dayView, from, to, hour };
}
function teamName(id) { const n = S.teamNames[id]; return id === "*" ? t("total") : n ? n[S.lang] || n.en : id; }
function perfRows(data) {
  // Not-ready minutes by reason and AHT by queue as columns of their own.
  const reasons = [...new Set(data.rows.flatMap((r) => Object.keys(r.not_ready_s)))].sort();
  const queues = [...new Set(data.rows.flatMap((r) => Object.keys(r.aht_by_queue_s || {})))].sort();
  const rows = data.rows.map((r) => ({ ...r, ...Object.fromEntries(reasons.map((k) => ["nr:" + k, r.not_ready_s[k] || 0])),
    ...Object.fromEntries(queues.map((q) => ["aq:" + q, (r.aht_by_queue_s || {})[q] ?? null])) }));
  return { rows, extra: [...queues.map((q) => "aq:" + q), "occupancy_pct", ...reasons.map((k) => "nr:" + k)] };
}
function perfHeads(id, cols) {
  el(id).querySelectorAll("th").forEach((th, i) => {
    if (cols[i].startsWith("nr:")) th.textContent = t("not_ready") + " " + cols[i].slice(3) + " (min)";
    if (cols[i].startsWith("aq:")) th.textContent = t("aht_q") + " " + qname(cols[i].slice(3));
  });
}
function perfCell(r, c) { return c.startsWith("nr:") ? fmt(r[c] / 60) : fmt(r[c]); }

async function loadTeams() {
  const sec = el("teams-section");
  const sc = agentScope();
  if (sc.one) { sec.hidden = true; return; }
  sec.hidden = false;
  const data = await api("/api/history/agents", { site: S.site, from: sc.from, to: sc.to, by: "team", hour: sc.hour });
  S.teamNames = data.teams || {};
  const { rows, extra } = perfRows(data);
  el("teams-title").textContent = t("teams") + " " + sc.from + (sc.to !== sc.from ? ".." + sc.to : "") + (sc.hour !== null ? " " + S.hour + ":00" : "");
  const cols = ["team", "handled", "aht_s", ...extra];
  const cell = (r, c) => (c === "team" ? teamName(r.team) : perfCell(r, c));
  const drill = (r) => { S.team = r.team === "*" || r.team === S.team ? null : r.team; loadAgents().then(markReady); };
  table("teams-table", cols, rows, { cell, total: (r) => r.team === "*", drill });
  perfHeads("teams-table", cols);
  const teams = rows.filter((r) => r.team !== "*");
  chart("teams-chart", {
    tooltip: { trigger: "axis" }, grid: { left: 50, right: 30, top: 20, bottom: 40 },
    xAxis: { type: "category", data: teams.map((r) => teamName(r.team)) }, yAxis: { type: "value" },
    series: [{ name: t("handled"), type: "bar", data: teams.map((r) => r.handled) }],
  }, (i) => drill(teams[i]));
  const ex = { site: S.site, from: sc.from, to: sc.to, kind: "teams", hour: sc.hour };
  el("teams-csv").href = exportUrl({ ...ex, format: "csv" });
  el("teams-xlsx").href = exportUrl({ ...ex, format: "xlsx" });
}

async function loadAgents() {
  const sc = agentScope();
  const one = sc.one;
  const step = one ? (sc.dayView ? "1h" : "1d") : null;
  const team = one ? null : S.team;
  const data = await api("/api/history/agents", { site: S.site, from: sc.from, to: sc.to, agent: one ? S.agent : null, step, hour: sc.hour, team });
  const { rows, extra } = perfRows(data);
  const when = (r) => (step === "1h" ? r.start.slice(11, 16) : (r.start || r.date || "").slice(0, 10));
  el("agents-title").textContent = (one ? (sc.dayView ? t("agent_hours") : t("agent_days")) + " " + S.agentLabel
    : team ? t("of_team") + " " + teamName(team) : S.level === "queue" ? t("agents_day") : t("agents"))
    + " " + sc.from + (sc.to !== sc.from ? ".." + sc.to : "") + (sc.hour !== null ? " " + S.hour + ":00" : "");
  const cols = [one ? "start" : "agent", ...(one ? [] : ["team"]), "handled", "aht_s", ...extra];
  const cell = (r, c) => (c === "start" ? when(r) : c === "agent" ? (r.agent === "*" ? t("total") : r.label)
    : c === "team" ? (r.agent === "*" ? "" : teamName(r.team)) : perfCell(r, c));
  const drill = one ? null : (r) => { if (r.agent !== "*") { S.prevLevel = S.level; S.agent = r.agent; S.agentLabel = r.label; S.level = "agent"; load(); } };
  table("agents-table", cols, rows, { cell, total: (r) => r.agent === "*", drill });
  perfHeads("agents-table", cols);
  const people = one ? rows : rows.filter((r) => r.agent !== "*");
  chart("agents-chart", {
    tooltip: { trigger: "axis" }, grid: { left: 50, right: 30, top: 20, bottom: 60 },
    xAxis: { type: "category", data: people.map((r) => (one ? when(r) : r.label)), axisLabel: { rotate: 45 } }, yAxis: { type: "value" },
    series: [{ name: t("handled"), type: "bar", data: people.map((r) => r.handled) }],
  }, one ? null : (i) => drill(people[i]));
  const ex = { site: S.site, from: sc.from, to: sc.to, kind: "agents", agent: one ? S.agent : null, step: step, hour: sc.hour, team };
  el("agents-csv").href = exportUrl({ ...ex, format: "csv" });
  el("agents-xlsx").href = exportUrl({ ...ex, format: "xlsx" });
}

function markReady() {
  document.body.dataset.ready = S.level + ":" + S.date + ":" + (S.hour || "") + ":" + (S.level === "agent" ? S.agent : S.queue || "") + ":" + S.lang
    + (S.team && S.level !== "agent" ? ":team=" + S.team : "");
}

async function load() {
  el("error").hidden = true;
  applyLang();
  crumbs();
  try {
    await loadFlow();
    await loadCompare();
    await loadTeams();
    await loadAgents();
    markReady();
  } catch (e) {
    el("error").textContent = e.message; el("error").hidden = false;
    document.body.dataset.ready = "error";
  }
}

async function start() {
  el("no-charts").hidden = hasCharts;
  el("lang").onclick = () => { S.lang = S.lang === "zh" ? "en" : "zh"; localStorage.setItem("fw-lang", S.lang); load(); };
  try {
    S.sites = (await api("/api/history/sites")).sites;
  } catch (e) { applyLang(); el("error").textContent = e.message; el("error").hidden = false; document.body.dataset.ready = "error"; return; }
  const sel = el("site");
  for (const s of S.sites) { const o = document.createElement("option"); o.value = s.site; sel.appendChild(o); }
  if (!S.site && S.sites.length) S.site = S.sites[0].site;
  sel.value = S.site || "";
  const info = siteInfo();
  if (!S.date) S.date = info.last_date || new Date().toISOString().slice(0, 10);
  el("date").value = S.date;
  el("period").value = S.period;
  S.level = S.period;
  sel.onchange = () => { S.site = sel.value; S.level = S.period; load(); };
  el("period").onchange = () => { S.period = el("period").value; S.level = S.period; S.hour = null; S.queue = null; load(); };
  el("date").onchange = () => { if (el("date").value) { S.date = el("date").value; S.level = S.period; load(); } };
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
  await load();
}
start();
