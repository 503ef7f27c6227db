// The agent console: presence, offers, my contacts, the work area and the screen-pop.
// It talks to the server only through `transport.request(type, fields)` (the reconnecting
// websocket client in production, a fake in tests) and learns everything else from the pushes
// handed to `handlePush`. State lives here; the views render from it.

import { h, fill, setText, toast, tierBadge, channelIcon } from "../common/dom.js";
import { duration, humanize, parseTime } from "../common/format.js";
import { renderScreenPop, decisionLines } from "./screenpop.js";
import { WorkView, stateBadge } from "./workarea.js";
import { Alerter } from "./alert.js";

export const NOT_READY_REASONS = [
  ["break", "Break"], ["lunch", "Lunch"], ["meeting", "Meeting"], ["training", "Training"],
  ["coaching", "Coaching"], ["admin", "Admin work"],
];

const DEFAULT_CAPACITY = { voice: 1, chat: 3, email: 2, callback: 1 };
const TYPING_EVERY_MS = 3000;
const VISITOR_TYPING_TTL_MS = 6000;

/** A contact record of the console from an `offer` push. */
export function contactFromOffer(msg, now = Date.now()) {
  const c = msg.contact || {};
  const pop = msg.screen_pop || null;
  const expires = Number(msg.expires_in_s);
  return normalizeContact({ ...c, screen_pop: pop, reason: msg.reason ?? c.reason ?? msg.decision }, {
    state: "alerting",
    offeredAt: now,
    expiresAt: Number.isFinite(expires) ? now + expires * 1000 : null,
    ringS: Number.isFinite(expires) ? expires : null,
  });
}

const SERVER_STATES = { alerting: "alerting", offered: "alerting", connected: "connected", held: "held", wrap_up: "wrap_up", wrapup: "wrap_up" };

/** A contact record from the auth ack's `contacts` (resume after a reconnect or reload). */
export function contactFromResume(item, now = Date.now()) {
  const c = item.contact ? { ...item.contact, ...item } : item;
  const state = SERVER_STATES[String(c.state || "connected")] || "connected";
  const expires = Number(c.expires_in_s);
  return normalizeContact(c, {
    state,
    offeredAt: now,
    expiresAt: state === "alerting" && Number.isFinite(expires) ? now + expires * 1000 : null,
    ringS: Number.isFinite(expires) ? expires : null,
  });
}

function normalizeContact(c, extra) {
  const pop = c.screen_pop || null;
  const customer = (pop && pop.customer) || {};
  const id = String(c.id ?? c.contact_id);
  const messages = Array.isArray(c.messages) ? c.messages.map((m, i) => ({
    from: m.from || (m.direction === "out" ? "agent" : "customer"),
    text: m.text ?? m.body ?? "",
    subject: m.subject,
    at: m.at,
    serverId: m.id ?? m.message_id,
    localId: `resumed-${i}`,
    status: m.from === "agent" ? "sent" : undefined,
  })) : [];
  return {
    id,
    channel: String(c.channel || "chat"),
    queue: c.queue || "",
    tier: c.tier || customer.tier || "standard",
    priority: c.priority,
    waitedS: Number(c.waited_s ?? 0),
    ivrPath: c.ivr_path || [],
    subject: c.subject || "",
    firstMessage: c.first_message || "",
    customerName: customer.name || c.customer_name || (c.customer && c.customer.name) || "Unknown customer",
    phone: customer.phone_masked || "",
    screenPop: pop,
    reason: c.reason,
    messages,
    unread: 0,
    stateSince: extra.offeredAt,
    offeredAtIso: new Date(extra.offeredAt).toISOString(),
    endedAt: null,
    expired: false,
    visitorTypingUntil: 0,
    ...extra,
  };
}

export class AgentConsole {
  /**
   * @param {HTMLElement} root where the console is drawn
   * @param {{request: (type: string, fields?: object) => Promise<object>}} transport
   * @param {{agent_id?: string, name?: string, extension?: string, onLogout?: () => void}} me
   */
  constructor(root, transport, me = {}) {
    this.root = root;
    this.transport = transport;
    this.me = me;
    this.presence = { state: "offline", reason: "", since: Date.now() };
    this.pending = null;
    this.contacts = new Map();
    this.views = new Map();
    this.selectedId = null;
    this.capacity = { ...DEFAULT_CAPACITY };
    this.typingSentAt = new Map();
    this.typingSupported = true;
    this.localIds = 0;
    this.knownQueues = new Set();
    this.alerter = new Alerter();
    this.build();
    this.tickTimer = setInterval(() => this.tick(), 1000);
    this.keyHandler = (event) => this.onKey(event);
    document.addEventListener("keydown", this.keyHandler);
  }

