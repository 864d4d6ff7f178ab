// What the analysts' pages (/reports, /staffing) share: the API call with the page's token,
// and how a figure is shown. Loaded before each page's own script, which defines `token`.

function fmt(v) { return v === null || v === undefined ? "—" : (typeof v === "number" && !Number.isInteger(v) ? v.toFixed(1) : String(v)); }

async function api(path, q) {
  const u = new URL(path, location.origin);
  for (const [k, v] of Object.entries(q || {})) if (v !== null && v !== undefined) u.searchParams.set(k, v);
  const r = await fetch(u, { headers: { Authorization: "Bearer " + token } });
  if (!r.ok) {
    let msg = r.status + "";
    try { msg = (await r.json()).detail || msg; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return r.json();
}
