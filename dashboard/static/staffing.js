/* floorwatch staffing (智能排班): a queue's forecast against what happened, the agents the plan needs
   against those scheduled, and the roster suggested to cover them (fewest paid hours, an integer
   program). zh-CN and English. Charts with ECharts (served at /vendor/echarts.min.js); without it,
   the same figures in the tables and a note. */
"use strict";

const T = {
  en: {
    title: "Staffing", queue: "Queue", from: "From", days: "Days", shrinkage: "Shrinkage", lang: "中文",
    export: "Export:", fc_title: "Forecast against actual (offered per 15 minutes)",
    need_title: "Agents needed against scheduled", interval_table: "Every interval",
    roster_suggested: "Suggested roster (fewest paid hours covering the need)", roster_given: "Roster",
    no_charts: "Charts are not available (the ECharts package is not installed: run make with npm present); the tables below hold every figure.",
    busy: "Forecasting and planning…", start: "Start", offered: "Forecast offered", actual_offered: "Actual offered",
    reforecast: "Reforecast (today)",
    replanned: (at, eff) => `. Re-forecast and re-planned at <b>${at}</b> from today's actuals so far; changes take effect from <b>${eff}</b> (the intervals before stay as planned).`,
    day_ahead_agents: "Day-ahead plan", replan: "Re-plan", kept: "as planned", replanned_row: "re-planned",
    legend: (at, eff) => `<span class="sw kept"></span> As planned: before ${eff}, a change decided at ${at} cannot reach them <span class="sw replanned"></span> Re-planned: from ${eff}`,
    kept_area: "as planned", acts: (eff) => `acts ${eff}`,
    src: { live: "live floor", log: "planning log", history: "history database" },
    rec_none: (at, t) => `No service level of today up to ${at} yet: the rest of the day aims at the ${t}% target.`,
    rec_so_far: (at, sl, n, src, t) => `Service level today up to ${at}: <b>${sl}%</b> (${n} contacts, ${src}), `,
    rec_up: (t, aim, m, cap) => `below the ${t}% target: the rest of the day aims at <b class="aim">${aim}%</b> (+${m} points) to make up the day` + (cap ? ` (at most +${cap} points: a lost morning is not bought back at any price)` : "") + ".",
    rec_down: (t, aim, m, cap) => `above the ${t}% target: the rest of the day may run at <b class="aim">${aim}%</b> (−${m} points) and the day still meets it` + (cap ? ` (at most −${cap} points)` : "") + ".",
    rec_even: (t) => `at the ${t}% target: the rest of the day aims at the target.`,
    aht_s: "Forecast AHT (s)", actual_aht_s: "Actual AHT (s)", agents: "Needed", scheduled: "Scheduled",
    date: "Date", shift_start: "Start", end: "End", break_start: "Break from", break_end: "Break to", count: "People",
    no_history: (d, a) => `No whole day of this queue before ${d} to learn from yet: the forecast and the plan start the day after its first whole day` + (a === null ? "." : `. Actual so far: <b>${a}</b> contacts.`),
    learnt: (n) => n ? ` <span class="learnt">(learnt from ${n} past day${n === 1 ? "" : "s"})</span>` : "",
    no_plan: "No staffing need without a forecast yet; the scheduled agents are shown as they are.",
    paid_hours: "Paid hours", fc_sum: (f, a, w) => `Forecast <b>${f}</b> contacts` + (a === null ? " (no actuals for these days yet)" : `, actual <b>${a}</b>; interval error (WAPE) <b>${w}%</b>`),
    need_sum: (n, s, short, t, p, e) => `Needed <b>${n}</b> agent-hours for ${t}% service level` + (p ? ` (Erlang A, patience ${p} s)` : " (Erlang C)") + (e ? (e.pct > 0 ? `, against the forecast's error (typically ±<span class="fc-err">${e.pct}</span>%, from ${e.days} past days)` : `; the forecast's errors over ${e.days} past days were no more than chance`) : "") + `; scheduled <b>${s}</b>; <span class="short">${short}</span> intervals short`,
    roster_sum: (k, paid, need) => `<b>${k}</b> shifts, <b>${paid}</b> paid hours for <b>${need}</b> hours of need`,
    empty: "No queues with history (set FLOORWATCH_PLANNING_LOG).",
    pool_group: (name, qs) => `Pool ${name}: ${qs}`,
    pool_chip: (name, qs) => `Pool ${name} · ${qs}`,
    pool_note: (name, qs, q) => `<b>${qs}</b> are answered by the same agents and staffed as one group, <b>pool ${name}</b>: agents needed, scheduled and the suggested roster below are the whole pool's. The forecast against actual is ${q}'s own, with the pool's total beside it.`,
    pool_offered: "Pool total forecast", pool_actual_offered: "Pool total actual", pool_queues: "Queues",
    pool_agents: "Needed (pool)", pool_scheduled: "Scheduled (pool)",
    fc_queue: (q) => `${q} only`,
    pool_sum: (name, f, a) => `<br>Pool ${name} in total: forecast <b>${f}</b>` + (a === null ? "." : `, actual <b>${a}</b>.`),
  },
  zh: {
    title: "智能排班", queue: "队列", from: "起始日期", days: "天数", shrinkage: "缩减率", lang: "English",
    export: "导出：", fc_title: "预测与实际（每15分钟进线量）",
    need_title: "需要人数与排班人数", interval_table: "全部时段",
    roster_suggested: "建议排班（以最少计薪工时满足需求）", roster_given: "排班表",
    no_charts: "图表不可用（未安装 ECharts 包：请在有 npm 的环境运行 make）；下表包含全部数据。",
    busy: "正在预测与排班…", start: "开始", offered: "预测进线", actual_offered: "实际进线",
    reforecast: "今日滚动预测",
    replanned: (at, eff) => `；已于 <b>${at}</b> 按今日实际进线重新预测并重新排班，调整自 <b>${eff}</b> 起生效（此前时段维持原计划）。`,
    day_ahead_agents: "日前计划人数", replan: "重新排班", kept: "维持原计划", replanned_row: "已调整",
    legend: (at, eff) => `<span class="sw kept"></span> 维持原计划：${eff} 之前的时段（${at} 作出的调整来不及生效） <span class="sw replanned"></span> 已重新排班：${eff} 起`,
    kept_area: "维持原计划", acts: (eff) => `${eff} 起生效`,
    src: { live: "实时数据", log: "排班日志", history: "历史数据库" },
    rec_none: (at, t) => `今日截至 ${at} 尚无服务水平数据：余下时段按目标 ${t}% 排班。`,
    rec_so_far: (at, sl, n, src, t) => `今日截至 ${at} 服务水平 <b>${sl}%</b>（${n} 通，来自${src}），`,
    rec_up: (t, aim, m, cap) => `低于目标 ${t}%：余下时段目标 <b class="aim">${aim}%</b>（+${m} 个百分点）以补足全天` + (cap ? `（最多 +${cap} 个百分点：上午的缺口不会不计代价追回）` : "") + "。",
    rec_down: (t, aim, m, cap) => `高于目标 ${t}%：余下时段目标可降至 <b class="aim">${aim}%</b>（−${m} 个百分点），全天仍可达标` + (cap ? `（最多 −${cap} 个百分点）` : "") + "。",
    rec_even: (t) => `达到目标 ${t}%：余下时段按目标排班。`,
    aht_s: "预测处理时长(秒)", actual_aht_s: "实际处理时长(秒)", agents: "需要人数", scheduled: "排班人数",
    date: "日期", shift_start: "上班", end: "下班", break_start: "休息开始", break_end: "休息结束", count: "人数",
    no_history: (d, a) => `${d} 之前该队列尚无完整的一天可供学习：预测与排班从其第一个完整日的次日开始` + (a === null ? "。" : `。目前实际进线 <b>${a}</b> 通。`),
    learnt: (n) => n ? ` <span class="learnt">（学习自 ${n} 个历史日）</span>` : "",
    no_plan: "尚无预测，暂无法计算需要人数；已排班人数照常显示。",
    paid_hours: "计薪小时", fc_sum: (f, a, w) => `预测 <b>${f}</b> 通` + (a === null ? "（这些日期尚无实际数据）" : `，实际 <b>${a}</b> 通；时段误差（WAPE）<b>${w}%</b>`),
    need_sum: (n, s, short, t, p, e) => `为达到 ${t}% 服务水平需要 <b>${n}</b> 人·小时` + (p ? `（Erlang A，耐心 ${p} 秒）` : "（Erlang C）") + (e ? (e.pct > 0 ? `，已计入预测误差（通常 ±<span class="fc-err">${e.pct}</span>%，来自 ${e.days} 个历史日）` : `；过去 ${e.days} 个历史日的预测误差未超出随机波动`) : "") + `；已排班 <b>${s}</b>；<span class="short">${short}</span> 个时段人手不足`,
    roster_sum: (k, paid, need) => `<b>${k}</b> 个班次，计薪 <b>${paid}</b> 小时，需求 <b>${need}</b> 小时`,
    empty: "没有可预测的队列（请设置 FLOORWATCH_PLANNING_LOG）。",
    pool_group: (name, qs) => `坐席组 ${name}：${qs}`,
    pool_chip: (name, qs) => `坐席组 ${name} · ${qs}`,
    pool_note: (name, qs, q) => `<b>${qs}</b> 由同一批坐席接听，合并为一个坐席组 <b>${name}</b> 排班：下方的需要人数、排班人数和建议排班均为整个坐席组的。预测与实际为队列 ${q} 本身，并附坐席组合计。`,
    pool_offered: "坐席组预测合计", pool_actual_offered: "坐席组实际合计", pool_queues: "队列",
    pool_agents: "需要人数（坐席组）", pool_scheduled: "排班人数（坐席组）",
    fc_queue: (q) => `仅队列 ${q}`,
    pool_sum: (name, f, a) => `<br>坐席组 ${name} 合计：预测 <b>${f}</b> 通` + (a === null ? "。" : `，实际 <b>${a}</b> 通。`),
  },
};
const INT_COLS = ["start", "offered", "reforecast", "actual_offered", "aht_s", "actual_aht_s", "agents", "scheduled"];
const REPLAN_COLS = ["replan", "day_ahead_agents"];  // only on a day re-planned
const SH_COLS = ["date", "shift_start", "end", "break_start", "break_end", "count", "paid_hours"];
const POOL_INT_COLS = ["pool_offered", "pool_actual_offered"];  // only for a queue staffed in a pool

