// The supervisor dashboard: live queue table, the day's charts, the agent grid and the
// routing controls. Messages update the Floor model; the view redraws at most 4 times a
// second, row by row and cell by cell (text only changes where a value changed: no flicker).

import { h, fill, setText, toast, channelIcon } from "../common/dom.js";
import { duration, humanize, parseTime, percent, shortSeconds } from "../common/format.js";
import { Floor, slRag } from "./model.js";
import { DayCharts, dayFromIntervals, dayFromReport } from "./charts.js";
import { RoutingPanel, MoveDialog } from "./controls.js";

const RENDER_EVERY_MS = 250;

const RAG_WORDS = { green: "on target", amber: "near target", red: "below target", none: "" };

/** A service-level cell: value, colour and words (never colour alone). */
function slCell(value, target) {
  const rag = slRag(value, target);
  const el = h("span", { class: ["rag", rag], title: value === null ? "no answered contacts yet" : `${RAG_WORDS[rag]} (target ${percent(target ?? 0.8)})` },
    h("span", { class: "v", text: value === null ? "–" : percent(value) }));
  if (rag === "amber" || rag === "red") el.append(h("span", { class: "rag-word", text: rag === "red" ? "low" : "near" }));
  return el;
}

export class Dashboard {
  constructor(root, ops, me = {}) {
    this.root = root;
    this.ops = ops;
    this.me = me;
    this.floor = new Floor();
    this.renderTimer = null;
    this.lastRender = 0;
    this.queueRows = new Map();
    this.agentRows = new Map();
    this.build();
    this.tickTimer = setInterval(() => this.tick(), 1000);
  }

  destroy() {
    clearInterval(this.tickTimer);
    clearTimeout(this.renderTimer);
    clearInterval(this.dayTimer);
  }

  // ---------------------------------------------------------------- layout

