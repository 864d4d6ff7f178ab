// floorwatch wall: keeps a copy of each site's wall view, patched from the
// websocket, and draws it. No libraries: a TV's browser loads three small files.
"use strict";
(function () {
  const params = new URLSearchParams(location.search);
  // The wall URL carries its token so a TV opens it without anyone typing.
  const TOKEN = params.get("token") || sessionStorage.getItem("fw-token") || "";
  if (params.get("token")) sessionStorage.setItem("fw-token", TOKEN);
  const STALE_MS = +(params.get("stale_ms") || 10000);
  const STEP_MS = 10000, SPAN_MS = 3600000; // sparkline: a point per 10 s of event time, one hour

  const T = {
    zh: {
      all: "全部站点", waiting: "排队", longest: "最长等待", vip: "贵宾排队", sl_today: "今日服务水平",
      sl_15: "15分钟服务水平", abandon: "放弃率", asa: "平均应答", ready: "空闲", busy: "通话",
      wrap_up: "话后", not_ready: "示忙", agents: "坐席状态", grid: "坐席", counters: "窗口",
      open: "开放窗口", tickets: "等待取号", stale: "数据延迟", online: "在线", offline: "重连中",
      noalerts: "无告警", acked: "已确认", lang: "EN", unspecified: "未说明", sites: "站点",
      counter_open: "开放", agents_in: "在岗",
    },
    en: {
      all: "All sites", waiting: "Waiting", longest: "Longest wait", vip: "VIP waiting", sl_today: "SL today",
      sl_15: "SL 15 min", abandon: "Abandon", asa: "ASA", ready: "Ready", busy: "Busy",
      wrap_up: "Wrap-up", not_ready: "Not ready", agents: "Agents", grid: "Agents", counters: "Counters",
      open: "Counters open", tickets: "Tickets waiting", stale: "STALE", online: "Live", offline: "Reconnecting",
      noalerts: "No active alerts", acked: "acknowledged", lang: "中文", unspecified: "unspecified", sites: "Sites",
      counter_open: "open", agents_in: "logged in",
    },
  };
  const wantsZh = (navigator.languages || [navigator.language || ""]).some((l) => /^zh/i.test(l));
  let lang = params.get("lang") || localStorage.getItem("fw-lang") || (wantsZh ? "zh" : "en");
  if (!T[lang]) lang = "en";

  // state: site -> {view, epoch, seq, history, at}
  const sites = {};
  const alerts = new Map(); // id -> alert
  const fresh = new Set(); // alert ids that arrived live (flash)
  let current = params.get("site") || localStorage.getItem("fw-site") || "*";
  let lastMsgAt = Date.now(), ws = null, backoff = 500, dirty = true;
  // For tests and the latency benchmark: arrival time of each change in the page.
  const probe = (window.__fw = { seq: {}, arrivals: [], messages: 0, connected: false });

  const $ = (s) => document.querySelector(s);
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const t = (k) => T[lang][k] || k;
  const name = (n) => (n ? (lang === "zh" ? n.zh || n.en : n.en || n.zh) : "");
  const mmss = (s) => {
    if (s == null || isNaN(s)) return "–";
    s = Math.max(0, Math.floor(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), x = s % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(x).padStart(2, "0");
  };
  const pct = (v) => (v == null ? "–" : v.toFixed(0) + "%");
  // ASA: seconds on a hotline, minutes:seconds once it passes a minute (halls).
  const secs = (v) => (v == null ? "–" : v < 60 ? v.toFixed(0) + "s" : mmss(v));

  // Two-level colouring; the direction comes with each threshold.
  function level(v, th) {
    if (v == null || !th) return "";
    if (th.higher_is_worse) return v >= th.alarm ? "alarm" : v >= th.warn ? "warn" : "ok";
    return v <= th.alarm ? "alarm" : v <= th.warn ? "warn" : "ok";
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

  // ---- websocket ------------------------------------------------------------
  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(proto + "//" + location.host + "/ws?token=" + encodeURIComponent(TOKEN));
    ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
    ws.onopen = () => { probe.connected = true; setConn(true); };
    ws.onclose = () => {
      probe.connected = false; setConn(false);
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
      else { if (!alerts.has(a.id) || a.state === "raised") fresh.add(a.id); alerts.set(a.id, a); }
      renderAlerts();
    } else if (m.t === "ack") {
      const a = alerts.get(m.id);
      if (a) { a.acknowledged = true; a.ack_by = m.by; a.ack_at_ms = m.at_ms; fresh.delete(m.id); renderAlerts(); }
    }
    if (m.t !== "alert" && m.t !== "ack") { dirty = true; requestAnimationFrame(render); }
    if (m.t === "snapshot") renderAlerts();
  }

  function arrived(m, now) {
    if (m.published_ms) {
      probe.arrivals.push([m.site, m.seq, m.published_ms, now]);
      if (probe.arrivals.length > 20000) probe.arrivals.splice(0, 10000);
    }
  }

  function setConn(up) {
    const c = $("#conn");
    c.className = "badge conn " + (up ? "up" : "down");
    c.textContent = up ? t("online") : t("offline");
  }

  // ---- drawing ----------------------------------------------------------------
  function render() {
    if (!dirty) return;
    dirty = false;
    // A drawing bug must never stop the feed: the wall keeps its connection and state.
    try { draw(); } catch (e) { console.error("wall render", e); }
  }

  function draw() {
    renderNav();
    const main = $("#main");
    const names = Object.keys(sites).sort();
    // An unknown site (gone, or a typo in ?site=) falls back to all sites once data is here.
    if (names.length && current !== "*" && !sites[current]) current = names.length === 1 ? names[0] : "*";
    if (!names.length) { main.innerHTML = ""; return; }  // nothing received yet
    if (current === "*") { main.className = "all"; main.innerHTML = names.map(siteTile).join(""); }
    else { main.className = "site"; main.innerHTML = siteView(current); drawSparks(current); }
    tick();
  }

  function renderNav() {
    const names = Object.keys(sites).sort();
    const btn = (k, label) => `<button type="button" data-site="${esc(k)}" class="${current === k ? "on" : ""}">${esc(label)}</button>`;
    $("#sites").innerHTML = btn("*", t("all")) + names.map((s) => btn(s, name(sites[s].view.name))).join("");
    $("#lang").textContent = t("lang");
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    const st = sites[current] || sites[names[0]];
    $("#clock").textContent = st && st.view.clock_local ? st.view.clock_local.slice(11, 19) : "";
    $("#stale").textContent = t("stale");
  }

  function figs(q, th) {
    const sl = th && th.sl_pct, ab = th && th.abandon_pct, asa = th && th.asa_s;
    return `<div class="figs">
      <div class="fig"><span class="lbl">${t("sl_today")}</span><b class="sl-day ${level(q.day.sl_pct, sl)}">${pct(q.day.sl_pct)}</b></div>
      <div class="fig"><span class="lbl">${t("sl_15")}</span><b class="sl-15 ${level(q.m15.sl_pct, sl)}">${pct(q.m15.sl_pct)}</b></div>
      <div class="fig"><span class="lbl">${t("abandon")}</span><b class="abandon ${level(q.day.abandon_pct, ab)}">${pct(q.day.abandon_pct)}</b></div>
      <div class="fig"><span class="lbl">${t("asa")}</span><b class="asa ${level(q.day.asa_s, asa)}">${secs(q.day.asa_s)}</b></div>
    </div>`;
  }

  function worst(levels) { return levels.includes("alarm") ? "alarm" : levels.includes("warn") ? "warn" : ""; }

  function queueTile(site, key, q, th) {
    th = th || {};
    const lw = level(q.waiting, th.waiting), ll = level(q.longest_wait_s, th.longest_wait_s);
    const tileLevel = worst([lw, ll, level(q.m15.sl_pct, th.sl_pct)]);
    const vip = q.vip_waiting ? `<div class="vip">${t("vip")} ${q.vip_waiting} · ${mmss(q.longest_vip_wait_s)}</div>` : "";
    const a = q.agents || {};
    return `<section class="tile ${tileLevel}" data-queue="${esc(key)}">
      <h2>${esc(name(q.name))}</h2>
      <div class="big">
        <div><span class="lbl">${t("waiting")}</span><div class="num waiting ${lw}">${q.waiting == null ? "–" : q.waiting}</div></div>
        <div><span class="lbl">${t("longest")}</span><div class="lw longest ${ll}" data-base="${q.longest_wait_s || 0}" data-ticks="${q.waiting ? 1 : 0}">${mmss(q.longest_wait_s)}</div></div>
      </div>
      ${vip}
      ${figs(q, th)}
      <canvas class="spark" data-site="${esc(site)}" data-queue="${esc(key)}"></canvas>
      <div class="agents">${t("ready")} ${a.ready || 0} · ${t("busy")} ${a.busy || 0} · ${t("wrap_up")} ${a.wrap_up || 0} · ${t("not_ready")} ${a.not_ready || 0}</div>
    </section>`;
  }

  function statesPanel(a) {
    const reasons = Object.entries(a.not_ready_reasons || {}).map(([r, n]) => `${esc(r === "unspecified" ? t("unspecified") : r)} ${n}`).join(" · ");
    return `<div class="panel"><h3>${t("agents")} (${a.logged_in || 0})</h3><div class="states">
      ${["ready", "busy", "wrap_up", "not_ready"].map((s) => `<div class="${s}"><b data-state="${s}">${a[s] || 0}</b>${t(s)}</div>`).join("")}
      </div><div class="reasons">${reasons}</div></div>`;
  }

  function hallPanel(v) {
    const c = v.counters;
    const boxes = Object.entries(c.by_counter).map(([k, r]) => `<div class="counter ${r.open ? "open" : ""}">${esc(k)}</div>`).join("");
    return `<div class="panel hall"><h3>${t("counters")}</h3>
      <div class="hallfig"><div><span class="lbl">${t("open")}</span><b class="counters-open">${c.open}/${c.configured || Object.keys(c.by_counter).length}</b></div>
      <div><span class="lbl">${t("tickets")}</span><b class="tickets-waiting">${v.total.waiting || 0}</b></div>
      <div><span class="lbl">${t("vip")}</span><b class="vip">${v.total.vip_waiting || 0}</b></div></div>
      <div class="counters">${boxes}</div></div>`;
  }

  function agentGrid(v) {
    const cells = Object.entries(v.agents).map(([label, r]) => {
      const tis = r.since != null && v.clock ? Math.max(0, (v.clock - r.since) / 1000) : null;
      // Not ready shows its reason (break, lunch, training...) in place of the state's name.
      const what = r.state === "not_ready" && r.reason ? esc(r.reason) : esc(t(r.state));
      return `<div class="agent ${r.state}" title="${esc(t(r.state))}"><div>${esc(label)}${r.counter ? " · " + esc(r.counter) : ""}</div>
        <div class="t" data-base="${tis || 0}" data-ticks="${tis == null ? 0 : 1}">${mmss(tis)}</div><div>${what}</div></div>`;
    }).join("");
    return `<div class="panel"><h3>${t("grid")}</h3><div class="agentgrid">${cells}</div></div>`;
  }

  function siteView(s) {
    const v = sites[s].view;
    const tiles = Object.entries(v.queues).map(([k, q]) => queueTile(s, k, q, v.thresholds[k])).join("");
    const side = (v.kind === "hall" && v.counters ? hallPanel(v) : "") + statesPanel(v.total.agents || {}) + agentGrid(v);
    return `<div id="tiles">${tiles}</div><div id="side" data-site="${esc(s)}">${side}</div>`;
  }

  function siteTile(s) {
    const v = sites[s].view, q = v.total;
    const th = mergedThresholds(v.thresholds);
    const lw = level(q.waiting, th.waiting), ll = level(q.longest_wait_s, th.longest_wait_s);
    const hall = v.counters ? `<div class="agents">${t("open")} ${v.counters.open}/${v.counters.configured}</div>` : "";
    return `<section class="tile sitetile ${worst([lw, ll])}" data-site-tile="${esc(s)}">
      <h2>${esc(name(v.name))}</h2>
      <div class="big">
        <div><span class="lbl">${t("waiting")}</span><div class="num waiting ${lw}">${q.waiting || 0}</div></div>
        <div><span class="lbl">${t("longest")}</span><div class="lw longest ${ll}" data-base="${q.longest_wait_s || 0}" data-ticks="${q.waiting ? 1 : 0}">${mmss(q.longest_wait_s)}</div></div>
      </div>
      ${q.vip_waiting ? `<div class="vip">${t("vip")} ${q.vip_waiting}</div>` : ""}
      ${figs(q, th)}
      <div class="agents">${t("ready")} ${q.agents.ready} · ${t("busy")} ${q.agents.busy} · ${t("wrap_up")} ${q.agents.wrap_up} · ${t("not_ready")} ${q.agents.not_ready}</div>
      ${hall}
      <table class="qrows">${Object.entries(v.queues).map(([k, x]) => queueRow(k, x, v.thresholds[k] || {})).join("")}</table>
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

  function drawSparks(s) {
    const st = sites[s], h = st.history;
    for (const cv of document.querySelectorAll("canvas.spark")) {
      const q = cv.dataset.queue;
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

  function renderAlerts() {
    const box = $("#alerts");
    const list = [...alerts.values()].sort((a, b) => (b.severity === "critical") - (a.severity === "critical") || (b.at_ms || 0) - (a.at_ms || 0));
    if (!list.length) { box.innerHTML = `<span class="noalerts">${t("noalerts")}</span>`; return; }
    box.innerHTML = list.map((a) => {
      const msg = a.message ? (lang === "zh" ? a.message["zh-CN"] || a.message.en : a.message.en || a.message["zh-CN"]) : a.rule;
      const cls = ["alert", a.severity === "critical" ? "critical" : "warning", a.acknowledged ? "acked" : "", fresh.has(a.id) && !a.acknowledged ? "new" : ""].join(" ");
      const mark = a.acknowledged ? `<span class="ackmark">✓ ${t("acked")} · ${esc(a.ack_by || "")}</span>` : "";
      return `<span class="${cls}" data-id="${esc(a.id)}">${esc(msg)}${mark}</span>`;
    }).join("");
    // More alerts than the screen is wide: let the ticker scroll so none is hidden.
    const over = box.scrollWidth - $("#ticker").clientWidth;
    box.classList.toggle("scroll", over > 0);
    box.style.setProperty("--over", Math.max(0, over + 40) + "px");
    box.style.animationDuration = Math.max(10, over / 40) + "s";
  }

  // Times in state and longest waits tick locally between updates (1 s steps).
  function tick() {
    const now = Date.now();
    const st = sites[current];
    const since = st ? (now - st.at) / 1000 : 0;
    for (const el of document.querySelectorAll("[data-ticks='1']")) {
      const at = current === "*" ? (now - (sites[el.closest("[data-site-tile]").dataset.siteTile] || {}).at) / 1000 : since;
      el.textContent = mmss(+el.dataset.base + Math.max(0, at || 0));
    }
    // Stale: nothing came for STALE_MS (counted from page load before the first message).
    $("#stale").hidden = now - lastMsgAt <= STALE_MS;
  }

  // ---- controls ---------------------------------------------------------------
  $("#sites").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-site]");
    if (!b) return;
    current = b.dataset.site;
    localStorage.setItem("fw-site", current);
    dirty = true; render();
  });
  $("#lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("fw-lang", lang);
    dirty = true; render(); renderAlerts(); setConn(probe.connected);
  });
  window.addEventListener("resize", () => { dirty = true; render(); });

  setInterval(tick, 1000);
  setConn(false);
  dirty = true; render(); renderAlerts();
  connect();
})();