const params = new URLSearchParams(location.search);
const token = params.get("token") || "";
const S = {
  lang: params.get("lang") === "en" ? "en" : (params.get("lang") === "zh" ? "zh" : (localStorage.getItem("fw-lang") || "zh")),
  queues: [], key: params.get("queue") || null, from: params.get("from") || null, days: params.get("days") || "1",
  shrinkage: params.get("shrinkage") || "0", board: null,
};
const charts = {};
const hasCharts = typeof window.echarts !== "undefined";

function t(k) { return (T[S.lang] || T.en)[k] || k; }
function el(id) { return document.getElementById(id); }
function hhmm(iso) { return iso ? iso.slice(5, 10) + " " + iso.slice(11, 16) : "—"; }
function pts(v) { return (Math.round(Math.abs(v) * 10) / 10).toString(); }
function query() {
  const [site, queue] = (S.key || "").split("|");
  const q = { site, queue, from: S.from, days: S.days, shrinkage: S.shrinkage };
  if (params.get("at")) q.at = params.get("at");  // "as of" another time than now (a what-if of the day)
  return q;
}

function exportUrl(table, format) {
  const u = new URL("/api/staffing/export", location.origin);
  for (const [k, v] of Object.entries({ ...query(), table, format })) u.searchParams.set(k, v);
  u.searchParams.set("token", token);
  return u.pathname + u.search;
}

