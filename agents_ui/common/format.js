// Formatting of durations, money, times and rates for display. Pure functions.

/** Seconds as m:ss, h:mm:ss, or "2h10m" when `compact` and over an hour. */
export function duration(seconds, { compact = false } = {}) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return "–";
  const total = Math.max(0, Math.floor(Number(seconds)));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0 && compact) return `${h}h${String(m).padStart(2, "0")}m`;
  if (h > 0) return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  return `${m}:${String(s).padStart(2, "0")}`;
}

/** Seconds as "12s" below a minute, else m:ss. */
export function shortSeconds(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return "–";
  const s = Math.round(Number(seconds));
  return s < 60 ? `${s}s` : duration(s, { compact: true });
}

const moneyFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

/** A money amount in the shop's currency units, grouped ("48,200"). */
export function money(value) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return "–";
  return moneyFmt.format(Number(value));
}

/** A ratio 0..1 (or a percentage 0..100 when `isPercent`) as "87.2%". */
export function percent(value, { isPercent = false } = {}) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return "–";
  const pct = isPercent ? Number(value) : Number(value) * 100;
  return `${pct.toFixed(1)}%`;
}

/** Milliseconds since the epoch of an ISO 8601 string, or NaN. */
export function parseTime(iso) {
  if (!iso) return Number.NaN;
  return Date.parse(String(iso));
}

/** Local "HH:MM" of an ISO time; "MM-DD HH:MM" when not today. */
export function clock(iso, now = new Date()) {
  const t = parseTime(iso);
  if (Number.isNaN(t)) return "–";
  const d = new Date(t);
  const hm = `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  if (d.toDateString() === now.toDateString()) return hm;
  return `${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")} ${hm}`;
}

/** "MM-DD" of an ISO date. */
export function shortDate(iso) {
  const t = parseTime(iso);
  if (Number.isNaN(t)) return "–";
  const d = new Date(t);
  return `${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** Words for a machine name: "not_ready" -> "Not ready". */
export function humanize(name) {
  const text = String(name ?? "").replace(/[_-]+/g, " ").trim();
  return text ? text[0].toUpperCase() + text.slice(1) : "";
}