  destroy() {
    clearInterval(this.tickTimer);
    document.removeEventListener("keydown", this.keyHandler);
    this.alerter.stop();
  }

  // ---------------------------------------------------------------- layout

  build() {
    this.presenceDot = h("span", { class: "dot offline", "aria-hidden": "true" });
    this.presenceLabel = h("span", { class: "presence-label", text: "Offline" });
    this.presenceTimer = h("span", { class: "num presence-timer", title: "Time in this state" });
    this.pendingNote = h("span", { class: "badge warn pending hidden" });
    this.presenceSelect = h("select", { class: "field presence-select", id: "presence-select", "aria-label": "Change presence" },
      h("option", { value: "available", text: "Available" }),
      h("optgroup", { label: "Not ready" },
        NOT_READY_REASONS.map(([value, label]) => h("option", { value: `not_ready:${value}`, text: `Not ready: ${label}` }))));
    this.presenceSelect.addEventListener("change", () => this.choosePresence(this.presenceSelect.value));
    this.logoutBtn = h("button", { class: "btn", type: "button", text: "Log out", on: { click: () => this.logout() } });
    this.capacityEl = h("span", { class: "capacity num", "aria-label": "Contacts in progress" });
    this.connEl = h("span", { class: "conn connecting", role: "status" }, h("span", { class: "dot" }), h("span", { class: "conn-text", text: "Connecting…" }));
    this.soundBtn = h("button", {
      class: "btn ghost sm", type: "button", "aria-pressed": "true", title: "Ring sound on offers",
      text: "Sound on", on: { click: () => this.toggleSound() },
    });

    const header = h("header", { class: "app-header" },
      h("div", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true", text: "CC" }), "Agent"),
      h("span", { class: "sep" }),
      h("div", { class: "me" },
        h("span", { class: "me-name", text: this.me.name || this.me.username || "Agent" }),
        this.me.extension ? h("span", { class: "muted", text: `ext ${this.me.extension}` }) : null),
      h("div", { class: "presence", "aria-live": "polite" }, this.presenceDot, this.presenceLabel, this.presenceTimer, this.pendingNote),
      this.presenceSelect,
      this.logoutBtn,
      h("span", { class: "spacer" }),
      this.capacityEl,
      this.soundBtn,
      this.connEl);

    this.banner = h("div", { class: "banner hidden", role: "alert" });
    this.offersEl = h("div", { class: "offers", "aria-label": "Incoming offers", "aria-live": "assertive" });
    this.listEl = h("ul", { class: "contact-list", "aria-label": "My contacts" });
    this.workEl = h("main", { class: "col-center", id: "work", "aria-label": "Work area" });
    this.popEl = h("aside", { class: "col-right", id: "screen-pop", "aria-label": "Customer" });
    this.queueList = h("datalist", { id: "known-queues" });

    const left = h("aside", { class: "col-left", "aria-label": "Offers and my contacts" },
      this.offersEl,
      h("div", { class: "list-head" }, h("h2", { text: "My contacts" }), h("span", { class: "muted small list-count" })),
      this.listEl,
      h("div", { class: "shortcuts muted small" },
        h("kbd", { text: "A" }), " accept  ", h("kbd", { text: "R" }), " reject  ", h("kbd", { text: "E" }), " end  ",
        h("span", { text: "(Alt+key while typing)" })));

    this.root.replaceChildren(header, this.banner, h("div", { class: "console" }, left, this.workEl, this.popEl), this.queueList);
    this.renderPresence();
    this.renderList();
    this.renderSelection();
  }

  // ---------------------------------------------------------------- connection

  /** The websocket client's status ("online", "reconnecting", ...). */
  setConnection(status, detail = {}) {
    this.connEl.className = `conn ${status}`;
    if (detail.connects) this.connEl.dataset.connects = String(detail.connects);
    const words = { connecting: "Connecting…", online: "Connected", reconnecting: "Reconnecting…", offline: "Offline", unauthorized: "Signed out" };
    setText(this.connEl.querySelector(".conn-text"), words[status] || status);
    if (status === "reconnecting") {
      const seconds = detail.retryAt ? Math.max(0, Math.round((detail.retryAt - Date.now()) / 1000)) : 0;
      fill(this.banner, h("span", { text: `Connection lost. Reconnecting${seconds ? ` in ${seconds} s` : "…"} — your contacts stay with you.` }),
        this.onRetry ? h("button", { class: "btn sm", type: "button", text: "Retry now", on: { click: () => this.onRetry() } }) : null);
      this.banner.classList.remove("hidden");
    } else if (status === "online") {
      this.banner.classList.add("hidden");
    }
    this.root.classList.toggle("disconnected", status !== "online");
  }

  /** After (re-)authentication: the ack `data` (agent_id, state, contacts). */
  resume(data) {
    if (data.agent_id) this.me.agent_id = data.agent_id;
    if (data.capacity) this.capacity = { ...this.capacity, ...data.capacity };
    if (data.state) {
      const state = typeof data.state === "object" ? data.state : { state: data.state, reason: data.reason, since: data.since };
      // Without a `since`, a state we already show keeps its clock (a reconnect is not a change).
      if (!state.since && state.state === this.presence.state && (state.reason || "") === this.presence.reason) {
        state.since = new Date(this.presence.since).toISOString();
      }
      this.applyState({ ...state, pending: false });
    }
    // `pending` is the reason of a not-ready that waits for the last contact to end.
    const pendingReason = typeof data.pending === "string" ? data.pending : data.pending_reason;
    this.pending = pendingReason ? { state: data.pending_state || "not_ready", reason: pendingReason } : null;
    if (Array.isArray(data.contacts)) {
      const seen = new Set();
      for (const item of data.contacts) {
        const fresh = contactFromResume(item);
        seen.add(fresh.id);
        const known = this.contacts.get(fresh.id);
        if (known) {
          if (known.state !== fresh.state && !(known.state === "saving" && fresh.state === "wrap_up")) this.setContactState(known, fresh.state);
          if (fresh.screenPop) known.screenPop = fresh.screenPop;
          if (fresh.expiresAt) known.expiresAt = fresh.expiresAt;
          for (const m of fresh.messages) this.mergeMessage(known, m);
        } else {
          this.addContact(fresh);
        }
      }
      for (const [id, contact] of this.contacts) {
        if (!seen.has(id)) {
          // The server no longer has it with us (offer went back, or it ended while away).
          this.removeContact(id);
          if (contact.state !== "alerting") toast(`${contact.customerName}: no longer with you after the reconnect`);
        }
      }
    }
    this.renderPresence();
    this.renderList();
    this.renderSelection();
  }

  // ---------------------------------------------------------------- pushes

  handlePush(msg) {
    const handler = {
      offer: () => this.onOffer(msg),
      offer_cancelled: () => this.onOfferCancelled(msg),
      contact_completed: () => this.onCompleted(msg),
      contact_connected: () => this.onConnected(msg),
      contact_ended: () => this.onEnded(msg),
      state_changed: () => this.onStateChanged(msg),
      chat_message: () => this.onChatMessage(msg),
      chat_typing: () => this.onChatTyping(msg),
      chat_delivered: () => this.onChatDelivered(msg),
      contact_held: () => this.withContact(msg, (c) => this.setContactState(c, "held")),
      contact_retrieved: () => this.withContact(msg, (c) => this.setContactState(c, "connected")),
    }[msg.type];
    if (handler) handler();
  }

  withContact(msg, fn) {
    const contact = this.contacts.get(String(msg.contact_id));
    if (contact) {
      fn(contact);
      this.renderList();
      this.refreshView(contact);
    }
  }

  onOffer(msg) {
    const contact = contactFromOffer(msg);
    const known = this.contacts.get(contact.id);
    if (known) {
      // The offer again after a reconnect: it brings the screen-pop and the ring time left.
      if (known.state !== "alerting") return;
      for (const key of ["screenPop", "expiresAt", "ringS", "reason", "waitedS", "firstMessage", "subject", "customerName", "phone", "ivrPath", "tier"]) {
        if (contact[key] !== null && contact[key] !== undefined && contact[key] !== "") known[key] = contact[key];
      }
      known.expired = false;
      this.popEl.dataset.popVersion = "";
      this.views.get(known.id)?.el.remove();
      this.views.set(known.id, new WorkView(known, this.actions(), {}));
      this.renderSelection();
      this.updateAlerting();
      return;
    }
    this.addContact(contact);
    if (contact.queue) this.rememberQueue(contact.queue);
    this.alerter.ring(`${humanize(contact.channel)} from ${contact.customerName}`);
    if (!this.selectedId || !this.contacts.has(this.selectedId)) this.select(contact.id);
    this.renderList();
  }

  onOfferCancelled(msg) {
    const contact = this.contacts.get(String(msg.contact_id));
    if (!contact) return;
    const words = { abandoned: "the customer left", timeout: "not answered in time", supervisor: "taken back by a supervisor", transferred: "transferred", route_failed: "could not reach your phone", logged_out: "you logged out", rejected: "rejected" };
    toast(`Offer withdrawn (${contact.customerName}): ${words[msg.reason] || humanize(msg.reason)}`, msg.reason === "timeout" ? "bad" : "");
    this.removeContact(contact.id);
  }

  /** The record is written (after wrap_up_done, or when the wrap-up time ran out). */
  onCompleted(msg) {
    const contact = this.contacts.get(String(msg.contact_id));
    if (!contact) return;
    if (msg.timed_out) toast(`${contact.customerName}: wrap-up time ran out, closed as ${humanize(msg.disposition || "default")}`);
    this.removeContact(contact.id);
  }

  onConnected(msg) {
    this.withContact(msg, (c) => {
      if (c.state === "alerting" || c.state === "accepting" || c.state === "connecting") this.setContactState(c, "connected");
    });
    this.updateAlerting();
  }

  onEnded(msg) {
    this.withContact(msg, (c) => {
      if (c.state === "wrap_up" || c.state === "saving") return;
      c.endedBy = msg.by;
      c.endedAt = Date.now();
      if (msg.wrap_up_s) c.wrapUpS = Number(msg.wrap_up_s);
      this.setContactState(c, "wrap_up");
      if (msg.by === "customer") {
        this.addSystemLine(c, c.channel === "chat" ? "The visitor left the chat." : "The customer ended the contact.");
      }
    });
    const contact = this.contacts.get(String(msg.contact_id));
    if (contact && contact.id === this.selectedId) this.views.get(contact.id)?.focusMain();
  }

  onStateChanged(msg) {
    this.applyState(msg);
    if (msg.pending !== undefined) {
      this.pending = msg.pending ? { state: msg.state, reason: msg.reason || "" } : null;
    }
    this.renderPresence();
  }

  applyState(msg) {
    if (msg.pending) {
      this.pending = { state: msg.state, reason: msg.reason || "" };
      return;
    }
    const since = parseTime(msg.since);
    this.presence = { state: msg.state || "offline", reason: msg.reason || "", since: Number.isNaN(since) ? Date.now() : since };
    if (this.pending && this.pending.state === this.presence.state) this.pending = null;
  }

  onChatMessage(msg) {
    const contact = this.contacts.get(String(msg.contact_id));
    if (!contact) return;
    const message = {
      from: msg.from === "agent" ? "agent" : msg.from === "system" ? "system" : "customer",
      text: String(msg.text ?? ""),
      at: msg.at,
      // Only a store id counts as the server's id; the seq only keys the rendering.
      serverId: msg.message_id ?? msg.id,
      localId: `${msg.contact_id}-${msg.seq ?? Date.now()}`,
      status: msg.from === "agent" ? "delivered" : undefined,
    };
    this.mergeMessage(contact, message);
    if (message.from === "customer") {
      contact.visitorTypingUntil = 0;
      this.views.get(contact.id)?.setTyping(false);
      if (contact.id !== this.selectedId) {
        contact.unread += 1;
        this.alerter.chime();
      }
      this.renderList();
    }
  }

  /** Add a message unless it is one we already show (our own echo, or a resume repeat). */
  mergeMessage(contact, message) {
    const view = this.views.get(contact.id);
    if (message.serverId && contact.messages.some((m) => m.serverId === message.serverId)) return;
    // Our own echo (agent), or the resume history repeating a message we showed before
    // its server id was known (customer messages pushed live carry no id).
    if (message.from === "agent" || message.serverId) {
      const mine = contact.messages.find((m) => m.from === message.from && !m.serverId && m.text === message.text && m.status !== "failed");
      if (mine) {
        mine.serverId = message.serverId;
        if (message.status === "delivered") mine.status = "delivered";
        if (message.at) mine.at = message.at;
        view?.renderMessage(mine);
        return;
      }
    }
    contact.messages.push(message);
    if (contact.channel === "email") view?.renderMail(message);
    else view?.renderMessage(message);
  }

  onChatTyping(msg) {
    const contact = this.contacts.get(String(msg.contact_id));
    if (!contact || msg.from === "agent") return;
    contact.visitorTypingUntil = msg.typing === false ? 0 : Date.now() + VISITOR_TYPING_TTL_MS;
    this.views.get(contact.id)?.setTyping(msg.typing !== false);
  }

  onChatDelivered(msg) {
    const contact = this.contacts.get(String(msg.contact_id));
    if (!contact) return;
    const ids = new Set([].concat(msg.message_id ?? [], msg.message_ids ?? []).map(String));
    for (const m of contact.messages) {
      if (m.from === "agent" && (ids.size === 0 || ids.has(String(m.serverId)))) {
        m.status = msg.read ? "read" : "delivered";
        this.views.get(contact.id)?.renderMessage(m);
      }
    }
  }

  addSystemLine(contact, text) {
    if (contact.channel !== "chat") return;
    const message = { from: "system", text, at: new Date().toISOString(), localId: `sys-${++this.localIds}` };
    contact.messages.push(message);
    this.views.get(contact.id)?.renderMessage(message);
  }

  // ---------------------------------------------------------------- contacts

  addContact(contact) {
    this.contacts.set(contact.id, contact);
    const view = new WorkView(contact, this.actions(), {});
    this.views.set(contact.id, view);
    this.updateAlerting();
  }

  removeContact(id) {
    this.contacts.delete(id);
    const view = this.views.get(id);
    if (view) view.el.remove();
    this.views.delete(id);
    this.typingSentAt.delete(id);
    if (this.selectedId === id) {
      const next = [...this.contacts.values()].find((c) => c.state !== "alerting") || this.contacts.values().next().value;
      this.selectedId = next ? next.id : null;
      this.renderSelection();
    }
    this.updateAlerting();
    this.renderList();
  }

  setContactState(contact, state) {
    if (contact.state === state) return;
    contact.state = state;
    contact.stateSince = Date.now();
    this.refreshView(contact);
    this.updateAlerting();
    this.renderList();
  }

  refreshView(contact) {
    this.views.get(contact.id)?.refresh();
    if (contact.id === this.selectedId) this.renderPop();
  }

  updateAlerting() {
    const ringing = [...this.contacts.values()].some((c) => c.state === "alerting" && !c.expired);
    if (!ringing) this.alerter.stop();
    this.renderOffers();
  }

  select(id) {
    if (!this.contacts.has(id)) return;
    this.selectedId = id;
    const contact = this.contacts.get(id);
    contact.unread = 0;
    this.renderSelection();
    this.renderList();
    this.views.get(id)?.focusMain();
  }

  /** The contact the shortcuts act on: the selected one, else the oldest fitting one. */
  target(states) {
    const selected = this.contacts.get(this.selectedId);
    if (selected && states.includes(selected.state)) return selected;
    return [...this.contacts.values()].find((c) => states.includes(c.state)) || null;
  }

  rememberQueue(name) {
    if (this.knownQueues.has(name)) return;
    this.knownQueues.add(name);
    this.queueList.append(h("option", { value: name }));
  }

  /** Queue names for the transfer box (from the server, when it lets agents list them). */
  setQueues(names) {
    for (const name of names) this.rememberQueue(String(name));
  }

  // ---------------------------------------------------------------- actions

  actions() {
    return {
      accept: (id) => this.accept(id),
      reject: (id) => this.reject(id),
      end: (id) => this.end(id),
      hold: (id) => this.hold(id, true),
      retrieve: (id) => this.hold(id, false),
      transfer: (id, fields) => this.transfer(id, fields),
      sendChat: (id, text) => this.sendChat(id, text),
      typing: (id) => this.typing(id),
      sendEmail: (id, fields) => this.sendEmail(id, fields),
      wrapUpDone: (id, fields) => this.wrapUpDone(id, fields),
    };
  }

  async call(type, fields, failure) {
    try {
      return await this.transport.request(type, fields);
    } catch (err) {
      toast(`${failure}: ${err.message || err.code}`, "bad");
      return null;
    }
  }

  async accept(id) {
    const contact = this.contacts.get(id);
    if (!contact || contact.state !== "alerting" || contact.expired) return;
    this.setContactState(contact, "accepting");
    this.select(id);
    const data = await this.call("accept", { contact_id: id }, "Could not accept");
    if (!this.contacts.has(id)) return;
    if (!data) {
      this.setContactState(contact, "alerting");
      return;
    }
    const voiceLike = contact.channel === "voice" || contact.channel === "callback";
    if (contact.state === "accepting") {
      this.setContactState(contact, data.state === "connected" || !voiceLike ? "connected" : "connecting");
    }
    this.views.get(id)?.focusMain();
  }

  async reject(id) {
    const contact = this.contacts.get(id);
    if (!contact || contact.state !== "alerting") return;
    const data = await this.call("reject", { contact_id: id, reason: "agent_rejected" }, "Could not reject");
    if (data) this.removeContact(id);
  }

  async end(id) {
    const contact = this.contacts.get(id);
    if (!contact || !(contact.state === "connected" || contact.state === "held")) return;
    const data = await this.call("end", { contact_id: id }, "Could not end");
    if (data && this.contacts.has(id) && contact.state !== "wrap_up") {
      contact.endedBy = "agent";
      contact.endedAt = Date.now();
      this.setContactState(contact, "wrap_up");
      if (id === this.selectedId) this.views.get(id)?.focusMain();
    }
  }

  async hold(id, on) {
    const contact = this.contacts.get(id);
    if (!contact) return;
    const data = await this.call(on ? "hold" : "retrieve", { contact_id: id }, on ? "Could not hold" : "Could not retrieve");
    if (data && this.contacts.has(id)) this.setContactState(contact, on ? "held" : "connected");
  }

  async transfer(id, fields) {
    const contact = this.contacts.get(id);
    if (!contact) return;
    const data = await this.call("transfer", { contact_id: id, ...fields }, "Could not transfer");
    if (data && this.contacts.has(id)) {
      toast(`Transferred to ${fields.to_queue || fields.to_agent}`, "ok");
      if (contact.state !== "wrap_up") {
        contact.endedBy = "transfer";
        contact.endedAt = Date.now();
        this.setContactState(contact, "wrap_up");
      }
    }
  }

  async sendChat(id, text) {
    const contact = this.contacts.get(id);
    if (!contact) return;
    const message = { from: "agent", text, at: new Date().toISOString(), status: "sending", localId: `local-${++this.localIds}` };
    contact.messages.push(message);
    const view = this.views.get(id);
    view?.renderMessage(message);
    this.typingSentAt.delete(id);
    try {
      const data = await this.transport.request("chat_send", { contact_id: id, text });
      if (data.message_id !== undefined && !message.serverId) message.serverId = data.message_id;
      if (message.status === "sending") message.status = data.delivered ? "delivered" : "sent";
      if (data.at) message.at = data.at;
    } catch (err) {
      message.status = "failed";
      toast(`Message not sent: ${err.message || err.code}`, "bad");
    }
    view?.renderMessage(message);
  }

  typing(id) {
    if (!this.typingSupported) return;
    const last = this.typingSentAt.get(id) || 0;
    if (Date.now() - last < TYPING_EVERY_MS) return;
    this.typingSentAt.set(id, Date.now());
    this.transport.request("chat_typing", { contact_id: id, typing: true }).catch((err) => {
      // An older server without typing relay: stop asking.
      if (err.code && !String(err.code).startsWith("client.")) this.typingSupported = false;
    });
  }

  /** An email reply: the server threads it (In-Reply-To / References) into the outbox. */
  async sendEmail(id, fields) {
    return this.call("chat_send", { contact_id: id, text: fields.body }, "Reply not sent");
  }

  async wrapUpDone(id, fields) {
    const contact = this.contacts.get(id);
    if (!contact || contact.state !== "wrap_up") return;
    this.setContactState(contact, "saving");
    try {
      const data = await this.transport.request("wrap_up_done", { contact_id: id, ...fields });
      const ticket = data.ticket_id ?? (data.ticket && data.ticket.id);
      toast(ticket ? `Saved. Ticket #${ticket} ${fields.ticket && fields.ticket.id ? "updated" : "opened"}.` : "Saved.", "ok");
      this.removeContact(id);
    } catch (err) {
      if (err.code === "contact.not_found") {
        toast(`${contact.customerName}: already closed by the server (wrap-up time ran out)`);
        this.removeContact(id);
        return;
      }
      this.setContactState(contact, "wrap_up");
      this.views.get(id)?.showWrapError(err.message || err.code);
    }
  }

  async choosePresence(value) {
    const [state, reason = ""] = value.split(":");
    try {
      const data = await this.transport.request("set_state", { state, reason });
      if (data.pending) {
        this.pending = { state, reason };
        toast(`Not ready (${humanize(reason)}) after your last contact ends`);
      } else {
        this.pending = null;
        if (data.state || data.since) this.applyState({ state: data.state || state, reason: data.reason ?? reason, since: data.since });
        else this.applyState({ state, reason });
      }
    } catch (err) {
      toast(`Presence not changed: ${err.message || err.code}`, "bad");
    }
    this.renderPresence();
  }

  async logout() {
    const open = [...this.contacts.values()].filter((c) => c.state !== "alerting");
    if (open.length) {
      toast("Finish your open contacts before logging out", "bad");
      return;
    }
    try {
      await this.transport.request("set_state", { state: "offline", reason: "logout" });
    } catch {
      // The session ends either way; the server treats the closed socket as gone.
    }
    if (this.me.onLogout) this.me.onLogout();
  }

  toggleSound() {
    const on = !this.alerter.soundOn;
    this.alerter.soundOn = on;
    this.soundBtn.setAttribute("aria-pressed", on ? "true" : "false");
    setText(this.soundBtn, on ? "Sound on" : "Sound off");
  }

  // ---------------------------------------------------------------- keyboard

  onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    const typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable);
    if (typing && !event.altKey) return;
    const key = (event.code || "").replace(/^Key/, "") || event.key.toUpperCase();
    if (key === "A") {
      const c = this.target(["alerting"]);
      if (c) { event.preventDefault(); this.accept(c.id); }
    } else if (key === "R") {
      const c = this.target(["alerting"]);
      if (c) { event.preventDefault(); this.reject(c.id); }
    } else if (key === "E") {
      const c = this.target(["connected", "held"]);
      if (c) { event.preventDefault(); this.end(c.id); }
    }
  }

  // ---------------------------------------------------------------- rendering

  renderPresence() {
    const { state, reason } = this.presence;
    this.presenceDot.className = `dot ${state}`;
    setText(this.presenceLabel, state === "not_ready" ? `Not ready${reason ? ` (${humanize(reason)})` : ""}` : humanize(state));
    this.presenceTimer.dataset.since = String(this.presence.since);
    if (this.pending) {
      setText(this.pendingNote, `${humanize(this.pending.state)}${this.pending.reason ? ` (${humanize(this.pending.reason)})` : ""} pending — after current contacts`);
      this.pendingNote.classList.remove("hidden");
    } else {
      this.pendingNote.classList.add("hidden");
    }
    const value = state === "not_ready" ? `not_ready:${reason}` : "available";
    const pendingValue = this.pending ? `${this.pending.state}:${this.pending.reason}` : null;
    const want = pendingValue || value;
    if ([...this.presenceSelect.options].some((o) => o.value === want)) this.presenceSelect.value = want;
    else if (state === "not_ready") {
      this.presenceSelect.append(h("option", { value, text: `Not ready: ${humanize(reason)}` }));
      this.presenceSelect.value = value;
    }
    this.tick();
  }

  renderOffers() {
    const offers = [...this.contacts.values()].filter((c) => c.state === "alerting" || c.state === "accepting");
    const cards = offers.map((c, index) => {
      const text = c.channel === "email" ? c.subject || c.firstMessage : c.firstMessage || c.subject;
      const lines = decisionLines(c.reason, c);
      const why = h("span", { class: "tip" },
        h("button", { class: "btn ghost sm why", type: "button", "aria-label": "Why was this routed to me?", "aria-describedby": `why-${c.id}`, text: "Why me?" }),
        h("dl", { class: "tip-body", role: "tooltip", id: `why-${c.id}` },
          lines.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })])));
      const countdown = h("span", { class: "num countdown", data: c.expiresAt ? { until: c.expiresAt } : {} });
      const bar = h("div", { class: "ring-bar", "aria-hidden": "true" }, h("div", { class: "ring-fill", data: c.expiresAt ? { until: c.expiresAt, total: (c.ringS || 1) * 1000 } : {} }));
      return h("article", {
        class: ["offer-card", c.expired ? "expired" : "", c.id === this.selectedId ? "selected" : ""],
        "aria-label": `Incoming ${c.channel} from ${c.customerName}`, data: { contactId: c.id },
        on: { click: (event) => { if (!event.target.closest("button")) this.select(c.id); } },
      },
        h("div", { class: "offer-top" },
          h("span", { class: "offer-kind" }, channelIcon(c.channel), h("span", { text: `Incoming ${c.channel}` })),
          h("span", { class: "rings" }, h("span", { class: "muted", text: c.expired ? "expired" : "rings " }), countdown)),
        h("div", { class: "offer-who" }, h("span", { class: "offer-name", text: c.customerName }), tierBadge(c.tier)),
        h("div", { class: "offer-meta muted small" },
          h("span", { text: c.queue ? `Queue ${c.queue}` : "" }),
          h("span", { class: "num", text: `waited ${duration(c.waitedS)}` }),
          why),
        // Later offers stay compact so the first one keeps the agent's attention.
        text && index === 0 ? h("p", { class: "offer-text", text }) : null,
        bar,
        h("div", { class: "offer-actions" },
          h("button", { class: "btn ok", type: "button", "aria-label": "Accept", "aria-keyshortcuts": "A", disabled: c.state !== "alerting" || c.expired, on: { click: () => this.accept(c.id) } }, "Accept", h("kbd", { text: "A" })),
          h("button", { class: "btn danger", type: "button", "aria-label": "Reject", "aria-keyshortcuts": "R", disabled: c.state !== "alerting", on: { click: () => this.reject(c.id) } }, "Reject", h("kbd", { text: "R" }))));
    });
    fill(this.offersEl, cards);
    this.offersEl.classList.toggle("hidden", cards.length === 0);
    this.tick();
  }

  renderList() {
    const open = [...this.contacts.values()].filter((c) => c.state !== "alerting" && c.state !== "accepting");
    setText(this.root.querySelector(".list-count"), open.length ? String(open.length) : "");
    const items = open.map((c) => {
      const lastCustomer = [...c.messages].reverse().find((m) => m.from === "customer");
      const line = c.channel === "chat" && lastCustomer ? lastCustomer.text : c.subject || c.queue;
      return h("li", {},
        h("button", {
          class: ["contact-item", c.id === this.selectedId ? "selected" : "", c.unread ? "unread" : ""], type: "button",
          "aria-current": c.id === this.selectedId ? "true" : null, data: { contactId: c.id },
          "aria-label": `${c.channel} with ${c.customerName}, ${c.state}${c.unread ? `, ${c.unread} new` : ""}`,
          on: { click: () => this.select(c.id) },
        },
          h("div", { class: "ci-top" }, channelIcon(c.channel), h("span", { class: "ci-name", text: c.customerName }),
            c.unread ? h("span", { class: "unread-count", text: String(c.unread) }) : null),
          h("div", { class: "ci-mid" }, tierBadge(c.tier), stateBadge(c.state), h("span", { class: "num muted ci-timer", data: { since: c.stateSince } })),
          line ? h("div", { class: "ci-line muted small", text: line }) : null));
    });
    fill(this.listEl, items.length ? items : h("li", { class: "empty", text: "No open contacts. New ones appear here when you are available." }));
    this.renderCapacity();
    this.tick();
  }

  renderCapacity() {
    const count = { voice: 0, chat: 0, email: 0 };
    for (const c of this.contacts.values()) {
      const channel = c.channel === "callback" ? "voice" : c.channel;
      if (channel in count) count[channel] += 1;
    }
    setText(this.capacityEl, `${count.chat}/${this.capacity.chat} chat · ${count.email}/${this.capacity.email} email · ${count.voice}/${this.capacity.voice} voice`);
  }

  renderSelection() {
    const contact = this.contacts.get(this.selectedId);
    for (const [id, view] of this.views) {
      if (id === this.selectedId) {
        if (view.el.parentNode !== this.workEl) fill(this.workEl, view.el);
      }
    }
    if (!contact) {
      fill(this.workEl, h("div", { class: "idle" },
        h("div", { class: "idle-title", text: "No contact selected" }),
        h("p", { class: "muted", text: this.presence.state === "available"
          ? "You are available. New contacts ring on the left."
          : "Set yourself Available to receive contacts." })));
    }
    this.renderPop();
  }

  renderPop() {
    const contact = this.contacts.get(this.selectedId);
    if (!contact) {
      fill(this.popEl, h("div", { class: "empty", text: "The customer's profile shows here with each contact." }));
      return;
    }
    if (this.popEl.dataset.contactId === contact.id && this.popEl.dataset.popVersion === String(contact.screenPop ? 1 : 0)) return;
    this.popEl.dataset.contactId = contact.id;
    this.popEl.dataset.popVersion = String(contact.screenPop ? 1 : 0);
    fill(this.popEl, renderScreenPop(contact.screenPop, {
      queue: contact.queue, ivr_path: contact.ivrPath, waited_s: contact.waitedS, tier: contact.tier, customer_name: contact.customerName,
    }));
  }

  /** Once a second: timers and countdowns (text only, no rebuilds). */
  tick() {
    const now = Date.now();
    for (const el of this.root.querySelectorAll("[data-since]")) {
      const since = Number(el.dataset.since);
      if (Number.isFinite(since) && since > 0) setText(el, duration((now - since) / 1000));
    }
    for (const el of this.root.querySelectorAll(".countdown[data-until]")) {
      setText(el, duration(Math.max(0, (Number(el.dataset.until) - now) / 1000)));
    }
    for (const el of this.root.querySelectorAll(".ring-fill[data-until]")) {
      const left = Math.max(0, Number(el.dataset.until) - now);
      el.style.width = `${Math.min(100, (left / Number(el.dataset.total)) * 100).toFixed(1)}%`;
    }
    let expiredNow = false;
    for (const c of this.contacts.values()) {
      if (c.state === "alerting" && c.expiresAt && now >= c.expiresAt && !c.expired) {
        c.expired = true;
        expiredNow = true;
        this.views.get(c.id)?.refresh();
      }
      if (c.visitorTypingUntil && now > c.visitorTypingUntil) {
        c.visitorTypingUntil = 0;
        this.views.get(c.id)?.setTyping(false);
      }
    }
    if (expiredNow) this.updateAlerting();
  }
}