function table(id, cols, rows, labels) {
  const tb = el(id);
  tb.innerHTML = "";
  const head = tb.insertRow();
  for (const c of cols) { const th = document.createElement("th"); th.textContent = t(labels ? labels[c] || c : c); head.appendChild(th); }
  for (const r of rows) {
    const tr = tb.insertRow();
    tr.className = [r.short ? "short" : "", r.replan || ""].join(" ").trim();
    for (const c of cols) tr.insertCell().textContent = r[c + "_text"] !== undefined ? r[c + "_text"] : fmt(r[c]);
  }
}
function chart(id, option) {
  if (!hasCharts) { el(id).hidden = true; return; }
  let ch = charts[id];
  if (!ch) ch = charts[id] = echarts.init(el(id));
  ch.setOption(option, true);
}

function applyLang() {
  document.documentElement.lang = S.lang === "zh" ? "zh-CN" : "en";
  el("title").textContent = t("title");
  el("lang").textContent = t("lang");
  for (const n of document.querySelectorAll("[data-t]")) n.textContent = t(n.dataset.t);
  el("no-charts").textContent = t("no_charts");
  el("no-charts").hidden = hasCharts;
  fillQueues();
  if (S.board) render();
}
function poolQueues(qs) { return qs.join(" · "); }
function fillQueues() {
  // A pool's queues together under the pool's name (one group of agents); the queues staffed alone after them.
  const sel = el("queue");
  sel.innerHTML = "";
  const groups = {};
  const opt = (q) => {
    const o = document.createElement("option");
    o.value = q.site + "|" + q.queue;
    o.textContent = (q.name[S.lang] || q.name.en) + " (" + q.site + ")";
    return o;
  };
  for (const q of S.queues.filter((x) => x.pool)) {
    const k = q.site + "|" + q.pool;
    if (!groups[k]) {
      groups[k] = document.createElement("optgroup");
      groups[k].label = t("pool_group")(q.pool, poolQueues(q.pool_queues));
      sel.appendChild(groups[k]);
    }
    groups[k].appendChild(opt(q));
  }
  for (const q of S.queues.filter((x) => !x.pool)) sel.appendChild(opt(q));
  if (S.key) sel.value = S.key;
}

