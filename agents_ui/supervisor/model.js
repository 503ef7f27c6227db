// The supervisor's picture of the floor, built from /ws/supervisor messages: one snapshot,
// then queue_stats and agent_state deltas. Field names follow PROTOCOL.md / DESIGN.md §6;
// the readers below accept the few spellings a server may reasonably use, in one place.

const first = (obj, ...names) => {
  for (const name of names) {
    if (obj && obj[name] !== undefined && obj[name] !== null) return obj[name];
  }
  return null;
};

/** A ratio 0..1 from a ratio or a percentage. */
export function ratio(value) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return null;
  const n = Number(value);
  return n > 1.0001 ? n / 100 : n;
}

/** One queue row of the live table (DESIGN §6 figures, both SL definitions). */
export function readQueue(q) {
  const agents = q.agents && typeof q.agents === "object" && !Array.isArray(q.agents) ? q.agents : {};
  const sl = q.sl && typeof q.sl === "object" ? q.sl : {};
  return {
    name: String(first(q, "name", "queue") ?? ""),
    channel: String(first(q, "channel") ?? ""),
    waiting: Number(first(q, "waiting", "contacts_waiting", "queued") ?? 0),
    longestWaitS: first(q, "longest_wait_s", "longest_current_wait_s", "oldest_wait_s"),
    serviceLevel: ratio(first(q, "sl_all", "service_level", "service_level_all") ?? first(sl, "all", "offered")),
    serviceLevelServed: ratio(first(q, "sl_served", "service_level_served", "service_level_answered") ?? first(sl, "served", "answered")
      ?? servedOnly(q)),
    slTarget: ratio(first(q, "sl_target", "service_level_target", "sl_target_ratio")),
    slThresholdS: first(q, "sl_threshold_s", "sl_target_s", "service_level_threshold_s") ?? first(sl, "threshold_s"),
    asaS: first(q, "asa_s", "asa"),
    abandonRate: ratio(first(q, "abandon_rate")) ?? abandonRate(q),
    offered: first(q, "offered"),
    answered: first(q, "answered"),
    abandoned: first(q, "abandoned"),
    available: first(agents, "available"),
    busy: first(agents, "busy") ?? first(q, "agents_busy"),
    notReady: first(agents, "not_ready") ?? first(q, "agents_not_ready"),
    staffed: first(agents, "staffed", "logged_in") ?? first(q, "agents_logged_in", "agents_staffed", "staffed"),
    required: first(q, "required_agents", "agents_required", "erlang_c_required"),
    basePriority: first(q, "base_priority"),
  };
}

/** SL served-only (answered within T / answered) from the raw counters. */
function servedOnly(q) {
  const within = first(q, "answered_within_sl", "answered_within");
  const answered = first(q, "answered");
  return within !== null && answered ? within / answered : null;
}

/** Abandon rate (abandoned after the threshold / (offered - short abandons)) from counters. */
function abandonRate(q) {
  const offered = first(q, "offered");
  const abandoned = first(q, "abandoned");
  if (offered === null || abandoned === null) return null;
  const base = offered - (first(q, "short_abandoned") ?? 0);
  return base > 0 ? abandoned / base : null;
}

/** One agent row of the grid. */
export function readAgent(a) {
  const contacts = Array.isArray(a.contacts) ? a.contacts : [];
  const presence = a.presence && typeof a.presence === "object" ? a.presence : {};
  return {
    id: String(first(a, "agent_id", "id") ?? ""),
    name: String(first(a, "name", "username") ?? first(a, "agent_id", "id") ?? ""),
    state: String(first(a, "state") ?? first(presence, "state") ?? (typeof a.presence === "string" ? a.presence : "offline")),
    reason: String(first(a, "reason") ?? first(presence, "reason") ?? ""),
    pending: first(a, "pending_presence", "pending_state", "pending"),
    connected: first(a, "connected"),
    since: first(a, "since", "state_since") ?? first(presence, "since"),
    contacts: contacts.map((c) => (typeof c === "object" ? { ...c, id: String(c.id ?? c.contact_id) } : { id: String(c) })),
    handled: first(a, "handled", "handled_today"),
    ahtS: first(a, "aht_s", "aht"),
    occupancy: ratio(first(a, "occupancy")),
    queues: Array.isArray(a.queues) ? a.queues.map(String) : [],
  };
}

/** Service-level colour against the queue's target: green / amber (within 10 points) / red. */
export function slRag(value, target) {
  if (value === null || value === undefined) return "none";
  const goal = target ?? 0.8;
  if (value >= goal) return "green";
  if (value >= goal - 0.1) return "amber";
  return "red";
}

export class Floor {
  constructor() {
    this.queues = new Map();
    this.agents = new Map();
    this.summary = null;
    this.version = 0;
    // From the admin API (names, skills, queue settings); the live messages carry ids only.
    this.directory = new Map();
    this.queueConfig = new Map();
  }

  /** Agent names and skills: [{agent_id, name, extension, skills}]. */
  setDirectory(agents) {
    for (const a of agents) this.directory.set(String(a.agent_id ?? a.id), a);
    for (const agent of this.agents.values()) this.nameAgent(agent);
    this.version += 1;
  }

  /** Queue settings: [{name, base_priority, sl_target_s, required_skills}]. */
  setQueueConfig(queues) {
    for (const q of queues) this.queueConfig.set(String(q.name), q);
    for (const queue of this.queues.values()) this.configureQueue(queue);
    this.version += 1;
  }

  nameAgent(agent) {
    const known = this.directory.get(agent.id);
    if (known) {
      if (known.name && (!agent.name || agent.name === agent.id)) agent.name = String(known.name);
      agent.skills = known.skills || {};
      agent.extension = known.extension || "";
    }
    return agent;
  }

