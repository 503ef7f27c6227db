// The day by interval, drawn with uPlot (vendored, MIT): arrivals vs answered vs abandoned,
// service level against its target, staffed vs required agents (Erlang C).

import uPlot from "../vendor/uPlot.esm.js";
import { h, fill } from "../common/dom.js";
import { agentsRequired } from "./erlang.js";

const COLORS = {
  arrivals: "#2f5bd3",
  answered: "#1d7a46",
  abandoned: "#b42318",
  sl: "#2f5bd3",
  target: "#9a5b00",
  staffed: "#1d7a46",
  required: "#5b2bb5",
};

function hhmm(seconds) {
  const d = new Date(seconds * 1000);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

const axisStyle = {
  stroke: "#6b7486",
  grid: { stroke: "#eef1f5", width: 1 },
  ticks: { stroke: "#dfe3ea", width: 1, size: 4 },
  font: "11px system-ui, sans-serif",
};

function options(title, width, series, yAxis) {
  return {
    title: undefined,
    width,
    height: 168,
    padding: [10, 10, 0, 0],
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false }, points: { size: 6 } },
    scales: { x: { time: true }, y: yAxis.scale || {} },
    axes: [
      { ...axisStyle, values: (u, splits) => splits.map(hhmm), space: 48 },
      { ...axisStyle, size: 42, values: yAxis.values || ((u, splits) => splits.map((v) => String(v))) },
    ],
    series: [{ label: "Time", value: (u, v) => (v === null ? "–" : hhmm(v)) }, ...series],
  };
}

const bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.7, 28] }) : undefined;
const stepped = uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;

/**
 * Three charts in `root`. `update(day)` takes
 * {times: [epoch s], arrivals, answered, abandoned, sl (0..1 or null), slTarget, staffed, required}.
 */
export class DayCharts {
  constructor(root) {
    this.root = root;
    this.plots = [];
    this.boxes = [
      this.box("Contacts per interval", "Arrivals, answered and abandoned per interval, today"),
      this.box("Service level vs target", "Service level (answered within the threshold / answered + abandoned after the short-abandon threshold) per interval, against the target"),
      this.box("Staffed vs required agents", "Agents staffed per interval against the agents Erlang C says the target needs"),
    ];
    this.note = h("p", { class: "muted small charts-note", role: "status" });
    fill(root, h("div", { class: "chart-row" }, this.boxes.map((b) => b.el)), this.note);
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(root);
  }

  box(title, description) {
    const target = h("div", { class: "chart", role: "img", "aria-label": description });
    const el = h("figure", { class: "panel chart-box" },
      h("figcaption", { class: "chart-title" }, h("h2", { text: title })), target);
    return { el, target };
  }

  width(i) {
    return Math.max(240, Math.floor(this.boxes[i].target.clientWidth || 400));
  }

  update(day) {
    const times = day.times || [];
    const sl = (day.sl || []).map((v) => (v === null || v === undefined ? null : Math.round(v * 1000) / 10));
    const target = times.map(() => (day.slTarget === null || day.slTarget === undefined ? null : Math.round(day.slTarget * 1000) / 10));
    const data = [
      [times, day.arrivals || [], day.answered || [], day.abandoned || []],
      [times, sl, target],
      [times, day.staffed || [], day.required || []],
    ];
    this.note.textContent = times.length ? "" : "No contacts yet today.";
    if (this.plots.length) {
      this.plots.forEach((plot, i) => plot.setData(data[i]));
      return;
    }
    const count = { scale: { range: (u, min, max) => [0, Math.max(4, Math.ceil(max * 1.15))] } };
    const specs = [
      options("Contacts", this.width(0), [
        { label: "Arrivals", stroke: COLORS.arrivals, fill: "rgba(47,91,211,0.18)", paths: bars, points: { show: false } },
        { label: "Answered", stroke: COLORS.answered, width: 2 },
        { label: "Abandoned", stroke: COLORS.abandoned, width: 2 },
      ], count),
      options("SL", this.width(1), [
        { label: "SL %", stroke: COLORS.sl, width: 2, fill: "rgba(47,91,211,0.08)", value: (u, v) => (v === null ? "–" : `${v}%`) },
        { label: "Target %", stroke: COLORS.target, width: 1.5, dash: [5, 4], points: { show: false }, value: (u, v) => (v === null ? "–" : `${v}%`) },
      ], { scale: { range: [0, 100] }, values: (u, splits) => splits.map((v) => `${v}%`) }),
      options("Staffing", this.width(2), [
        { label: "Staffed", stroke: COLORS.staffed, width: 2, paths: stepped, fill: "rgba(29,122,70,0.08)" },
        { label: "Required (Erlang C)", stroke: COLORS.required, width: 2, dash: [4, 3], paths: stepped },
      ], count),
    ];
    this.plots = specs.map((spec, i) => new uPlot(spec, data[i], this.boxes[i].target));
  }