function render() {
  const b = S.board;
  const rows = b.intervals;
  const open = rows.filter((r) => r.offered > 0.05 || (r.actual_offered || 0) > 0 || r.agents || r.scheduled);
  const labels = rows.map((r) => hhmm(r.start));
  const f = rows.reduce((s, r) => s + r.offered, 0);
  const withActual = rows.filter((r) => r.actual_offered !== null);
  let a = null, w = null;
  if (withActual.length) {
    a = withActual.reduce((s, r) => s + r.actual_offered, 0);
    const err = withActual.reduce((s, r) => s + Math.abs(r.offered - r.actual_offered), 0);
    w = a ? (100 * err / a).toFixed(1) : "—";
  }
  const at = b.replanned_at ? b.replanned_at.slice(11, 16) : null;
  const eff = b.effective_from ? b.effective_from.slice(11, 16) : null;
  // A queue with no whole day before the first day shown has nothing to learn from: say so, not "forecast 0, error 100 %".
  const learnt = b.history_days === 0 ? t("no_history")(b.from.slice(0, 10), a) : t("fc_sum")(Math.round(f), a, w) + t("learnt")(b.history_days);
  const pool = b.pool;
  let poolSum = "";
  if (pool) {
    const pa = rows.filter((r) => r.pool_actual_offered !== null);
    poolSum = t("pool_sum")(pool.name, Math.round(rows.reduce((s, r) => s + r.pool_offered, 0)),
                            pa.length ? pa.reduce((s, r) => s + r.pool_actual_offered, 0) : null);
  }
  el("fc-summary").innerHTML = learnt + (at ? t("replanned")(at, eff) : "") + poolSum;
  // A queue staffed in a pool: say so at the top and on the sections that are the pool's.
  el("pool-note").innerHTML = pool ? t("pool_note")(pool.name, poolQueues(pool.queues), b.queue) : "";
  el("pool-note").hidden = !pool;
  el("fc-queue").textContent = pool ? t("fc_queue")(b.queue) : "";
  el("fc-queue").hidden = !pool;
  for (const id of ["need-pool", "roster-pool"]) {
    el(id).textContent = pool ? t("pool_chip")(pool.name, poolQueues(pool.queues)) : "";
    el(id).hidden = !pool;
  }
  chart("fc-chart", {
    tooltip: { trigger: "axis" }, legend: { data: [t("offered"), t("actual_offered")].concat(b.replanned_at ? [t("reforecast")] : [], pool ? [t("pool_offered")] : []) },
    xAxis: { type: "category", data: labels }, yAxis: { type: "value" }, dataZoom: [{ type: "inside" }, { type: "slider" }],
    series: [
      { name: t("actual_offered"), type: "bar", data: rows.map((r) => r.actual_offered), itemStyle: { color: "#9fb7d9" } },
      { name: t("offered"), type: "line", data: rows.map((r) => r.offered), showSymbol: false, lineStyle: { width: 2, color: "#c2410c" } },
    ].concat(b.replanned_at ? [{ name: t("reforecast"), type: "line", data: rows.map((r) => r.reforecast), showSymbol: false,
                                 lineStyle: { width: 2, type: "dashed", color: "#7c3aed" } }] : [],
            pool ? [{ name: t("pool_offered"), type: "line", data: rows.map((r) => r.pool_offered), showSymbol: false,
                      lineStyle: { width: 2, type: "dotted", color: "#0f766e" }, itemStyle: { color: "#0f766e" } }] : []),
  });
  const need = rows.reduce((s, r) => s + (r.agents || 0), 0) / 4;
  const sched = rows.reduce((s, r) => s + (r.scheduled || 0), 0) / 4;
  const short = rows.filter((r) => (r.agents || 0) > (r.scheduled || 0)).length;
  el("need-summary").innerHTML = b.history_days === 0 ? t("no_plan") : t("need_sum")(need.toFixed(1), sched.toFixed(1), short, b.target_pct,
                                               b.patience_s ? Math.round(b.patience_s) : null,
                                               b.forecast_error ? { pct: Math.round(100 * (Math.exp(b.forecast_error.scale) - 1)), days: b.forecast_error.days } : null);
  el("recovery").innerHTML = recoveryText(b.recovery, at);
  el("recovery").hidden = !b.recovery;
  // The re-plan day's intervals it could not reach, shaded; where it acts, a line.
  const kept = rows.filter((r) => r.replan === "kept");
  const firstNew = rows.find((r) => r.replan === "replanned");
  const marks = kept.length ? {
    markArea: { silent: true, itemStyle: { color: "rgba(107,114,128,0.13)" }, label: { color: "#4b5563", position: "insideTopLeft" },
                data: [[{ name: t("kept_area"), xAxis: hhmm(kept[0].start) }, { xAxis: hhmm(kept[kept.length - 1].start) }]] },
    markLine: firstNew ? { silent: true, symbol: "none", lineStyle: { color: "#7c3aed", width: 2 },
                           label: { formatter: t("acts")(eff), color: "#7c3aed" }, data: [{ xAxis: hhmm(firstNew.start) }]} : undefined,
  } : {};
  const needName = pool ? t("pool_agents") : t("agents"), schedName = pool ? t("pool_scheduled") : t("scheduled");
  chart("need-chart", {
    tooltip: { trigger: "axis" }, legend: { data: [needName, schedName] },
    xAxis: { type: "category", data: labels }, yAxis: { type: "value", minInterval: 1 }, dataZoom: [{ type: "inside" }, { type: "slider" }],
    series: [
      { name: needName, type: "bar", data: rows.map((r) => r.agents), itemStyle: { color: "#f0a35e" }, ...marks },
      { name: schedName, type: "line", step: "middle", data: rows.map((r) => r.scheduled), showSymbol: false, lineStyle: { width: 2, color: "#1f5fbf" } },
    ],
  });
  el("replan-legend").innerHTML = at ? t("legend")(at, eff) : "";
  el("replan-legend").hidden = !at;
  if (at && !S.opened) { el("int-details").open = true; S.opened = true; }  // a re-plan: show what it changed
  const intCols = INT_COLS.concat(at ? REPLAN_COLS : [], pool ? POOL_INT_COLS : []);
  table("int-table", intCols, open.map((r) => ({
    ...r, start_text: hhmm(r.start), short: (r.agents || 0) > (r.scheduled || 0),
    replan_text: r.replan === "kept" ? t("kept") : (r.replan === "replanned" ? t("replanned_row") : "—"),
  })), pool ? { agents: "pool_agents", scheduled: "pool_scheduled" } : null);
  el("roster-title").textContent = b.roster === "suggested" ? t("roster_suggested") : t("roster_given");
  el("roster-summary").innerHTML = b.roster === "suggested" ? t("roster_sum")(b.shifts.reduce((s, x) => s + x.count, 0), fmt(b.paid_hours), fmt(b.needed_hours)) : "";
  const sh = [...b.shifts].sort((x, y) => (x.start < y.start ? -1 : 1)).map((x) => ({
    ...x, shift_start_text: hhmm(x.start), end_text: hhmm(x.end), break_start_text: x.break_start ? hhmm(x.break_start) : "—",
    break_end_text: x.break_end ? hhmm(x.break_end) : "—", pool_queues_text: x.pool_queues ? poolQueues(x.pool_queues) : "",
  }));
  table("sh-table", pool ? SH_COLS.concat(["pool_queues"]) : SH_COLS, sh);
  el("int-csv").href = exportUrl("intervals", "csv");
  el("int-xlsx").href = exportUrl("intervals", "xlsx");
  el("sh-csv").href = exportUrl("shifts", "csv");
  el("sh-xlsx").href = exportUrl("shifts", "xlsx");
  document.body.dataset.ready = "1";
}

