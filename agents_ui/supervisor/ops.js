// What the dashboard asks of the server over HTTP, in one place (docs/console.md lists it).

import { api } from "../common/session.js";

/** Every page of a paginated list endpoint ({items, next_cursor}). */
async function all(session, path) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < 50; page += 1) {
    const sep = path.includes("?") ? "&" : "?";
    const data = await session.api(`${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    items.push(...(data.items || []));
    cursor = data.next_cursor;
    if (!cursor) break;
  }
  return items;
}

function localDay(offsetDays = 0) {
  const d = new Date();
  d.setDate(d.getDate() + offsetDays);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/**
 * What this server offers, from its OpenAPI document: {"GET /api/v1/...": true}. The
 * dashboard only calls what exists (a missing endpoint would be a 404 in the console).
 */
export async function serverCapabilities() {
  const doc = await api("/api/openapi.json");
  const found = new Set();
  for (const [path, methods] of Object.entries((doc && doc.paths) || {})) {
    for (const method of Object.keys(methods)) found.add(`${method.toUpperCase()} ${path}`);
  }
  return found;
}

export class Unsupported extends Error {
  constructor(what) {
    super(`this server has no ${what} yet`);
    this.code = "client.unsupported";
  }
}

/** The supervisor's operations with the session's bearer token. */
export function supervisorOps(session, capabilities = null) {
  const enc = encodeURIComponent;
  const has = (key) => capabilities === null || capabilities.has(key);
  const need = (key, what) => {
    if (!has(key)) throw new Unsupported(what);
  };
  return {
    has,
    agents: () => all(session, "/api/v1/agents"),
    queues: () => all(session, "/api/v1/queues"),
    /** Today's interval report by queue and by agent (GET /api/v1/reports/intervals). */
    intervals: async () => {
      need("GET /api/v1/reports/intervals", "interval report (GET /api/v1/reports/intervals)");
      const period = `from=${localDay()}&to=${localDay(1)}&interval=15`;
      const [byQueue, byAgent] = await Promise.all([
        session.api(`/api/v1/reports/intervals?${period}&group_by=queue`),
        session.api(`/api/v1/reports/intervals?${period}&group_by=agent`).catch(() => null),
      ]);
      return { byQueue, byAgent };
    },
    forceState: (agentId, state, reason) =>
      session.api(`/api/v1/supervisor/agents/${enc(agentId)}/presence`, {
        method: "POST", body: reason ? { state, reason } : { state },
      }),
    waiting: async (queue) => {
      const data = await session.api(`/api/v1/contacts?state=queued&queue=${enc(queue)}&limit=100`);
      const now = Date.now();
      return (data.items || []).map((c) => ({
        ...c,
        waited_s: c.times && c.times.arrived_at ? (now - Date.parse(c.times.arrived_at)) / 1000 : null,
      }));
    },
    moveContact: (contactId, toQueue) =>
      session.api(`/api/v1/supervisor/contacts/${enc(contactId)}/move`, { method: "POST", body: { queue: toQueue } }),
    /** The queue API replaces a queue's whole configuration: read it, change one field, put it. */
    setQueuePriority: async (queue, basePriority) => {
      const current = await session.api(`/api/v1/queues/${enc(queue)}`);
      const { name, ...spec } = current;
      return session.api(`/api/v1/queues/${enc(name || queue)}`, { method: "PUT", body: { ...spec, base_priority: basePriority } });
    },
    headStarts: async () => {
      need("GET /api/v1/routing/head_starts", "tier head-start API (GET/PUT /api/v1/routing/head_starts)");
      const data = await session.api("/api/v1/routing/head_starts");
      return data.head_starts || data;
    },
    setHeadStarts: (values) =>
      session.api("/api/v1/routing/head_starts", { method: "PUT", body: { head_starts: values } }),
    reloadFlows: async () => {
      need("POST /api/v1/ivr/flows/reload", "IVR flow reload API (POST /api/v1/ivr/flows/reload)");
      return session.api("/api/v1/ivr/flows/reload", { method: "POST", body: {} });
    },
  };
}
