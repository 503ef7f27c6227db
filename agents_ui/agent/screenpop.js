// The customer pane beside the work (PROTOCOL.md `screen_pop`): who the customer is, what
// they are worth, what is open, what happened before, and how this contact got here.
// Pure rendering: data in, a DOM tree out, every value as text.

import { h, tierBadge, channelIcon } from "../common/dom.js";
import { clock, duration, humanize, money, parseTime, shortDate } from "../common/format.js";

const LIFECYCLE_KIND = { active: "ok", new: "info", potential: "", "at-risk": "warn", at_risk: "warn", lost: "bad" };

/** One step of an IVR path as words: "2 (orders)", "menu main", ... */
export function ivrStep(step) {
  if (step === null || step === undefined) return "";
  if (typeof step !== "object") return String(step);
  const label = step.label ?? step.node ?? step.menu ?? step.step ?? step.name ?? "";
  const digits = step.digits ?? step.choice ?? step.input;
  if (digits !== undefined && digits !== null && label) return `${digits} (${label})`;
  return String(digits ?? label);
}

/** The IVR path as "2 (orders) › 1"; an empty path as "direct". */
export function ivrPathText(path) {
  if (!Array.isArray(path) || path.length === 0) return "direct (no IVR)";
  return path.map(ivrStep).filter(Boolean).join(" › ");
}

function initials(name) {
  const words = String(name || "?").trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return "?";
  const chars = words.length === 1 ? Array.from(words[0]).slice(0, 2) : [Array.from(words[0])[0], Array.from(words.at(-1))[0]];
  return chars.join("").toUpperCase();
}

function stat(label, value, extra) {
  return h("div", { class: "stat" },
    h("div", { class: "stat-label", text: label }),
    h("div", { class: "stat-value" }, value, extra || null));
}

function section(title, count, ...body) {
  return h("section", { class: "pop-section", "aria-label": title },
    h("h2", {}, title, count === null || count === undefined ? null
      : h("span", { class: "count", text: String(count) })),
    ...body);
}

function rfmText(rfm) {
  if (!rfm || typeof rfm !== "object") return "–";
  const parts = [rfm.r, rfm.f, rfm.m].map((v) => (v === null || v === undefined ? "·" : String(v)));
  return parts.join("-");
}

function ticketRow(ticket, now) {
  const due = parseTime(ticket.sla_due_at);
  const overdue = !Number.isNaN(due) && due < now;
  const kind = String(ticket.kind || "service");
  return h("li", { class: "ticket", data: { ticketId: ticket.id } },
    h("div", { class: "row1" },
      h("span", { class: ["badge", kind === "complaint" ? "bad" : "info"], text: humanize(kind) }),
      h("span", { class: "mono", text: `#${ticket.id}` }),
      h("span", { class: "muted small", text: humanize(ticket.status) })),
    h("div", { class: "subject", text: ticket.subject || "(no subject)" }),
    ticket.sla_due_at ? h("div", { class: ["small", overdue ? "overdue" : "muted"],
      text: `${overdue ? "Overdue since" : "Due"} ${clock(ticket.sla_due_at)}` }) : null);
}

const ORDER_KIND = { delivered: "ok", shipped: "info", paid: "", pending: "warn", cancelled: "bad", refunded: "warn", returned: "warn" };

function orderRow(order) {
  const status = String(order.status || "");
  const items = order.item_count ?? order.items;
  const itemWords = items ? `${items} item${Number(items) === 1 ? "" : "s"}` : "";
  return h("li", { class: "order", title: itemWords },
    h("span", { class: "mono", text: String(order.number ?? order.id ?? "") }),
    h("span", {}, h("span", { class: ["badge", ORDER_KIND[status] ?? ""], text: humanize(status) || "–" })),
    h("span", { class: "muted small items", text: items ? `×${items}` : "", "aria-label": itemWords }),
    h("span", { class: "num r", text: money(order.total) }),
    h("span", { class: "muted small r", text: shortDate(order.placed_at) }));
}

function interactionRow(item) {
  const channel = String(item.channel || "chat");
  return h("li", { class: "event" },
    h("span", { class: "event-icon", "aria-hidden": "true" }, channelIcon(channel)),
    h("div", { class: "event-body" },
      h("div", { class: "row1" },
        h("span", { class: "small", text: shortDate(item.started_at) }),
        h("span", { class: "sr-only", text: channel }),
        h("span", { class: "strong", text: humanize(item.disposition || item.outcome || "") }),
        item.agent ? h("span", { class: "muted small", text: `· ${item.agent}` }) : null),
      item.notes ? h("div", { class: "muted small notes", text: item.notes }) : null));
}