function recoveryText(rec, at) {
  if (!rec) return "";
  if (rec.sl_pct === null) return t("rec_none")(at, rec.target_pct);
  const head = t("rec_so_far")(at, fmt(rec.sl_pct), rec.offered.toLocaleString(), (T[S.lang] || T.en).src[rec.source] || rec.source, rec.target_pct);
  const m = rec.margin_pts, aim = pts(rec.aim_pct);
  if (m > 0) return head + t("rec_up")(rec.target_pct, aim, pts(m), m >= rec.up_to_pts ? rec.up_to_pts : 0);
  if (m < 0) return head + t("rec_down")(rec.target_pct, aim, pts(m), -m >= rec.down_to_pts ? rec.down_to_pts : 0);
  return head + t("rec_even")(rec.target_pct);
}

async function load() {
  el("error").hidden = true;
  el("busy").textContent = t("busy");
  el("busy").hidden = false;
  document.body.dataset.ready = "";
  const q = query();
  const url = new URL(location.href);
  for (const [k, v] of Object.entries({ queue: S.key, from: S.from, days: S.days, shrinkage: S.shrinkage, lang: S.lang })) url.searchParams.set(k, v);
  history.replaceState(null, "", url);
  try {
    S.board = await api("/api/staffing", q);
    render();
  } catch (e) {
    el("error").textContent = e.message;
    el("error").hidden = false;
  } finally {
    el("busy").hidden = true;
  }
}