  build() {
    this.connEl = h("span", { class: "conn connecting", role: "status" }, h("span", { class: "dot" }), h("span", { class: "conn-text", text: "Connecting…" }));
    this.kpi = {
      sl: h("span", { class: "kpi-value num" }),
      slNote: h("span", { class: "kpi-note" }),
      asa: h("span", { class: "kpi-value num" }),
      abandon: h("span", { class: "kpi-value num" }),
      waiting: h("span", { class: "kpi-value num", id: "kpi-waiting" }),
      agents: h("span", { class: "kpi-value num" }),
    };
    this.periodEl = h("span", { class: "muted period" });
    const kpi = (label, value, note) => h("div", { class: "kpi" }, h("span", { class: "kpi-label", text: label }), value, note || null);
    const header = h("header", { class: "app-header" },
      h("div", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true", text: "CC" }), "Supervisor"),
      h("span", { class: "sep" }),
      this.periodEl,
      h("span", { class: "spacer" }),
      h("div", { class: "kpis", "aria-label": "Today, all queues" },
        kpi("SL", this.kpi.sl, this.kpi.slNote),
        kpi("ASA", this.kpi.asa),
        kpi("Abandon", this.kpi.abandon),
        kpi("Waiting", this.kpi.waiting),
        kpi("Agents avail / busy / NR", this.kpi.agents)),
      h("span", { class: "spacer" }),
      h("button", { class: "btn", type: "button", text: "Routing settings", "aria-haspopup": "dialog", on: { click: () => this.routing.open() } }),
      this.me.onLogout ? h("button", { class: "btn", type: "button", text: "Log out", on: { click: () => this.me.onLogout() } }) : null,
      this.connEl);

    this.queueBody = h("tbody", { id: "queue-rows" });
    const th = (text, cls, title) => h("th", { class: cls, scope: "col", title, text });
    const queueTable = h("table", { class: "grid queues", "aria-label": "Queues today" },
      h("thead", {}, h("tr", {},
        th("Queue"), th("Waiting", "r"), th("Longest", "r"),
        th("SL (all)", "r", "Answered within the threshold / (answered + abandoned after the short-abandon threshold)"),
        th("SL (served)", "r", "Answered within the threshold / answered"),
        th("ASA", "r", "Average speed of answer: mean wait of answered contacts"),
        th("Abandon", "r", "Abandoned after the short-abandon threshold / (offered - short abandons)"),
        th("Avail / busy / NR", "r", "Agents in this queue by presence"),
        th("Required", "r", "Agents needed for the target (Erlang C, voice)"),
        th("", "r"))),
      this.queueBody);

    this.agentBody = h("tbody", { id: "agent-rows" });
    const agentTable = h("table", { class: "grid agents", "aria-label": "Agents" },
      h("thead", {}, h("tr", {},
        th("Agent"), th("Presence"), th("In state", "r"), th("Current contacts"),
        th("Handled", "r"), th("AHT", "r"), th("Occupancy", "r"), th("Force state", "r"))),
      this.agentBody);

    this.chartsEl = h("section", { class: "charts", "aria-label": "Today by interval" });
    this.main = h("main", { class: "board" },
      h("section", { class: "panel" },
        h("div", { class: "panel-head" }, h("h2", { text: "Queues" }),
          h("span", { class: "muted small", text: "SL(all) counts abandons, SL(served) only answered; threshold per queue" })),
        h("div", { class: "table-wrap" }, queueTable)),
      this.chartsEl,
      h("section", { class: "panel" },
        h("div", { class: "panel-head" }, h("h2", { text: "Agents" }), h("span", { class: "muted small agent-count" })),
        h("div", { class: "table-wrap" }, agentTable)));
    this.root.replaceChildren(header, this.main);
    this.charts = new DayCharts(this.chartsEl);
    this.charts.update({ times: [] });
    this.routing = new RoutingPanel(this.root, this.ops, () => [...this.floor.queues.values()],
      { canEditQueues: !this.me.role || this.me.role === "admin" });
    this.move = new MoveDialog(this.root, this.ops, () => [...this.floor.queues.values()]);
    this.setPeriod();
  }

  setPeriod(timeZone) {
    const tz = timeZone || this.me.timeZone || Intl.DateTimeFormat().resolvedOptions().timeZone;
    setText(this.periodEl, `Today 00:00–now (${tz})`);
  }

  // ---------------------------------------------------------------- messages

  setConnection(status) {
    this.connEl.className = `conn ${status}`;
    const words = { connecting: "Connecting…", online: "Live", reconnecting: "Reconnecting…", offline: "Offline", unauthorized: "Signed out" };
    setText(this.connEl.querySelector(".conn-text"), words[status] || status);
    this.root.classList.toggle("stale", status !== "online");
  }

  handlePush(msg) {
    if (msg.type === "snapshot") {
      this.floor.applySnapshot(msg);
      if (msg.time_zone) this.setPeriod(msg.time_zone);
    } else if (msg.type === "queue_stats") {
      this.floor.applyQueueStats(msg);
    } else if (msg.type === "agent_state") {
      this.floor.applyAgentState(msg);
    } else {
      return;
    }
    this.scheduleRender();
  }

  scheduleRender() {
    if (this.renderTimer) return;
    const wait = Math.max(0, RENDER_EVERY_MS - (Date.now() - this.lastRender));
    this.renderTimer = setTimeout(() => {
      this.renderTimer = null;
      this.lastRender = Date.now();
      this.render();
    }, wait);
  }

  // ---------------------------------------------------------------- the day's charts

  async loadDay() {
    try {
      const report = await this.ops.intervals();
      if (!report) return;
      if (report.byQueue) {
        if (report.byQueue.time_zone) this.setPeriod(report.byQueue.time_zone);
        const channelOf = (name) => this.floor.queues.get(name)?.channel || this.floor.queueConfig.get(name)?.channel || "";
        this.charts.update(dayFromReport(report, channelOf));
      } else {
        this.charts.update(dayFromIntervals(report));
      }
    } catch (err) {
      this.charts.note.textContent = err.code === "client.unsupported"
        ? `Charts need the interval report: ${err.message}.`
        : `Interval report unavailable: ${err.message || err.code}`;
    }
  }

  /** Names, skills and queue settings from the admin API (the live messages carry ids). */
  async loadDirectory() {
    const [agents, queues] = await Promise.allSettled([this.ops.agents(), this.ops.queues()]);
    if (agents.status === "fulfilled") this.floor.setDirectory(agents.value);
    if (queues.status === "fulfilled") this.floor.setQueueConfig(queues.value);
    this.scheduleRender();
  }

  startDayRefresh(everyMs = 60000) {
    this.loadDay();
    clearInterval(this.dayTimer);
    this.dayTimer = setInterval(() => this.loadDay(), everyMs);
  }

  // ---------------------------------------------------------------- rendering

  render() {
    this.renderKpis();
    this.renderQueues();
    this.renderAgents();
    this.tick();
  }

  renderKpis() {
    const t = this.floor.totals();
    const rag = slRag(t.serviceLevel, t.slTarget);
    setText(this.kpi.sl, t.serviceLevel === null ? "–" : percent(t.serviceLevel));
    this.kpi.sl.className = `kpi-value num rag-text ${rag}`;
    const threshold = t.slThresholdS === null ? "per-queue T" : `within ${shortSeconds(t.slThresholdS)}`;
    setText(this.kpi.slNote, `${threshold} · target ${percent(t.slTarget)}${rag === "red" ? " · below" : rag === "amber" ? " · near" : ""}`);
    setText(this.kpi.asa, shortSeconds(t.asaS));
    setText(this.kpi.abandon, t.abandonRate === null ? "–" : percent(t.abandonRate));
    setText(this.kpi.waiting, String(t.waiting));
    setText(this.kpi.agents, `${t.agents.available} / ${t.agents.busy} / ${t.agents.not_ready}`);
  }

  renderQueues() {
    const queues = [...this.floor.queues.values()].sort((a, b) => a.name.localeCompare(b.name));
    const keep = new Set();
    for (const q of queues) {
      keep.add(q.name);
      let row = this.queueRows.get(q.name);
      if (!row) {
        row = this.queueRow(q);
        this.queueRows.set(q.name, row);
      }
      this.fillQueueRow(row, q);
      this.queueBody.append(row.tr);
    }
    for (const [name, row] of this.queueRows) {
      if (!keep.has(name)) {
        row.tr.remove();
        this.queueRows.delete(name);
      }
    }
    if (!queues.length && !this.queueBody.querySelector(".empty-row")) {
      this.queueBody.append(h("tr", { class: "empty-row" }, h("td", { colspan: "10", class: "empty", text: "Waiting for the first snapshot…" })));
    } else if (queues.length) {
      this.queueBody.querySelector(".empty-row")?.remove();
    }
  }

  queueRow(q) {
    const cells = {};
    const td = (name, cls) => (cells[name] = h("td", { class: cls }));
    const moveBtn = h("button", { class: "btn sm", type: "button", text: "Waiting…", "aria-label": `Waiting contacts of ${q.name}`, on: { click: () => this.move.open(q.name) } });
    const tr = h("tr", { data: { queue: q.name } },
      h("td", {}, h("div", { class: "qname" }, channelIcon(q.channel || "voice"), h("span", { text: q.name }))),
      td("waiting", "r num waiting"), td("longest", "r num"), td("sl", "r"), td("slServed", "r"),
      td("asa", "r num"), td("abandon", "r num"), td("agents", "r num"), td("required", "r num"),
      h("td", { class: "r" }, moveBtn));
    return { tr, cells, key: {} };
  }

  fillQueueRow(row, q) {
    const { cells } = row;
    setText(cells.waiting, String(q.waiting));
    cells.waiting.classList.toggle("hot", q.waiting > 0);
    setText(cells.longest, q.waiting ? duration(q.longestWaitS, { compact: true }) : "–");
    const slKey = `${q.serviceLevel}|${q.serviceLevelServed}|${q.slTarget}`;
    if (row.key.sl !== slKey) {
      row.key.sl = slKey;
      fill(cells.sl, slCell(q.serviceLevel, q.slTarget));
      fill(cells.slServed, slCell(q.serviceLevelServed, q.slTarget));
    }
    setText(cells.asa, shortSeconds(q.asaS));
    setText(cells.abandon, q.abandonRate === null ? "–" : percent(q.abandonRate));
    const c = this.floor.agentCounts(q);
    setText(cells.agents, `${c.available} / ${c.busy} / ${c.notReady}`);
    setText(cells.required, q.required === null || q.required === undefined ? "–" : String(q.required));
  }

  renderAgents() {
    const agents = [...this.floor.agents.values()].sort((a, b) => a.name.localeCompare(b.name));
    const keep = new Set();
    for (const a of agents) {
      keep.add(a.id);
      let row = this.agentRows.get(a.id);
      if (!row) {
        row = this.agentRow(a);
        this.agentRows.set(a.id, row);
      }
      this.fillAgentRow(row, a);
      this.agentBody.append(row.tr);
    }
    for (const [id, row] of this.agentRows) {
      if (!keep.has(id)) {
        row.tr.remove();
        this.agentRows.delete(id);
      }
    }
    const counts = this.floor.presenceCounts();
    setText(this.root.querySelector(".agent-count"),
      `${agents.length} agents · ${counts.available} available · ${counts.busy} busy · ${counts.not_ready} not ready · ${counts.offline} offline`);
  }

  agentName(id) {
    return this.floor.agents.get(id)?.name || id;
  }

  agentRow(a) {
    const cells = {};
    const td = (name, cls) => (cells[name] = h("td", { class: cls }));
    const force = h("select", { class: "field sm", "aria-label": `Force state of ${a.name}` },
      h("option", { value: "", text: "Force…" }),
      h("option", { value: "available", text: "Available" }),
      h("option", { value: "not_ready:supervisor", text: "Not ready" }),
      h("option", { value: "offline", text: "Log out" }));
    force.addEventListener("change", async () => {
      const [state, reason = ""] = force.value.split(":");
      force.disabled = true;
      try {
        await this.ops.forceState(a.id, state, reason);
        toast(`${this.agentName(a.id)}: ${humanize(state)}`, "ok");
      } catch (err) {
        toast(`Could not change ${this.agentName(a.id)}: ${err.message || err.code}`, "bad");
      } finally {
        force.value = "";
        force.disabled = false;
      }
    });
    cells.name = h("td", { class: "aname" });
    cells.force = force;
    const tr = h("tr", { data: { agentId: a.id } },
      cells.name,
      td("presence"), td("since", "r num"), td("contacts", "contacts-cell"),
      td("handled", "r num"), td("aht", "r num"), td("occupancy", "r num"),
      h("td", { class: "r" }, force));
    return { tr, cells, key: {} };
  }

  fillAgentRow(row, a) {
    const { cells } = row;
    // Names come from the directory, which may load after the first snapshot.
    setText(cells.name, a.name);
    cells.name.title = a.extension ? `${a.id} · ext ${a.extension}` : a.id;
    cells.force.setAttribute("aria-label", `Force state of ${a.name}`);
    const busy = a.state === "available" && a.contacts.length > 0;
    const presenceKey = `${a.state}|${a.reason}|${a.pending}|${busy}`;
    if (row.key.presence !== presenceKey) {
      row.key.presence = presenceKey;
      const label = a.state === "not_ready" ? `Not ready${a.reason ? ` (${humanize(a.reason)})` : ""}` : busy ? "Available · on contact" : humanize(a.state);
      fill(cells.presence, h("div", { class: "presence-cell" },
        h("span", { class: ["dot", busy ? "busy" : a.state], "aria-hidden": "true" }), h("span", { class: "state-word", text: label }),
        a.pending ? h("span", { class: "badge warn", text: `${humanize(typeof a.pending === "string" ? a.pending : "not ready")} pending` }) : null));
    }
    const since = parseTime(a.since);
    cells.since.dataset.since = Number.isNaN(since) ? "" : String(since);
    const contactsKey = a.contacts.map((c) => `${c.id}:${c.channel}:${c.state}`).join(",");
    if (row.key.contacts !== contactsKey) {
      row.key.contacts = contactsKey;
      const byChannel = {};
      for (const c of a.contacts) byChannel[c.channel || "contact"] = (byChannel[c.channel || "contact"] || 0) + 1;
      const words = Object.entries(byChannel).map(([ch, n]) => `${n} ${ch}${n === 1 ? "" : ch === "email" ? "s" : "s"}`);
      fill(cells.contacts, words.length ? words.join(", ") : h("span", { class: "muted", text: "–" }));
    }
    setText(cells.handled, a.handled === null || a.handled === undefined ? "–" : String(a.handled));
    setText(cells.aht, a.ahtS === null || a.ahtS === undefined ? "–" : duration(a.ahtS));
    setText(cells.occupancy, a.occupancy === null || a.occupancy === undefined ? "–" : `${Math.round(a.occupancy * 100)}%`);
  }

  tick() {
    const now = Date.now();
    for (const el of this.root.querySelectorAll("[data-since]")) {
      const since = Number(el.dataset.since);
      setText(el, el.dataset.since && Number.isFinite(since) ? duration((now - since) / 1000) : "–");
    }
  }
}