  resize() {
    this.plots.forEach((plot, i) => {
      const width = this.width(i);
      if (Math.abs(plot.width - width) > 2) plot.setSize({ width, height: 168 });
    });
  }
}

/**
 * Chart columns from the interval report (``GET /api/v1/reports/intervals``): rows per
 * queue and interval summed per interval; SL(all) from the summed counters; staffed from
 * the agent rows (logged-in seconds / interval length); required agents by Erlang C for
 * the voice queues (`channelOf(queue)`), at the queue's threshold and an 80 % target.
 */
export function dayFromReport({ byQueue, byAgent }, channelOf = () => "voice", slTarget = 0.8) {
  const slots = new Map();
  const slot = (row) => {
    const start = Date.parse(row.interval_start);
    if (!slots.has(start)) {
      slots.set(start, { start, length: (Date.parse(row.interval_end) - start) / 1000 || 900,
        offered: 0, answered: 0, abandoned: 0, within: 0, staffedS: 0, required: null, hasAgents: false });
    }
    return slots.get(start);
  };
  const num = (v) => (Number.isFinite(Number(v)) ? Number(v) : 0);
  for (const row of (byQueue && byQueue.rows) || []) {
    const s = slot(row);
    s.offered += num(row.offered);
    s.answered += num(row.answered);
    s.abandoned += num(row.abandoned);
    s.within += num(row.answered_within);
    const channel = channelOf(row.key);
    if ((channel === "voice" || channel === "callback") && num(row.offered) > 0 && num(row.aht_s) > 0) {
      const need = agentsRequired(num(row.offered) / s.length, num(row.aht_s), slTarget, num(row.sl_target_s) || 20);
      if (need !== null) s.required = (s.required ?? 0) + need;
    }
  }
  for (const row of (byAgent && byAgent.rows) || []) {
    const s = slot(row);
    s.staffedS += num(row.available_s) + num(row.not_ready_s);
    s.hasAgents = true;
  }
  const ordered = [...slots.values()].sort((a, b) => a.start - b.start);
  return {
    times: ordered.map((s) => Math.floor(s.start / 1000)),
    arrivals: ordered.map((s) => s.offered),
    answered: ordered.map((s) => s.answered),
    abandoned: ordered.map((s) => s.abandoned),
    sl: ordered.map((s) => (s.answered + s.abandoned ? s.within / (s.answered + s.abandoned) : null)),
    slTarget,
    staffed: ordered.map((s) => (s.hasAgents ? Math.round((s.staffedS / s.length) * 10) / 10 : null)),
    required: ordered.map((s) => s.required),
  };
}

/** Interval rows (already one per interval) as chart columns; nulls kept as gaps. */
export function dayFromIntervals(report) {
  const rows = Array.isArray(report) ? report : report.intervals || [];
  const pick = (row, ...names) => {
    for (const n of names) if (row[n] !== undefined && row[n] !== null) return Number(row[n]);
    return null;
  };
  const slOf = (row) => {
    const v = pick(row, "service_level", "sl", "sl_all");
    return v === null ? null : v > 1.0001 ? v / 100 : v;
  };
  const target = Array.isArray(report) ? null : report.sl_target ?? report.service_level_target ?? null;
  return {
    times: rows.map((r) => Math.floor(Date.parse(r.start ?? r.interval_start ?? r.at) / 1000)),
    arrivals: rows.map((r) => pick(r, "arrivals", "offered", "arrived")),
    answered: rows.map((r) => pick(r, "answered")),
    abandoned: rows.map((r) => pick(r, "abandoned")),
    sl: rows.map(slOf),
    slTarget: target === null ? 0.8 : Number(target) > 1.0001 ? Number(target) / 100 : Number(target),
    staffed: rows.map((r) => pick(r, "staffed", "agents_staffed")),
    required: rows.map((r) => pick(r, "required", "required_agents", "agents_required")),
  };
}