/**
 * The screen-pop of `contact` (an offer's or a resumed contact's fields) as a DOM tree.
 * `now` is injectable for tests.
 */
export function renderScreenPop(screenPop, contact = {}, now = Date.now()) {
  const pop = screenPop || {};
  const customer = pop.customer || {};
  const name = customer.name || contact.customer_name || "Unknown customer";
  const tier = customer.tier || contact.tier || "standard";
  const badges = [tierBadge(tier)];
  if (customer.key_account) badges.push(h("span", { class: "badge key-account", text: "Key account" }));
  if (customer.provisional) badges.push(h("span", { class: "badge warn", text: "New / unverified" }));

  const rfm = customer.rfm || {};
  const lifecycle = String(customer.lifecycle || "");
  const head = h("div", { class: "pop-head" },
    h("div", { class: ["avatar", `tier-${String(tier).toLowerCase()}`], "aria-hidden": "true", text: initials(name) }),
    h("div", { class: "who" },
      h("div", { class: "name", id: "pop-name", text: name }),
      h("div", { class: "badges" }, badges),
      customer.id !== undefined && customer.id !== null
        ? h("div", { class: "muted small", text: `Customer #${customer.id}` }) : null));

  const stats = h("div", { class: "stats" },
    stat("Lifetime value", h("span", { class: "num", text: money(customer.lifetime_value) })),
    stat("RFM", h("span", { class: "num", text: rfmText(rfm) }),
      rfm.segment ? h("span", { class: "muted small", text: ` ${humanize(rfm.segment)}` }) : null),
    stat("Lifecycle", h("span", { class: ["badge", LIFECYCLE_KIND[lifecycle] ?? ""], text: humanize(lifecycle) || "–" })),
    stat("Loyalty", h("span", { text: humanize(customer.loyalty_level) || "–" }),
      customer.loyalty_points !== undefined && customer.loyalty_points !== null
        ? h("span", { class: "muted small num", text: ` ${money(customer.loyalty_points)} pts` }) : null));

  const details = h("dl", { class: "details" },
    h("dt", { text: "Phone" }), h("dd", { class: "mono", text: customer.phone_masked || customer.phone || "–" }),
    h("dt", { text: "Email" }), h("dd", { class: "mono", text: customer.email_masked || customer.email || "–" }));

  const tickets = Array.isArray(pop.tickets) ? pop.tickets : [];
  const orders = Array.isArray(pop.orders) ? pop.orders : [];
  const history = Array.isArray(pop.interactions) ? pop.interactions : [];

  const thisContact = h("dl", { class: "details" },
    h("dt", { text: "Queue" }), h("dd", { text: contact.queue || "–" }),
    h("dt", { text: "IVR path" }), h("dd", { class: "ivr", text: ivrPathText(contact.ivr_path) }),
    h("dt", { text: "Waited" }), h("dd", { class: "num", text: duration(contact.waited_s) }));

  return h("div", { class: "screen-pop", "aria-labelledby": "pop-name" },
    head,
    stats,
    details,
    section("This contact", null, thisContact),
    section("Open tickets", tickets.length,
      tickets.length ? h("ul", { class: "tickets" }, tickets.map((t) => ticketRow(t, now)))
        : h("p", { class: "empty-line", text: "No open tickets" })),
    section("Last orders", orders.length,
      orders.length ? h("ul", { class: "orders" }, orders.map(orderRow))
        : h("p", { class: "empty-line", text: "No orders" })),
    section("History", history.length,
      history.length ? h("ul", { class: "timeline" }, history.map(interactionRow))
        : h("p", { class: "empty-line", text: "First contact" })));
}

/** Words for the routing decision ("why did this come to me?"), one line per fact. */
export function decisionLines(reason, contact = {}) {
  const lines = [];
  if (contact.queue) lines.push(["Queue", String(contact.queue)]);
  if (contact.tier) lines.push(["Tier", humanize(contact.tier)]);
  if (!reason || typeof reason !== "object") {
    if (typeof reason === "string" && reason) lines.push(["Reason", reason]);
    return lines;
  }
  if (reason.strategy) lines.push(["Strategy", humanize(reason.strategy)]);
  if (reason.candidates !== undefined) lines.push(["Candidates", `${reason.candidates} eligible agent(s)`]);
  if (reason.relaxation_step) lines.push(["Relaxed", `step ${reason.relaxation_step}`]);
  if (reason.preferred_phase) lines.push(["Preferred", "you are a preferred agent"]);
  if (Array.isArray(reason.key)) lines.push(["Sort key", reason.key.map((v) => (typeof v === "number" ? Math.round(v * 10) / 10 : v)).join(" / ")]);
  if (reason.text || reason.summary) lines.push(["Why", String(reason.text || reason.summary)]);
  return lines;
}
