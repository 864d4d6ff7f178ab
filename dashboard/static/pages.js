// What the analysts' pages (/reports, /staffing) share: the API call with the page's token,
// and how a figure is shown. Loaded before each page's own script, which defines `token`.

function fmt(v) { return v === null || v === undefined ? "—" : (typeof v === "number" && !Number.isInteger(v) ? v.toFixed(1) : String(v)); }

// A reply without a reason of its own (a server error, a proxy's page) still tells the reader what to do.
function failed(status) {
  const zh = document.documentElement.lang === "zh-CN";
  if (status === 401 || status === 403)
    return zh ? `无权访问（${status}）：请检查链接中的令牌，或联系管理员` : `Not allowed (${status}): check the token in the link, or ask an administrator`;
  return zh ? `服务器未能给出数据（${status}）：请稍后重试；如一直如此，请联系管理员`
            : `The server could not answer (${status}): try again shortly; if it keeps failing, tell an administrator`;
}

async function api(path, q) {
  const u = new URL(path, location.origin);
  for (const [k, v] of Object.entries(q || {})) if (v !== null && v !== undefined) u.searchParams.set(k, v);
  const r = await fetch(u, { headers: { Authorization: "Bearer " + token } });
  if (!r.ok) {
    let msg = null;
    try { msg = (await r.json()).detail; } catch (e) { /* not JSON */ }
    if (Array.isArray(msg)) msg = msg.map((d) => d && d.msg).filter(Boolean).join("; ");  // a request the API refused
    throw new Error(typeof msg === "string" && msg ? msg : failed(r.status));
  }
  return r.json();
}