  configureQueue(queue) {
    const config = this.queueConfig.get(queue.name);
    if (config) {
      if (config.base_priority !== undefined) queue.basePriority = config.base_priority;
      if (queue.slThresholdS === null && config.sl_target_s !== undefined) queue.slThresholdS = config.sl_target_s;
      queue.requiredSkills = config.required_skills || [];
    }
    return queue;
  }

  /** Whether an agent's skills meet a queue's required minimum levels. */
  serves(agent, queue) {
    if (agent.queues && agent.queues.length) return agent.queues.includes(queue.name);
    if (!queue.requiredSkills) return true;
    const skills = agent.skills || {};
    return queue.requiredSkills.every((r) => (skills[r.skill] ?? 0) >= (r.min_level ?? 1));
  }

  applySnapshot(msg) {
    this.queues.clear();
    this.agents.clear();
    for (const q of msg.queues || []) this.putQueue(q);
    for (const a of msg.agents || []) this.putAgent(a);
    this.summary = msg.summary || msg.totals || null;
    this.version += 1;
  }

  /** queue_stats: one queue's fields, or `{queues: [...]}` coalesced. */
  applyQueueStats(msg) {
    const list = Array.isArray(msg.queues) ? msg.queues : [msg.queue && typeof msg.queue === "object" ? msg.queue : msg.stats ? { name: msg.queue, ...msg.stats } : msg];
    for (const q of list) this.putQueue(q, true);
    if (msg.summary || msg.totals) this.summary = msg.summary || msg.totals;
    this.version += 1;
  }

  /** agent_state: one agent's fields, or `{agents: [...]}` coalesced. */
  applyAgentState(msg) {
    const list = Array.isArray(msg.agents) ? msg.agents : [msg.agent && typeof msg.agent === "object" ? msg.agent : msg];
    for (const a of list) this.putAgent(a, true);
    this.version += 1;
  }

  putQueue(raw, merge = false) {
    const name = String(first(raw, "name", "queue") ?? "");
    if (!name) return;
    const before = merge ? this.queues.get(name) : null;
    this.queues.set(name, this.configureQueue(before ? { ...before, ...stripNulls(readQueue(raw), raw) } : readQueue(raw)));
  }

  putAgent(raw, merge = false) {
    const id = String(first(raw, "agent_id", "id") ?? "");
    if (!id) return;
    const before = merge ? this.agents.get(id) : null;
    const fresh = readAgent(raw);
    this.agents.set(id, this.nameAgent(before ? { ...before, ...stripNulls(fresh, raw) } : fresh));
  }

  /** Agents by presence for one queue, counted from the grid when the queue row lacks them. */
  agentCounts(queue) {
    if (queue.available !== null && queue.available !== undefined && queue.busy !== null && queue.busy !== undefined) {
      return { available: queue.available, busy: queue.busy ?? 0, notReady: queue.notReady ?? 0 };
    }
    const counts = { available: 0, busy: 0, notReady: 0 };
    for (const a of this.agents.values()) {
      if (a.state === "offline" || !this.serves(a, queue)) continue;
      if (a.state === "not_ready") counts.notReady += 1;
      else if (a.state === "available" && a.contacts.length) counts.busy += 1;
      else if (a.state === "available") counts.available += 1;
    }
    return counts;
  }

  /** Centre-wide figures for the header: from the server's summary, else weighted here. */
  totals() {
    const queues = [...this.queues.values()];
    const s = this.summary ? readQueue({ name: "all", ...this.summary }) : null;
    const weighted = (pick) => {
      let num = 0;
      let den = 0;
      for (const q of queues) {
        const v = pick(q);
        if (v === null || v === undefined) continue;
        const w = Number(q.offered ?? 1) || 1;
        num += v * w;
        den += w;
      }
      return den ? num / den : null;
    };
    return {
      waiting: queues.reduce((sum, q) => sum + (q.waiting || 0), 0),
      serviceLevel: s?.serviceLevel ?? weighted((q) => q.serviceLevel),
      slTarget: s?.slTarget ?? (queues.find((q) => q.slTarget !== null)?.slTarget ?? 0.8),
      slThresholdS: s?.slThresholdS ?? sharedThreshold(queues),
      asaS: s?.asaS ?? weighted((q) => (q.asaS === null ? null : Number(q.asaS))),
      abandonRate: s?.abandonRate ?? weighted((q) => q.abandonRate),
      agents: this.presenceCounts(),
    };
  }

  presenceCounts() {
    const counts = { available: 0, busy: 0, not_ready: 0, offline: 0 };
    for (const a of this.agents.values()) {
      if (a.state === "available" && a.contacts.length) counts.busy += 1;
      else if (a.state in counts) counts[a.state] += 1;
    }
    return counts;
  }
}

/** The SL threshold all queues share, or null when they differ ("per queue"). */
function sharedThreshold(queues) {
  const values = new Set(queues.map((q) => q.slThresholdS).filter((v) => v !== null && v !== undefined));
  return values.size === 1 ? [...values][0] : null;
}

/** Keep the old value of a field the delta did not carry. */
function stripNulls(read, raw) {
  const out = {};
  for (const [key, value] of Object.entries(read)) {
    if (value !== null && value !== undefined) out[key] = value;
  }
  // Explicit zeros and empty lists in the delta do count.
  if (Array.isArray(raw.contacts)) out.contacts = read.contacts;
  // The live messages carry ids, not names: keep the directory's name.
  if (out.name && out.name === out.id) delete out.name;
  return out;
}
