// floorwatch wall: keeps a copy of each site's wall view, patched from the websocket, and draws it;
// supervisors act on alerts from it (ack, silence). No libraries: a TV's browser loads three small files.
"use strict";
(function () {
  const params = new URLSearchParams(location.search);
  // The wall URL carries its token so a TV opens it without anyone typing.
  const TOKEN = params.get("token") || sessionStorage.getItem("fw-token") || "";
  if (params.get("token")) sessionStorage.setItem("fw-token", TOKEN);
  const STALE_MS = +(params.get("stale_ms") || 10000);
  const ROTATE_MS = +(params.get("rotate_ms") || 8000); // paged agent grid and alert list turn a page this often
  const STEP_MS = 10000, SPAN_MS = 3600000; // sparkline: a point per 10 s of event time, one hour
  const list = (v) => (v ? v.split(",").map((x) => x.trim()).filter(Boolean) : null);

  const T = {
    zh: {
      all: "全部站点", waiting: "当前排队", longest: "当前最长等待", vip: "贵宾排队", ready: "空闲", busy: "通话",
      wrap_up: "话后", not_ready: "示忙", agents: "坐席状态·当前", grid: "坐席", counters: "窗口",
      open: "开放窗口", tickets: "等待取号", stale: "数据延迟", online: "实时", offline: "重连中",
      noalerts: "无告警", acked: "已确认", lang: "EN", sites: "站点", alerts: "告警",
      queue: "队列", q_wait: "排队", q_longest: "最长", q_sl15: "15分钟服务水平",
      ack: "确认", silence: "静音…", silence_do: "静音", cancel: "取消", reason: "原因（必填）",
      min: "分钟", silenced: "已静音", until: "至", by: "由", raised: "告警于",
      critical: "严重", major: "重要", minor: "次要", warning: "警告", info: "提示",
      sound_on: "♪ 声音开", sound_off: "♪ 点击开启声音", page: "页",
      bad_token_h: "此墙屏链接的令牌无效", bad_token: "链接中的令牌（?token=…）缺失、已失效或输入有误。请向 floorwatch 管理员索取新的墙屏链接，然后重新打开。本页面不会再自动重试。",
      ended_sim: "模拟已结束：数据截至", ended_replay: "回放已结束：数据截至", ended: "数据源已结束",
      trouble: "需关注的队列", all_ok: "所有队列正常", err: "操作失败", final: "最终数据",
      ewt: "预计等待", ewt_next: "新取号预计等待", ewt_band: "预计区间（10%–90%）", ewt_ahead: "前面",
      adv_need: "需", adv_have: "在岗", adv_counters: "窗口", adv_nohist: "无历史", adv_nohist_long: "无历史数据：按近15分钟来话估算", adv_next: "未来1小时需",
      pool: "坐席组", adv_ready: "空闲", in_pool: "属坐席组", pool_short: "缺",
      wi_title: "假设模拟", wi_queue: "队列", wi_agents: "增减坐席", wi_counters: "增减窗口", wi_run: "模拟下一小时", wi_with: "若", wi_sl: "服务水平",
      wi_lw: "最长等待", wi_ab: "放弃", wi_basis_live: "无历史预测：按近15分钟来话估算", wi_basis_fc: "按今日预测来话",
      wi_agents_unknown: "无法模拟：该站点的数据不含坐席状态，不知道在岗坐席有多少",
      wi_busy: "计算中…", wi_close: "收起",
      wi_hall: "全厅（所有窗口）", wi_walk: "弃号", wi_class: "业务类别",
      wi_pool_note: "组内坐席接听以下所有队列，按整组模拟", wi_pool_total: "整组合计",
      n_queues: "个队列", pool_over: "富余",
    },
    en: {
      all: "All sites", waiting: "Waiting now", longest: "Longest wait now", vip: "VIP waiting", ready: "Ready", busy: "Busy",
      wrap_up: "Wrap-up", not_ready: "Not ready", agents: "Agents now", grid: "Agents", counters: "Counters",
      open: "Counters open", tickets: "Tickets waiting", stale: "STALE", online: "Live", offline: "Reconnecting",
      noalerts: "No active alerts", acked: "Acknowledged", lang: "中文", sites: "Sites", alerts: "Alerts",
      queue: "Queue", q_wait: "Wait", q_longest: "Longest", q_sl15: "SL 15m",
      ack: "Acknowledge", silence: "Silence…", silence_do: "Silence", cancel: "Cancel", reason: "Reason (required)",
      min: "min", silenced: "Silenced", until: "until", by: "by", raised: "raised",
      critical: "CRITICAL", major: "MAJOR", minor: "MINOR", warning: "WARNING", info: "INFO",
      sound_on: "♪ Sound on", sound_off: "♪ Click for sound", page: "page",
      bad_token_h: "This wall link's token is not valid",
      bad_token: "The token in this link (?token=…) is missing, expired or mistyped. Ask your floorwatch admin for a new wall link and open it. This page will not keep retrying.",
      ended_sim: "Simulation ended: figures as of", ended_replay: "Replay ended: figures as of", ended: "The feed has ended",
      trouble: "Queues in trouble", all_ok: "All queues OK", err: "Failed", final: "Final",
      ewt: "Predicted wait", ewt_next: "Next ticket", ewt_band: "Likely range (10–90 %)", ewt_ahead: "ahead",
      adv_need: "need", adv_have: "have", adv_counters: "counters", adv_nohist: "no history", adv_nohist_long: "no history: from the last 15 minutes' arrivals", adv_next: "next hour needs",
      pool: "Pool", adv_ready: "ready", in_pool: "in pool", pool_short: "short",
      wi_title: "What-if", wi_queue: "Queue", wi_agents: "Agents ±", wi_counters: "Counters ±", wi_run: "Simulate next hour", wi_with: "with", wi_sl: "SL",
      wi_lw: "longest wait", wi_ab: "abandons", wi_basis_live: "no history forecast: last 15 min's arrivals held", wi_basis_fc: "today's forecast arrivals",
      wi_agents_unknown: "Cannot simulate: this site's feed has no agent states, so who is on duty is unknown",
      wi_busy: "simulating…", wi_close: "Close",
      wi_hall: "whole hall (all counters)", wi_walk: "walk-outs", wi_class: "Class",
      wi_pool_note: "its agents answer all these queues: simulated as one group", wi_pool_total: "Pool total",
      n_queues: "queues", pool_over: "over",
    },
  };
  const wantsZh = (navigator.languages || [navigator.language || ""]).some((l) => /^zh/i.test(l));
  let lang = params.get("lang") || localStorage.getItem("fw-lang") || (wantsZh ? "zh" : "en");
  if (!T[lang]) lang = "en";

  // Per-wall layout: ?wall=NAME (an admin-edited layout), overridden by ?sites= ?queues= ?panels= ?order=.
  const layout = { sites: list(params.get("sites")), queues: list(params.get("queues")),
    panels: list(params.get("panels")), order: params.get("order") || params.get("sort") || null };
  const PANELS = ["tiles", "states", "grid", "counters", "alerts"];
  const panelOn = (p) => (layout.panels || PANELS).includes(p);

  // state: site -> {view, epoch, seq, history, at}
  const sites = {};
  const alerts = new Map(); // id -> alert
  const fresh = new Set(); // alert ids that arrived live (pulse)
  let silences = [], reasons = {}, figures = [], feed = null, me = null;
  let current = params.get("site") || localStorage.getItem("fw-site") || "*";
  let lastMsgAt = Date.now(), ws = null, backoff = 500, dirty = true, dead = false;
  let gridPage = 0, alertPage = 0, silFormFor = null, holding = false, focusId = null;
  // For tests and the latency benchmark: arrival time of each change in the page.
  const probe = (window.__fw = { seq: {}, arrivals: [], messages: 0, connected: false, chimes: 0, flashes: 0, grid: {} });

  const $ = (s) => document.querySelector(s);
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const t = (k) => T[lang][k] || k;
  const name = (n) => (n ? (lang === "zh" ? n.zh || n.en : n.en || n.zh) : "");
  const phone = () => window.innerWidth <= 480;
  const mmss = (s) => {
    if (s == null || isNaN(s)) return "–";
    s = Math.max(0, Math.floor(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), x = s % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(x).padStart(2, "0");
  };
  const pct = (v) => (v == null ? "–" : v.toFixed(0) + "%");
  // ASA: seconds on a hotline, minutes:seconds once it passes a minute (halls).
  const secs = (v) => (v == null ? "–" : v < 60 ? v.toFixed(0) + "s" : mmss(v));
  const reasonName = (r) => (reasons[r] ? name(reasons[r]) : r === "unspecified" ? (lang === "zh" ? "未说明" : "no reason") : r);
  const visibleSites = () => Object.keys(sites).sort().filter((s) => !layout.sites || layout.sites.includes(s));

  // A site's local time of an epoch-ms instant, with its UTC offset (from the site's clock_local).
  function siteTime(site, ms, withOffset) {
    const v = sites[site] && sites[site].view;
    const m = v && v.clock_local && /([+-])(\d\d):?(\d\d)$/.exec(v.clock_local);
    const off = m ? (m[1] === "-" ? -1 : 1) * (+m[2] * 60 + +m[3]) : 0;
    const d = new Date(ms + off * 60000);
    const hh = String(d.getUTCHours()).padStart(2, "0"), mi = String(d.getUTCMinutes()).padStart(2, "0");
    return hh + ":" + mi + (withOffset && m ? " (UTC" + m[1] + m[2] + ":" + m[3] + ")" : "");
  }

  // Two-level colouring; the direction comes with each threshold.
  function level(v, th) {
    if (v == null || !th) return "";
    if (th.higher_is_worse) return v >= th.alarm ? "alarm" : v >= th.warn ? "warn" : "ok";
    return v <= th.alarm ? "alarm" : v <= th.warn ? "warn" : "ok";
  }
  const RANK = { alarm: 2, warn: 1, ok: 0, "": 0 };
  function worst(levels) { return levels.includes("alarm") ? "alarm" : levels.includes("warn") ? "warn" : ""; }
  function queueLevel(q, th) {
    th = th || {};
    return worst([level(q.waiting, th.waiting), level(q.longest_wait_s, th.longest_wait_s), level(q.m15.sl_pct, th.sl_pct),
      level(q.day.abandon_pct, th.abandon_pct)]);
  }

  // ---- JSON Patch (the subset the server's diff produces) -------------------
  function applyPatch(doc, ops) {
    for (const op of ops) {
      if (op.path === "") { doc = op.value; continue; }
      const parts = op.path.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
      let parent = doc;
      for (let i = 0; i < parts.length - 1; i++) parent = parent[parts[i]];
      const last = parts[parts.length - 1];
      if (op.op === "remove") { if (Array.isArray(parent)) parent.splice(+last, 1); else delete parent[last]; }
      else parent[last] = op.value;
    }
    return doc;
  }

  // ---- history (same rule as the server's History) --------------------------
  function addPoint(st) {
    const v = st.view;
    if (!v || !v.clock) return;
    const q = {};
    for (const [k, x] of Object.entries(v.queues)) q[k] = [x.waiting, x.m15 ? x.m15.sl_pct : null];
    const p = [v.clock, q], h = st.history;
    if (h.length && p[0] < h[h.length - 1][0]) h.length = 0;
    if (h.length && Math.floor(p[0] / STEP_MS) === Math.floor(h[h.length - 1][0] / STEP_MS)) h[h.length - 1] = p;
    else h.push(p);
    while (h.length && p[0] - h[0][0] > SPAN_MS) h.shift();
  }

  // ---- the token, the connection ----------------------------------------------
  async function api(method, path, body) {
    const res = await fetch(path, { method, headers: Object.assign({ Authorization: "Bearer " + TOKEN },
      body ? { "Content-Type": "application/json" } : {}), body: body ? JSON.stringify(body) : undefined });
    if (!res.ok) { const e = new Error(res.status + ""); e.status = res.status; throw e; }
    return res.json();
  }

  // A wrong or missing token is not an outage: say so plainly and stop retrying.
  function badToken() {
    dead = true;
    probe.badToken = true;
    if (ws) { ws.onclose = null; try { ws.close(); } catch (e) { /* already closed */ } }
    const f = $("#fatal");
    f.innerHTML = `<h1>${esc(t("bad_token_h"))}</h1><p>${esc(t("bad_token"))}</p><p lang="${lang === "zh" ? "en" : "zh-CN"}">${esc(T[lang === "zh" ? "en" : "zh"].bad_token)}</p>`;
    f.hidden = false;
    setConn(false);
  }

  async function whoami() {
    try { me = await api("GET", "/api/whoami"); probe.role = me.role; return true; }
    catch (e) { if (e.status === 401 || e.status === 403) { badToken(); return false; } return null; }
  }

  async function loadLayout() {
    const w = params.get("wall");
    if (!w) return;
    try {
      const l = await api("GET", "/api/walls/" + encodeURIComponent(w));
      for (const k of ["sites", "queues", "panels"]) if (!layout[k] && l[k] && l[k].length) layout[k] = l[k];
      if (!layout.order && l.order) layout.order = l.order;
      dirty = true; render();
    } catch (e) { console.warn("wall layout", w, e.status); }
  }

  function connect() {
    if (dead) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(proto + "//" + location.host + "/ws?token=" + encodeURIComponent(TOKEN));
    ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
    ws.onopen = () => { probe.connected = true; setConn(true); };
    ws.onclose = async () => {
      probe.connected = false; setConn(false);
      // Refused because of the token? Then retrying cannot help.
      if ((await whoami()) === false) return;
      // Exponential backoff with jitter, so a restarted server is not hit by every TV at once.
      const wait = backoff * (0.75 + Math.random() * 0.5);
      backoff = Math.min(backoff * 2, 30000);
      setTimeout(connect, wait);
    };
  }

  function resync() { if (ws && ws.readyState === 1) ws.send(JSON.stringify({ t: "resync" })); }

  function onMessage(m) {
    const now = Date.now();
    lastMsgAt = now;
    probe.messages++;
    if (m.t === "snapshot") {
      backoff = 500;
      for (const k of Object.keys(sites)) if (!(k in m.sites)) delete sites[k];
      for (const [s, x] of Object.entries(m.sites)) { sites[s] = { view: x.view, epoch: x.epoch, seq: x.seq, history: x.history || [], at: now }; probe.seq[s] = x.seq; }
      const live = new Set(m.alerts.map((a) => a.id));
      for (const id of [...alerts.keys()]) if (!live.has(id)) alerts.delete(id);
      for (const a of m.alerts) alerts.set(a.id, a);
      silences = m.silences || []; reasons = m.reasons || {}; figures = m.figures || []; feed = m.feed || null;
    } else if (m.t === "site") {
      const st = sites[m.site] || (sites[m.site] = { history: [] });
      Object.assign(st, { view: m.view, epoch: m.epoch, seq: m.seq, at: now });
      addPoint(st);
      probe.seq[m.site] = m.seq;
      arrived(m, now);
    } else if (m.t === "patch") {
      const st = sites[m.site];
      if (st && st.epoch === m.epoch && m.seq <= st.seq) return; // already in what we have
      // Another epoch or a gap: patches only apply to the view they were made from.
      if (!st || st.epoch !== m.epoch || m.seq !== st.seq + 1) { resync(); return; }
      st.view = applyPatch(st.view, m.patch);
      st.seq = m.seq; st.at = now;
      addPoint(st);
      probe.seq[m.site] = m.seq;
      arrived(m, now);
    } else if (m.t === "alert") {
      const a = m.alert;
      if (a.state === "resolved") alerts.delete(a.id);
      else {
        const isNew = !alerts.has(a.id);
        alerts.set(a.id, a);
        if (isNew) { fresh.add(a.id); alarmFor(a); }
      }
    } else if (m.t === "ack") {
      const a = alerts.get(m.id);
      if (a) { a.acknowledged = true; a.ack_by = m.by; a.ack_at_ms = m.at_ms; a.ack_floor_ms = m.floor_ms; fresh.delete(m.id); }
    } else if (m.t === "silences") {
      silences = m.silences || [];
    } else if (m.t === "feed") {
      feed = m.feed;
    } else if (m.t === "advice") {
      // Staffing advice on the site's current view (same seq); anything else: the whole floor again.
      const st = sites[m.site];
      if (!st || st.epoch !== m.epoch || st.seq !== m.seq) { resync(); return; }
      st.view = applyPatch(st.view, m.patch);
    }
    dirty = true; requestAnimationFrame(render);
  }

  function arrived(m, now) {
    if (m.published_ms) {
      probe.arrivals.push([m.site, m.seq, m.published_ms, now]);
      if (probe.arrivals.length > 20000) probe.arrivals.splice(0, 10000);
    }
  }

  // Live, STALE · m:ss (nothing new for a while: figures dim), Reconnecting, or Final once the feed has ended.
  function setConn(up) {
    const c = $("#conn");
    const ended = up && feed && feed.state === "ended";
    const stale = up && !ended && Date.now() - lastMsgAt > STALE_MS;
    c.className = "badge conn " + (ended ? "ended" : stale ? "stale" : up ? "up" : "down");
    c.textContent = ended ? t("final") : stale ? t("stale") + " · " + mmss((Date.now() - lastMsgAt) / 1000) : up ? t("online") : t("offline");
    $("#main").classList.toggle("stale", !up || stale);
  }

  // ---- silences, sound, flash ----------------------------------------------------
  function silenceOver(a) {
    const key = a.key || [a.site, a.queue, a.rule].join("/");
    const v = sites[a.site] && sites[a.site].view;
    const now = v && v.clock ? v.clock : a.at_ms;
    return silences.find((s) => (key === s.key || key.startsWith(s.key + "/")) && now < s.until_ms) || null;
  }

  let audio = null;
  let soundWanted = localStorage.getItem("fw-sound") !== "off";
  function audioCtx() {
    if (!audio) { try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { audio = null; } }
    return audio;
  }
  // Sound is on when wanted and the browser lets the page play (a click, or the kiosk's autoplay flag).
  const soundOn = () => soundWanted && audioCtx() && audio.state === "running";
  function setSound() {
    const b = $("#sound"), on = soundOn();
    b.textContent = on ? t("sound_on") : t("sound_off");
    b.className = on ? "" : "off";
    b.setAttribute("aria-pressed", on ? "true" : "false");
  }
  function chime(critical) {
    probe.chimes++;
    if (!soundOn()) return;
    // Two rising tones (three for critical), generated: no audio file to load.
    const notes = critical ? [880, 1175, 1568] : [660, 880];
    notes.forEach((f, i) => {
      const o = audio.createOscillator(), g = audio.createGain(), t0 = audio.currentTime + i * 0.22;
      o.frequency.value = f; o.type = "sine";
      g.gain.setValueAtTime(0.0001, t0); g.gain.exponentialRampToValueAtTime(0.5, t0 + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.35);
      o.connect(g).connect(audio.destination); o.start(t0); o.stop(t0 + 0.4);
    });
  }
  function alarmFor(a) {
    if (a.state !== "raised" || a.acknowledged || !inScope(a) || silenceOver(a)) return;
    if (a.severity !== "critical" && a.severity !== "major") return;
    probe.flashes++;
    focusId = a.id; // the screen flashes for this alert: its card is on the page shown, whatever page was turning
    const f = $("#flash");
    f.className = a.severity; void f.offsetWidth; f.className = a.severity + " on";
    setTimeout(() => { f.className = ""; }, 3200);
    chime(a.severity === "critical");
  }

  // ---- drawing ----------------------------------------------------------------
  function render() {
    // A finger or mouse is down on a button: redrawing now would swallow its click.
    if (!dirty || holding) return;
    dirty = false;
    // A drawing bug must never stop the feed: the wall keeps its connection and state.
    try { draw(); } catch (e) { console.error("wall render", e); }
  }

  // Which alerts this page shows: a site's page only that site's, all sites every visible site's.
  function inScope(a) {
    if (current !== "*") return a.site === current;
    return !layout.sites || layout.sites.includes(a.site);
  }

  function draw() {
    renderNav();
    const main = $("#main");
    const names = visibleSites();
    // An unknown site (gone, or a typo in ?site=) falls back to all sites once data is here.
    if (names.length && current !== "*" && !sites[current]) current = names.length === 1 ? names[0] : "*";
    if (!names.length) { main.innerHTML = ""; return; }  // nothing received yet
    const keep = captureForm();
    if (phone()) { main.className = "phone"; main.innerHTML = phoneView(names); }
    else if (current === "*") {
      main.className = "all";
      // Up to 3 sites side by side; 4 as 2x2 and 5-6 as 3x2, compact (their queues' lines stay).
      const n = names.length, sc = n <= 3 ? n : n === 4 ? 2 : 3;
      main.innerHTML = `<div id="sitetiles" class="${n > 3 ? "compact" : ""}" style="--sc:${sc}">${names.map(siteTile).join("")}</div>` + (panelOn("alerts") ? `<div id="side">${alertPanel()}</div>` : ""); }
    else {
      const gridOn = panelOn("grid");
      main.className = "site" + (gridOn ? "" : " nogrid") + (panelOn("tiles") && poolsOf(sites[current].view).length ? " pooled" : "");
      main.innerHTML = siteView(current, gridOn);
      if (gridOn) layoutGrid(current);
    }
    restoreForm(keep);
    drawSparks();
    fitAll();
    pageAlerts();
    tick();
    whatifDraw();
  }

  function renderNav() {
    const names = visibleSites();
    const btn = (k, label) => `<button type="button" data-site="${esc(k)}" class="${current === k ? "on" : ""}">${esc(label)}</button>`;
    $("#sites").innerHTML = (names.length > 1 ? btn("*", t("all")) : "") + names.map((s) => btn(s, name(sites[s].view.name))).join("");
    $("#lang").textContent = t("lang");
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    const st = sites[current] || sites[names[0]];
    $("#clock").textContent = st && st.view.clock_local ? st.view.clock_local.slice(11, 19) : "";
    setSound();
    // The end of a replay or a simulated day, said where everyone looks.
    const ban = $("#banner");
    if (feed && feed.state === "ended") {
      const what = feed.source === "replay" ? t("ended_replay") : feed.source === "simulation" ? t("ended_sim") : t("ended");
      const cl = st && st.view.clock_local;
      const at = cl ? " " + cl.replace("T", " ").slice(0, 16) : "";
      ban.textContent = what + at; ban.hidden = false;
    } else ban.hidden = true;
  }

  // A queue tile's figures, as stream/contracts/figures.py declares them (the server sends the list):
  // each a window's figure, written in its unit, coloured by the floor config's threshold of its name.
  const UNIT = { pct, s: secs };
  function figs(q, th) {
    return `<div class="figs">${figures.map((f) => {
      const v = (q[f.window] || {})[f.key];
      return `<div class="fig"><span class="lbl">${esc(name(f.label))}</span><b data-fig="${f.window}.${f.key}" class="${level(v, th && th[f.key])}">${UNIT[f.unit](v)}</b></div>`;
    }).join("")}</div>`;
  }

  // The predicted wait of a contact arriving now (stream/predict): "Predicted wait ≈ 1:30" on a
  // hotline, "Next ticket ≈ 12 min" in a hall; always there (hidden without one), like the VIP line.
  function ewtLine(e, hall) {
    const ok = e && e.wait_s != null;
    const w = ok ? e.wait_s : 0;
    const fmt = (x) => (hall ? `${Math.max(0, Math.round(x / 60))} ${t("min")}` : mmss(x));
    const band = ok ? `${t("ewt_band")}: ${fmt(e.low_s)}–${fmt(e.high_s)} · ${t("ewt_ahead")} ${e.ahead}` : "";
    return `<div class="ewt ${ok ? "" : "ewt-none"}" title="${esc(band)}"><span class="ewt-lbl">${t(hall ? "ewt_next" : "ewt")}</span> ≈ <b class="ewt-wait" data-ewt="${ok ? w : ""}">${fmt(w)}</b></div>`;
  }

  function queueTile(site, key, q, th) {
    th = th || {};
    const lw = level(q.waiting, th.waiting), ll = level(q.longest_wait_s, th.longest_wait_s);
    // The VIP line is always there (hidden when none wait): a tile never changes height.
    const vip = `<div class="vip ${q.vip_waiting ? "" : "none"}">${t("vip")} ${q.vip_waiting || 0} · ${mmss(q.longest_vip_wait_s)}</div>`;
    const a = q.agents || {};
    const n = name(q.name);
    return `<section class="tile ${queueLevel(q, th)}" data-queue="${esc(key)}">
      <h2 class="fit" title="${esc(n)}">${esc(n)}</h2>
      <div class="big">
        <div><span class="lbl">${t("waiting")}</span><div class="num waiting ${lw}">${q.waiting == null ? "–" : q.waiting}</div></div>
        <div><span class="lbl">${t("longest")}</span><div class="lw longest ${ll}" data-base="${q.longest_wait_s || 0}" data-ticks="${q.waiting ? 1 : 0}">${mmss(q.longest_wait_s)}</div></div>
      </div>
      ${vip}
      ${ewtLine(q.ewt, ((sites[site] || {}).view || {}).kind === "hall")}
      ${figs(q, th)}
      <canvas class="spark" data-site="${esc(site)}" data-queue="${esc(key)}"></canvas>
      <div class="agents">${t("ready")} ${a.ready || 0} · ${t("busy")} ${a.busy || 0} · ${t("wrap_up")} ${a.wrap_up || 0} · ${t("not_ready")} ${a.not_ready || 0}</div>
      ${adviceLine(q.advice)}
    </section>`;
  }

  // Staffing advice (dashboard/ahead.py): "need 32 · have 28"; the next hour's needs in its title.
  // A queue staffed in a pool has the pool's advice: its tile names the pool, whose line has the figures.
  function adviceLine(adv) {
    if (adv && adv.pool) return `<div class="advice pooled" data-pool="${esc(adv.pool)}">${t("in_pool")} ${esc(adv.pool)}</div>`;
    if (!adv || adv.need_now == null) return `<div class="advice none">&nbsp;</div>`;
    const short = adv.have != null && adv.have < adv.need_now;
    const next = (adv.next || []).map((r) => (r.need == null ? "–" : r.need)).join(" · ");
    const title = next ? `${t("adv_next")}: ${next}` : t("adv_nohist_long");
    const nohist = adv.basis === "live" ? ` <span class="advice-nohist">(${t("adv_nohist")})</span>` : "";
    return `<div class="advice ${short ? "advice-short" : ""}" title="${esc(title)}" data-need="${adv.need_now}" data-have="${adv.have == null ? "" : adv.have}">${t("adv_need")} ${adv.need_now} · ${t("adv_have")} ${adv.have == null ? "–" : adv.have}${nohist}</div>`;
  }

  // A site's pools (queues staffed together), from their members' advice: [pool, advice, member queue keys].
  function poolsOf(v) {
    const out = new Map();
    for (const [k, q] of Object.entries(v.queues || {})) {
      const a = q.advice;
      if (!a || !a.pool) continue;
      if (!out.has(a.pool)) out.set(a.pool, [a.pool, a, a.queues || []]);
    }
    return [...out.values()];
  }

  // One line per pool: its name and queues, the pool's need against its agents now, the next hour's needs.
  function poolLine(v, pool, adv, members, site, withSite) {
    const qn = members.map((m) => (v.queues[m] ? name(v.queues[m].name) : m));
    const need = adv.need_now, have = adv.have;
    const short = need != null && have != null && have < need;
    const next = (adv.next || []).map((r) => (r.need == null ? "–" : r.need)).join(" · ");
    const gap = short ? ` <span class="pool-gap">${t("pool_short")} ${need - have}</span>` : "";
    return `<section class="pool ${short ? "pool-short" : ""}" data-pool="${esc(pool)}" data-need="${need == null ? "" : need}" data-have="${have == null ? "" : have}">
      <h2 class="pool-name">${withSite ? `<span class="pool-site">${esc(name(v.name))}</span> ` : ""}<span class="pool-tag">${t("pool")}</span> ${esc(pool)} <span class="pool-queues">${qn.map(esc).join(lang === "zh" ? "、" : " · ")}</span></h2>
      <div class="pool-fig"><span class="pool-need">${t("adv_need")} <b>${need == null ? "–" : need}</b></span> <span class="pool-have">${t("adv_have")} <b>${have == null ? "–" : have}</b></span> <span class="pool-ready">${t("adv_ready")} ${adv.ready == null ? "–" : adv.ready}</span>${gap}</div>
      <div class="pool-next">${next ? `${t("adv_next")}: ${next}` : t("adv_nohist_long")}${canWhatif() ? ` <button type="button" class="pool-wi" data-wi-pool="${esc(site + "/pool=" + pool)}">${t("wi_title")}</button>` : ""}</div>
    </section>`;
  }

  // withSite: the line names its site too (the phone's all-sites list).
  function poolBand(s, withSite) {
    const v = sites[s].view, pools = poolsOf(v);
    return pools.length ? `<div class="pools" data-site="${esc(s)}">${pools.map(([p, a, m]) => poolLine(v, p, a, m, s, withSite)).join("")}</div>` : "";
  }

  // The all-sites overview staffs a pooled site by pool: one row per pool (need, have, short or over),
  // its queues counted (named in the site's own pool line), not each member short or over on its own.
  function sitePools(v) {
    const pools = poolsOf(v);
    if (!pools.length) return "";
    return `<div class="sitepools">${pools.map(([p, a, m]) => {
      const need = a.need_now, have = a.have, gap = need != null && have != null ? have - need : null;
      const qn = m.map((k) => (v.queues[k] ? name(v.queues[k].name) : k)).join(lang === "zh" ? "、" : ", ");
      const diff = gap == null || gap === 0 ? "" : gap < 0 ? `<span class="pool-gap">${t("pool_short")} ${-gap}</span>` : `<span class="sp-over">${t("pool_over")} ${gap}</span>`;
      return `<div class="sitepool ${gap != null && gap < 0 ? "pool-short" : ""}" data-pool="${esc(p)}" data-need="${need == null ? "" : need}" data-have="${have == null ? "" : have}" title="${esc(qn)}">
        <span class="sp-name"><span class="pool-tag">${t("pool")}</span> ${esc(p)} <span class="sp-n">${m.length}${lang === "zh" ? "" : " "}${t("n_queues")}</span></span>
        <span class="sp-fig"><span class="sp-need">${t("adv_need")} <b>${need == null ? "–" : need}</b></span> <span class="sp-have">${t("adv_have")} <b>${have == null ? "–" : have}</b></span> ${diff}</span></div>`;
    }).join("")}</div>`;
  }

  function statesPanel(a) {
    const reasonsHtml = Object.entries(a.not_ready_reasons || {}).filter(([, n]) => n > 0)
      .map(([r, n]) => `<span data-reason="${esc(r)}">${esc(reasonName(r))} ${n}</span>`).join("");
    return `<div class="panel"><h3><span>${t("agents")}</span><span>${a.logged_in || 0}</span></h3><div class="states">
      ${["ready", "busy", "wrap_up", "not_ready"].map((s) => `<div class="${s}"><b data-state="${s}">${a[s] || 0}</b>${t(s)}</div>`).join("")}
      </div><div class="reasons">${reasonsHtml}</div></div>`;
  }

  function hallPanel(v) {
    const c = v.counters;
    const boxes = Object.entries(c.by_counter).map(([k, r]) => `<div class="counter ${r.open ? "open" : ""}" title="${esc(k)}">${esc(k)}</div>`).join("");
    return `<div class="panel hall"><h3>${t("counters")}</h3>
      <div class="hallfig"><div><span class="lbl">${t("open")}</span><b class="counters-open">${c.open}/${c.configured || Object.keys(c.by_counter).length}</b></div>
      <div><span class="lbl">${t("tickets")}</span><b class="tickets-waiting">${v.total.waiting || 0}</b></div>
      <div><span class="lbl">${t("vip")}</span><b class="vip">${v.total.vip_waiting || 0}</b></div></div>
      <div class="counters">${boxes}</div></div>`;
  }

  function orderedQueues(v) {
    let qs = Object.entries(v.queues).filter(([k]) => !layout.queues || layout.queues.includes(k));
    if (layout.queues) qs.sort((a, b) => layout.queues.indexOf(a[0]) - layout.queues.indexOf(b[0]));
    if (layout.order === "severity") {
      const idx = new Map(qs.map(([k], i) => [k, i]));
      qs.sort((a, b) => RANK[queueLevel(b[1], v.thresholds[b[0]])] - RANK[queueLevel(a[1], v.thresholds[a[0]])] || idx.get(a[0]) - idx.get(b[0]));
    } else if (layout.order === "name") qs.sort((a, b) => name(a[1].name).localeCompare(name(b[1].name)));
    return qs;
  }

  // The agent grid: all agents when they fit at a readable size, else pages that turn by themselves.
  function agentCells(v, labels) {
    return labels.map((label) => {
      const r = v.agents[label];
      const tis = r.since != null && v.clock ? Math.max(0, (v.clock - r.since) / 1000) : null;
      const what = r.state === "not_ready" && r.reason ? reasonName(r.reason) : t(r.state);
      const full = label + (r.counter ? " · " + r.counter : "");
      return `<div class="agent ${r.state}" data-agent="${esc(label)}" title="${esc(full + " — " + what)}"><div class="n">${esc(full)}</div>
        <div class="t" data-base="${tis || 0}" data-ticks="${tis == null ? 0 : 1}">${mmss(tis)}</div><div class="r">${esc(what)}</div></div>`;
    }).join("");
  }

  function siteView(s, gridOn) {
    const v = sites[s].view;
    const qs = orderedQueues(v);
    const tiles = panelOn("tiles") ? `<div id="tiles" style="--cols:${Math.max(5, Math.min(qs.length, 6))}">${qs.map(([k, q]) => queueTile(s, k, q, v.thresholds[k])).join("")}</div>` : "";
    // With the grid on, the state counts head the grid (the side column is for counters and alerts).
    const states = panelOn("states") ? statesPanel(v.total.agents || {}) : "";
    const side = (panelOn("counters") && v.kind === "hall" && v.counters ? hallPanel(v) : "") + (gridOn ? "" : states) + (panelOn("alerts") ? alertPanel() : "");
    const grid = gridOn ? `<div id="grid" class="panel">${states}<h3><span>${t("grid")} (${Object.keys(v.agents).length})</span><span class="pager" id="gridpager"></span></h3><div class="cells"></div></div>` : "";
    const pools = panelOn("tiles") ? poolBand(s) : "";
    return pools + tiles + grid + `<div id="side" data-site="${esc(s)}">${side}</div>`;
  }

  // Size the grid's cells so every agent fits; below a readable size, page instead ("page 2/3 · +N").
  function layoutGrid(s) {
    const v = sites[s].view, box = document.querySelector("#grid .cells");
    if (!box) return;
    const labels = Object.keys(v.agents);
    const W = box.clientWidth, H = box.clientHeight, n = labels.length, gap = 3;
    // Long labels (names, "hall-tianhe-07") want wider cells than work numbers do.
    const longest = labels.reduce((m, l) => Math.max(m, l.length), 0);
    const aspect = Math.min(3.2, Math.max(1.8, longest * 0.16));
    const minW = Math.max(54, window.innerHeight * 0.026 * aspect), minH = Math.max(30, window.innerHeight * 0.032);
    let best = null;
    for (let cols = 1; cols <= Math.max(1, n); cols++) {
      const rows = Math.ceil(n / cols), w = (W - gap * (cols - 1)) / cols, h = (H - gap * (rows - 1)) / rows;
      if (w < minW) break;
      if (h < minH) continue;
      const size = Math.min(w / aspect, h);
      if (!best || size > best.size) best = { cols, rows, w, h: Math.min(h, w * 0.75, window.innerHeight * 0.09), size };
    }
    let per = n, pages = 1, cols, h;
    if (best) { cols = best.cols; h = best.h; }
    else {
      cols = Math.max(1, Math.floor((W + gap) / (minW + gap)));
      const rows = Math.max(1, Math.floor((H + gap) / (minH + gap)));
      per = cols * rows; pages = Math.ceil(n / per); h = minH;
    }
    if (gridPage >= pages) gridPage = 0;
    const shown = labels.slice(gridPage * per, (gridPage + 1) * per);
    // A few agents get big cells, but not a wall of colour: at most 14 % of the screen's width each.
    box.style.setProperty("--gc", best ? Math.max(cols, Math.floor(W / (window.innerWidth * 0.14))) : cols);
    box.style.setProperty("--gh", Math.floor(h) + "px");
    box.style.fontSize = Math.max(10, Math.min(h * 0.3, window.innerHeight * 0.024)) + "px";
    box.innerHTML = agentCells(v, shown);
    box.classList.toggle("short", h < 48);
    for (const r of box.querySelectorAll(".r")) r.hidden = h < 48;
    const pager = $("#gridpager");
    const rest = n - shown.length;
    pager.textContent = pages > 1 ? `${t("page")} ${gridPage + 1}/${pages} · +${rest}` : "";
    probe.grid = { site: s, total: n, shown: shown.length, page: gridPage + 1, pages, cols, cellH: Math.floor(h) };
  }

  function siteTile(s) {
    const v = sites[s].view, q = v.total;
    const th = mergedThresholds(v.thresholds);
    const lw = level(q.waiting, th.waiting), ll = level(q.longest_wait_s, th.longest_wait_s);
    const hall = v.counters ? ` · ${t("open")} ${v.counters.open}/${v.counters.configured}` : "";
    const n = name(v.name);
    return `<section class="tile sitetile ${worst([lw, ll])}" data-site-tile="${esc(s)}">
      <h2 class="fit" title="${esc(n)}">${esc(n)}</h2>
      <div class="big">
        <div><span class="lbl">${t("waiting")}</span><div class="num waiting ${lw}">${q.waiting || 0}</div></div>
        <div><span class="lbl">${t("longest")}</span><div class="lw longest ${ll}" data-base="${q.longest_wait_s || 0}" data-ticks="${q.waiting ? 1 : 0}">${mmss(q.longest_wait_s)}</div></div>
      </div>
      <div class="vip ${q.vip_waiting ? "" : "none"}">${t("vip")} ${q.vip_waiting || 0}</div>
      ${ewtLine(q.ewt, v.kind === "hall")}
      ${figs(q, th)}
      <div class="agents fit">${t("ready")} ${q.agents.ready} · ${t("busy")} ${q.agents.busy} · ${t("wrap_up")} ${q.agents.wrap_up} · ${t("not_ready")} ${q.agents.not_ready}${hall}</div>
      ${sitePools(v)}
      <table class="qrows"><colgroup><col><col class="n"><col class="n"><col class="n"></colgroup>
        <tr><th>${t("queue")}</th><th>${t("q_wait")}</th><th>${t("q_longest")}</th><th>${t("q_sl15")}</th></tr>
        ${orderedQueues(v).map(([k, x]) => queueRow(k, x, v.thresholds[k] || {})).join("")}</table>
    </section>`;
  }

  // The all-sites view lists each site's queues in a line each: waiting, longest wait, SL 15 min.
  function queueRow(k, x, th) {
    return `<tr data-queue-row="${esc(k)}"><td>${esc(name(x.name))}</td>
      <td class="${level(x.waiting, th.waiting)}">${x.waiting == null ? "–" : x.waiting}</td>
      <td class="${level(x.longest_wait_s, th.longest_wait_s)}">${mmss(x.longest_wait_s)}</td>
      <td class="${level(x.m15.sl_pct, th.sl_pct)}">${pct(x.m15.sl_pct)}</td></tr>`;
  }

  // A site's total is coloured by the loosest of its queues' thresholds.
  function mergedThresholds(ths) {
    const out = {};
    for (const q of Object.values(ths || {})) for (const [f, x] of Object.entries(q)) {
      const o = out[f];
      if (!o) out[f] = Object.assign({}, x);
      else if (x.higher_is_worse) { o.warn = Math.max(o.warn, x.warn); o.alarm = Math.max(o.alarm, x.alarm); }
      else { o.warn = Math.min(o.warn, x.warn); o.alarm = Math.min(o.alarm, x.alarm); }
    }
    return out;
  }

  // ---- alerts ---------------------------------------------------------------------
  const SEV = { critical: 3, major: 2, minor: 1, warning: 1, info: 0 };
  function shownAlerts() {
    return [...alerts.values()].filter(inScope).sort((a, b) =>
      (!!silenceOver(a)) - (!!silenceOver(b)) || (a.acknowledged ? 1 : 0) - (b.acknowledged ? 1 : 0) ||
      (SEV[b.severity] || 0) - (SEV[a.severity] || 0) || (b.at_ms || 0) - (a.at_ms || 0));
  }
  const canAct = () => !!(me && me.can && me.can.includes("ack"));
  const canSilence = () => !!(me && me.can && me.can.includes("silence"));

  function alertCard(a) {
    const msg = a.message ? (lang === "zh" ? a.message["zh-CN"] || a.message.en : a.message.en || a.message["zh-CN"]) : a.rule;
    const sil = silenceOver(a);
    const sev = a.severity || "warning";
    const cls = ["alert", sev, a.acknowledged ? "acked" : "", sil ? "silenced" : "", fresh.has(a.id) && !a.acknowledged && !sil ? "new" : ""].join(" ");
    const site = sites[a.site] ? name(sites[a.site].view.name) : a.site;
    const meta = [current === "*" ? esc(site) : "", `${t("raised")} ${siteTime(a.site, a.raised_ms || a.at_ms, true)}`];
    if (a.acknowledged) meta.push(`<span class="ackmark">✓ ${t("acked")} ${t("by")} ${esc(a.ack_by || "?")} ${a.ack_floor_ms || a.ack_at_ms ? siteTime(a.site, a.ack_floor_ms || a.ack_at_ms) : ""}</span>`);
    if (sil) meta.push(`<span class="silmark">${t("silenced")} ${t("by")} ${esc(sil.by)} ${t("until")} ${siteTime(a.site, sil.until_ms)} — ${esc(sil.reason)}</span>`);
    let acts = "";
    if (canAct()) {
      const b = [];
      if (!a.acknowledged) b.push(`<button type="button" class="ack" data-ack="${esc(a.id)}">${t("ack")}</button>`);
      if (canSilence() && !sil && a.queue) b.push(`<button type="button" class="sil" data-sil="${esc(a.id)}">${t("silence")}</button>`);
      acts = b.length ? `<div class="acts">${b.join("")}</div>` : "";
      if (silFormFor === a.id) acts += silForm(a);
    }
    return `<div class="${cls}" data-id="${esc(a.id)}" data-severity="${esc(sev)}"><div class="msg"><span class="sev">${esc(t(sev))}</span>${esc(msg)}</div>
      <div class="meta">${meta.filter(Boolean).join(" · ")}</div>${acts}</div>`;
  }

  function silForm(a) {
    const opts = [15, 30, 60, 120, 240].map((m) => `<option value="${m}" ${m === 30 ? "selected" : ""}>${m} ${t("min")}</option>`).join("");
    return `<form class="silform" data-for="${esc(a.id)}"><select name="minutes">${opts}</select>
      <input name="reason" required maxlength="200" placeholder="${esc(t("reason"))}">
      <button type="submit">${t("silence_do")}</button><button type="button" data-cancel="1">${t("cancel")}</button></form>`;
  }

  function alertPanel() {
    const l = shownAlerts();
    return `<div class="panel" id="alertpanel"><h3><span>${t("alerts")} (<span id="alertcount">${l.length}</span>)</span><span class="pager" id="alertpager"></span></h3>
      <div id="alertlist">${l.length ? l.map(alertCard).join("") : `<div class="noalerts">${t("noalerts")}</div>`}</div></div>`;
  }

  // More alerts than fit: show a page of whole cards and turn pages; the count is always shown.
  function pageAlerts() {
    const box = $("#alertlist");
    if (!box || phone()) return;
    const cards = [...box.children].filter((c) => c.classList.contains("alert"));
    const H = box.clientHeight;
    if (!cards.length) { $("#alertpager").textContent = ""; return; }
    const pages = [];
    let start = 0, used = 0;
    cards.forEach((c, i) => {
      const h = c.offsetHeight + 8;
      if (used + h > H && i > start) { pages.push([start, i]); start = i; used = 0; }
      used += h;
    });
    pages.push([start, cards.length]);
    const keep = silFormFor || focusId;
    if (keep) { const i = cards.findIndex((c) => c.dataset.id === keep); if (i >= 0) alertPage = pages.findIndex(([a, b]) => i >= a && i < b); }
    if (alertPage >= pages.length) alertPage = 0;
    const [a, b] = pages[alertPage];
    cards.forEach((c, i) => { c.hidden = i < a || i >= b; });
    $("#alertpager").textContent = pages.length > 1 ? `${t("page")} ${alertPage + 1}/${pages.length} · +${cards.length - (b - a)}` : "";
  }

  // A form being typed in must survive the redraws a live floor causes.
  function captureForm() {
    const f = document.querySelector("form.silform");
    if (!f) return null;
    return { id: f.dataset.for, minutes: f.minutes.value, reason: f.reason.value, focus: document.activeElement === f.reason };
  }
  function restoreForm(k) {
    if (!k) return;
    const f = [...document.querySelectorAll("form.silform")].find((x) => x.dataset.for === k.id);
    if (!f) return;
    f.minutes.value = k.minutes; f.reason.value = k.reason;
    if (k.focus) { f.reason.focus(); f.reason.setSelectionRange(k.reason.length, k.reason.length); }
  }

  // ---- the phone: alerts first, then the queues in trouble --------------------------
  function phoneView(names) {
    const scope = current === "*" ? names : [current];
    const trouble = [];
    for (const s of scope) {
      const v = sites[s].view;
      for (const [k, q] of orderedQueues(v)) {
        const lv = queueLevel(q, v.thresholds[k]);
        if (lv) trouble.push([RANK[lv], s, k, q, v]);
      }
    }
    trouble.sort((a, b) => b[0] - a[0]);
    const tiles = trouble.map(([, s, k, q, v]) => queueTile(s, k, { ...q, name: { en: name(v.name) + " · " + q.name.en, zh: name(v.name) + " · " + (q.name.zh || q.name.en) } }, v.thresholds[k])).join("");
    return alertPanel() + scope.map((s) => poolBand(s, current === "*")).join("") + `<div class="panel"><h3>${t("trouble")} (${trouble.length})</h3>${trouble.length ? "" : `<div class="phone-ok">✓ ${t("all_ok")}</div>`}</div><div id="tiles">${tiles}</div>`;
  }

  // Names are never cut: a name too long for its box is set smaller (down to 60 %), then may wrap.
  function fitAll() {
    for (const el of document.querySelectorAll(".fit")) {
      el.style.fontSize = "";
      const base = parseFloat(getComputedStyle(el).fontSize);
      let fs = base;
      while ((el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1) && fs > base * 0.6) {
        fs -= base * 0.05; el.style.fontSize = fs + "px";
      }
    }
    // An agent's label may take two lines of its cell, then gets smaller (never below 9 px).
    for (const el of document.querySelectorAll(".agent .n")) {
      const cell = el.parentElement;
      let fs = parseFloat(getComputedStyle(el).fontSize);
      while ((el.scrollWidth > el.clientWidth + 1 || cell.scrollHeight > cell.clientHeight + 1) && fs > 9) {
        fs -= 0.5; el.style.fontSize = fs + "px";
      }
    }
  }

  function drawSparks() {
    for (const cv of document.querySelectorAll("canvas.spark")) {
      const st = sites[cv.dataset.site], h = st ? st.history : [], q = cv.dataset.queue;
      const w = (cv.width = cv.clientWidth * devicePixelRatio), ht = (cv.height = cv.clientHeight * devicePixelRatio);
      const g = cv.getContext("2d");
      if (h.length < 2) continue;
      const t1 = h[h.length - 1][0], t0 = t1 - SPAN_MS;
      const xs = (tm) => ((tm - t0) / SPAN_MS) * w;
      const maxW = Math.max(5, ...h.map((p) => (p[1][q] ? p[1][q][0] || 0 : 0)));
      // waiting: filled area; service level (15 min): a line on a 0..100 scale
      g.beginPath(); g.moveTo(xs(h[0][0]), ht);
      for (const p of h) g.lineTo(xs(p[0]), ht - ((p[1][q] ? p[1][q][0] || 0 : 0) / maxW) * ht * 0.95);
      g.lineTo(xs(h[h.length - 1][0]), ht); g.closePath();
      g.fillStyle = "rgba(79,179,255,.35)"; g.fill();
      g.beginPath(); let started = false;
      for (const p of h) {
        const v = p[1][q] ? p[1][q][1] : null;
        if (v == null) { started = false; continue; }
        const y = ht - (v / 100) * ht * 0.95;
        if (started) g.lineTo(xs(p[0]), y); else { g.moveTo(xs(p[0]), y); started = true; }
      }
      g.strokeStyle = "#35d07f"; g.lineWidth = 2 * devicePixelRatio; g.stroke();
    }
  }

  // Times in state and longest waits tick locally between updates (1 s steps).
  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll("[data-ticks='1']")) {
      const holder = el.closest("[data-site-tile]");
      const st = sites[holder ? holder.dataset.siteTile : current];
      const at = st ? (now - st.at) / 1000 : 0;
      el.textContent = mmss(+el.dataset.base + Math.max(0, at || 0));
    }
    // Stale: nothing came for STALE_MS; the badge says so in place of "Live" and the figures dim.
    if (!dead) setConn(probe.connected);
  }

  // ---- what-if (supervisors): the next hour of a queue with more or fewer agents --------
  const wi = { open: false, extra: 1, queue: null, busy: false, answer: null, error: null };
  const canWhatif = () => !!(me && (me.can || []).includes("supervisor"));
  function whatifQueues() {
    const out = [];
    for (const s of visibleSites()) {
      if (current !== "*" && s !== current) continue;
      const v = sites[s].view;
      // A hall's counters serve all its classes: the first choice is the whole hall ("site/*").
      if (v.kind === "hall") out.push([s + "/*", name(v.name) + " · " + t("wi_hall")]);
      // A pool's queues are answered by the same agents: one choice for the pool, in place of its queues.
      const pooled = new Set();
      for (const [p, , m] of poolsOf(v)) {
        m.forEach((k) => pooled.add(k));
        out.push([s + "/pool=" + p, name(v.name) + " · " + t("pool") + " " + p + (lang === "zh" ? `（${m.length}${t("n_queues")}）` : ` (${m.length} ${t("n_queues")})`)]);
      }
      for (const [k, q] of Object.entries(v.queues)) if (!pooled.has(k)) out.push([s + "/" + k, name(v.name) + " · " + name(q.name)]);
    }
    return out;
  }
  function whatifDraw() {
    let box = document.getElementById("whatif");
    if (!canWhatif()) { if (box) box.remove(); return; }
    if (!box) { box = document.createElement("aside"); box.id = "whatif"; box.className = "whatif"; document.body.appendChild(box); }
    if (!wi.open) { box.innerHTML = `<button type="button" class="whatif-toggle" data-wi="open">${t("wi_title")}</button>`; return; }
    const qs = whatifQueues();
    if (!wi.queue || !qs.some(([k]) => k === wi.queue)) wi.queue = qs.length ? qs[0][0] : null;
    const sel = document.activeElement && document.activeElement.closest && document.activeElement.closest("#whatif select");
    const k = (wi.extra > 0 ? "+" : "") + wi.extra;
    const wsite = wi.queue ? sites[wi.queue.slice(0, wi.queue.indexOf("/"))] : null;
    const hall = !!(wsite && wsite.view.kind === "hall");
    let ans = "";
    if (wi.busy) ans = `<p class="whatif-answer">${t("wi_busy")}</p>`;
    else if (wi.error) ans = `<p class="whatif-answer whatif-error">${esc(wi.error)}</p>`;
    else if (wi.answer) {
      const a = wi.answer, n = a.now, w = a.with, kk = a.counters !== undefined ? a.counters : a.agents;
      const ak = (kk > 0 ? "+" : "") + kk, whole = a.counters !== undefined;
      const colon = lang === "zh" ? "：" : ": ", sep = lang === "zh" ? "，" : ", ";
      const ab = whole ? t("wi_walk") : t("wi_ab");
      const pool = a.pool ? a.pool : null;
      const qname = (q) => (wsite && wsite.view.queues[q] ? name(wsite.view.queues[q].name) : q);
      ans = pool ? `<p class="whatif-pool" data-pool="${esc(pool)}"><b>${t("pool")} ${esc(pool)}</b>${colon}${(a.queues || []).map((q) => esc(qname(q))).join(lang === "zh" ? "、" : ", ")}<br><span class="whatif-pool-note">${t("wi_pool_note")}</span></p>` : "";
      ans += `<p class="whatif-answer">${pool ? t("wi_pool_total") + " · " : ""}${t("wi_with")} ${ak}${whole ? " " + t("counters").toLowerCase() : ""}${colon}${t("wi_sl")} <b class="wi-sl">${pct(n.sl_pct)} → ${pct(w.sl_pct)}</b>${sep}${t("wi_lw")} <b class="wi-lw">${mmss(n.longest_wait_s)} → ${mmss(w.longest_wait_s)}</b>${sep}${ab} <b class="wi-ab">${n.abandoned.toFixed(0)} → ${w.abandoned.toFixed(0)}</b></p>`;
      if ((whole || pool) && wsite) {
        // Per class (per queue of a pool): what the counters (agents) would change for each.
        const rows = Object.keys(n.queues || {}).map((q) => {
          const qn = qname(q), x = n.queues[q], y = (w.queues || {})[q] || x;
          return `<tr data-class="${esc(q)}" class="${q === a.queue ? "asked" : ""}"><td>${esc(qn)}</td><td>${pct(x.sl_pct)} → ${pct(y.sl_pct)}</td><td>${mmss(x.longest_wait_s)} → ${mmss(y.longest_wait_s)}</td><td>${x.abandoned.toFixed(0)} → ${y.abandoned.toFixed(0)}</td></tr>`;
        }).join("");
        ans += `<table class="whatif-classes"><thead><tr><th>${t(pool ? "wi_queue" : "wi_class")}</th><th>${t("wi_sl")}</th><th>${t("wi_lw")}</th><th>${ab}</th></tr></thead><tbody>${rows}</tbody></table>`;
      }
      ans += `<p class="whatif-basis">${a.basis === "live" ? t("wi_basis_live") : t("wi_basis_fc")}</p>`;
    }
    if (sel) return; // a list open under the finger: redraw later
    box.innerHTML = `<form class="whatif-form"><h3>${t("wi_title")} <button type="button" data-wi="close" class="whatif-close">${t("wi_close")}</button></h3>
      <label>${t("wi_queue")} <select name="queue">${qs.map(([k, l]) => `<option value="${esc(k)}" ${k === wi.queue ? "selected" : ""}>${esc(l)}</option>`).join("")}</select></label>
      <div class="whatif-k"><span>${t(hall ? "wi_counters" : "wi_agents")}</span><button type="button" data-wi="minus">−</button><b class="whatif-extra">${k}</b><button type="button" data-wi="plus">+</button></div>
      <button type="submit" class="whatif-run">${t("wi_run")}</button>${ans}</form>`;
  }
  async function whatifRun() {
    if (!wi.queue) return;
    const i = wi.queue.indexOf("/"), site = wi.queue.slice(0, i), queue = wi.queue.slice(i + 1);
    wi.busy = true; wi.error = null; whatifDraw();
    try {
      const url = queue === "*" ? `/api/whatif/hall?site=${encodeURIComponent(site)}&counters=${wi.extra}`
        : queue.startsWith("pool=") ? `/api/whatif?site=${encodeURIComponent(site)}&pool=${encodeURIComponent(queue.slice(5))}&agents=${wi.extra}`
        : `/api/whatif?site=${encodeURIComponent(site)}&queue=${encodeURIComponent(queue)}&agents=${wi.extra}`;
      const res = await fetch(url, { headers: { Authorization: "Bearer " + TOKEN } });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) throw Object.assign(new Error(res.status + ""), { status: res.status, detail: body.detail });
      wi.answer = body;
    } catch (err) {
      wi.answer = null;
      // A floor whose feed has no agent states: said in the reader's language, not the API's English.
      wi.error = err.status === 409 && String(err.detail || "").startsWith("agents on duty unknown") ? t("wi_agents_unknown")
        : t("err") + " " + (err.status || "") + (err.detail ? ": " + err.detail : "");
    }
    wi.busy = false; whatifDraw();
  }
  document.body.addEventListener("click", (e) => {
    const b = e.target.closest("#whatif button[data-wi]");
    if (!b) return;
    const what = b.dataset.wi;
    if (what === "open") wi.open = true; else if (what === "close") wi.open = false;
    else if (what === "plus") wi.extra = Math.min(50, wi.extra + 1); else if (what === "minus") wi.extra = Math.max(-50, wi.extra - 1);
    if (what === "plus" || what === "minus") wi.answer = null;
    whatifDraw();
  });
  // A pool line's what-if button: the what-if opens on that pool.
  document.body.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-wi-pool]");
    if (!b) return;
    if (wi.queue !== b.dataset.wiPool) wi.answer = null;
    wi.open = true; wi.queue = b.dataset.wiPool; wi.error = null;
    whatifDraw();
  });
  document.body.addEventListener("change", (e) => {
    const s = e.target.closest("#whatif select");
    if (s) { wi.queue = s.value; wi.answer = null; whatifDraw(); }
  });
  document.body.addEventListener("submit", (e) => {
    if (!e.target.closest("#whatif form")) return;
    e.preventDefault(); whatifRun();
  });

  // ---- controls ---------------------------------------------------------------
  $("#sites").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-site]");
    if (!b) return;
    current = b.dataset.site;
    localStorage.setItem("fw-site", current);
    gridPage = 0; alertPage = 0;
    dirty = true; render();
  });
  $("#lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("fw-lang", lang);
    dirty = true; render(); setConn(probe.connected);
  });
  $("#sound").addEventListener("click", () => {
    const ctx = audioCtx();
    if (soundOn()) { soundWanted = false; }
    else { soundWanted = true; if (ctx) ctx.resume().then(setSound); }
    localStorage.setItem("fw-sound", soundWanted ? "on" : "off");
    setSound();
  });
  $("#main").addEventListener("click", async (e) => {
    const ackB = e.target.closest("button[data-ack]"), silB = e.target.closest("button[data-sil]"), cancel = e.target.closest("button[data-cancel]");
    if (ackB) {
      ackB.disabled = true;
      try {
        const a = await api("POST", "/api/alerts/" + ackB.dataset.ack.split("/").map(encodeURIComponent).join("/") + "/ack");
        alerts.set(a.id, Object.assign(alerts.get(a.id) || {}, a)); fresh.delete(a.id);
        focusId = a.id; // the card just acted on stays in view until the next page turn
      } catch (err) { ackB.disabled = false; ackB.textContent = t("err") + " " + (err.status || ""); }
      dirty = true; render();
    } else if (silB) { silFormFor = silB.dataset.sil; dirty = true; render(); const f = document.querySelector("form.silform input"); if (f) f.focus(); }
    else if (cancel) { silFormFor = null; dirty = true; render(); }
  });
  $("#main").addEventListener("submit", async (e) => {
    const f = e.target.closest("form.silform");
    if (!f) return;
    e.preventDefault();
    const a = alerts.get(f.dataset.for);
    if (!a || !f.reason.value.trim()) return;
    try {
      await api("POST", "/api/silences", { site: a.site, queue: a.queue, rule: a.rule, minutes: +f.minutes.value, reason: f.reason.value.trim() });
      focusId = silFormFor; silFormFor = null;
    } catch (err) { f.querySelector("button[type=submit]").textContent = t("err") + " " + (err.status || ""); return; }
    dirty = true; render();
  });
  $("#main").addEventListener("pointerdown", (e) => { if (e.target.closest("button, select, input")) holding = true; });
  const release = () => { if (holding) setTimeout(() => { holding = false; render(); }, 0); };
  window.addEventListener("pointerup", release);
  window.addEventListener("pointercancel", release);
  window.addEventListener("resize", () => { dirty = true; render(); });
  // Paged agent grid and alert list turn by themselves (not while someone types a silence's reason).
  setInterval(() => {
    if (silFormFor) return;
    if (focusId) { focusId = null; return; }
    gridPage++; alertPage++;
    dirty = true; render();
  }, ROTATE_MS);

  setInterval(tick, 1000);
  setConn(false);
  dirty = true; render();
  (async () => {
    const ok = await whoami();
    if (ok === false) return;
    await loadLayout();
    connect();
  })();
})();