async function start() {
  applyLang();
  try {
    S.queues = (await api("/api/staffing/queues")).queues;
  } catch (e) {
    el("error").textContent = e.message;
    el("error").hidden = false;
    return;
  }
  if (!S.queues.length) { el("error").textContent = t("empty"); el("error").hidden = false; return; }
  if (!S.key || !S.queues.some((q) => q.site + "|" + q.queue === S.key)) {
    const big = S.queues.reduce((x, y) => (y.offered > x.offered ? y : x));
    S.key = big.site + "|" + big.queue;
  }
  const cur = S.queues.find((q) => q.site + "|" + q.queue === S.key);
  if (!S.from) S.from = cur.last;
  fillQueues();
  el("from").value = S.from;
  el("days").value = S.days;
  el("shrinkage").value = S.shrinkage;
  el("queue").onchange = () => { S.key = el("queue").value; load(); };
  el("from").onchange = () => { S.from = el("from").value; load(); };
  el("days").onchange = () => { S.days = el("days").value; load(); };
  el("shrinkage").onchange = () => { S.shrinkage = el("shrinkage").value; load(); };
  el("lang").onclick = () => { S.lang = S.lang === "zh" ? "en" : "zh"; localStorage.setItem("fw-lang", S.lang); applyLang(); };
  window.addEventListener("resize", () => { for (const c of Object.values(charts)) c.resize(); });
  await load();
}
start();
