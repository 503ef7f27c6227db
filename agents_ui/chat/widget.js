// The visitor chat widget: start a chat (name and email optional), see the estimated wait,
// talk with the agent (typing and delivered states), leave. All text via textContent.

import { h, fill, setText } from "../common/dom.js";
import { clock } from "../common/format.js";

const TYPING_EVERY_MS = 3000;
const AGENT_TYPING_TTL_MS = 6000;

/** "about 2 min" for an estimated wait in seconds. */
export function waitWords(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return "";
  const s = Number(seconds);
  if (s < 45) return "in less than a minute";
  return `in about ${Math.max(1, Math.round(s / 60))} min`;
}

export class ChatWidget {
  /**
   * @param {HTMLElement} root
   * @param {{start: (fields: object) => Promise<object>, request: (type: string, fields?: object) => Promise<object>,
   *          leave: () => Promise<void>}} transport
   * @param {{shop?: string}} options
   */
  constructor(root, transport, options = {}) {
    this.root = root;
    this.transport = transport;
    this.options = options;
    this.messages = [];
    this.els = new Map();
    this.localIds = 0;
    this.typingSentAt = 0;
    this.agentTypingUntil = 0;
    this.state = "new";
    this.timer = setInterval(() => this.tick(), 1000);
    this.buildStart();
  }

  header(status) {
    this.statusEl = h("p", { class: "status", role: "status", "aria-live": "polite", text: status });
    return h("header", { class: "chat-head" }, h("h1", { text: this.options.shop ? `Chat with ${this.options.shop}` : "Chat with us" }), this.statusEl);
  }

  buildStart() {
    const name = h("input", { class: "field", id: "chat-name", autocomplete: "name", maxlength: "200" });
    const email = h("input", { class: "field", id: "chat-email", type: "email", autocomplete: "email", maxlength: "320" });
    const text = h("textarea", { class: "field", id: "chat-first", required: true, maxlength: "4000", placeholder: "How can we help?" });
    const error = h("p", { class: "form-error", role: "alert" });
    const button = h("button", { class: "btn primary", type: "submit", text: "Start chat" });
    const form = h("form", { class: "chat-start", "aria-label": "Start a chat" },
      h("div", { class: "row" },
        h("label", { class: "stack", for: "chat-name" }, "Name (optional)", name),
        h("label", { class: "stack", for: "chat-email" }, "Email (optional)", email)),
      h("label", { class: "stack", for: "chat-first" }, "Your message", text),
      error, button);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const first = text.value.trim();
      if (!first) {
        setText(error, "Please write a message.");
        text.focus();
        return;
      }
      button.disabled = true;
      setText(error, "");
      try {
        const fields = { text: first };
        if (name.value.trim()) fields.name = name.value.trim();
        if (email.value.trim()) fields.email = email.value.trim();
        const data = await this.transport.start(fields);
        this.buildChat();
        this.addMessage({ from: "customer", text: first, at: new Date().toISOString(), status: "sent", localId: "first" });
        this.onQueued(data);
      } catch (err) {
        setText(error, err.message || "The chat could not start. Please try again.");
        button.disabled = false;
      }
    });
    fill(this.root, this.header("We usually answer within a few minutes"), form);
  }

  buildChat() {
    this.state = "waiting";
    this.log = h("ol", { class: "chat-log", "aria-label": "Conversation", "aria-live": "polite" });
    this.typingEl = h("div", { class: "chat-typing", "aria-live": "polite" });
    this.input = h("textarea", { class: "field", id: "chat-input", "aria-label": "Your message", placeholder: "Write a message…", maxlength: "4000" });
    this.sendBtn = h("button", { class: "btn primary", type: "button", text: "Send", on: { click: () => this.send() } });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
    this.input.addEventListener("input", () => this.typing());
    this.leaveBtn = h("button", { class: "btn ghost sm", type: "button", text: "End chat", on: { click: () => this.leave() } });
    this.connEl = h("span", { class: "conn-word" });
    fill(this.root, this.header("Connecting you to an agent…"), this.log, this.typingEl,
      h("div", { class: "chat-compose" }, this.input, this.sendBtn),
      h("div", { class: "chat-foot" }, this.connEl, this.leaveBtn));
    this.input.focus();
  }

  /** Resume after a reload: the ack of the visitor socket's auth. */
  resume(data) {
    if (!this.log) this.buildChat();
    if (Array.isArray(data.messages)) {
      for (const m of data.messages) {
        this.mergeMessage({ from: m.from === "agent" ? "agent" : m.from === "system" ? "system" : "customer",
          text: String(m.text ?? m.body ?? ""), at: m.at, serverId: m.id ?? m.message_id, status: "delivered" });
      }
    }
    if (data.state === "connected") this.onJoined(data);
    else if (data.state === "queued" || data.state === "alerting") this.onQueued(data);
    else if (data.state) this.onEnded(data);
  }

  onQueued(data) {
    this.state = "waiting";
    const when = waitWords(data.estimated_wait_s);
    setText(this.statusEl, when ? `An agent will be with you ${when}` : "An agent will be with you shortly");
  }

  onJoined(data) {
    this.state = "connected";
    const name = data.agent_name || data.agent || "An agent";
    setText(this.statusEl, `${name} is here to help`);
    if (!this.joinedOnce) this.addMessage({ from: "system", text: `${name} joined the chat`, at: new Date().toISOString(), localId: `sys-${++this.localIds}` });
    this.joinedOnce = true;
  }

  onEnded() {
    if (this.state === "ended") return;
    this.state = "ended";
    setText(this.statusEl, "This chat has ended. Thank you!");
    this.addMessage({ from: "system", text: "The chat has ended.", at: new Date().toISOString(), localId: `sys-${++this.localIds}` });
    this.input.disabled = true;
    this.sendBtn.disabled = true;
    this.leaveBtn.disabled = true;
  }

  handlePush(msg) {
    if (msg.type === "chat_message") {
      if (msg.from === "customer") return; // our own echo
      this.agentTypingUntil = 0;
      setText(this.typingEl, "");
      this.addMessage({ from: msg.from === "system" ? "system" : "agent", text: String(msg.text ?? ""), at: msg.at, serverId: msg.message_id ?? msg.id });
      if (this.state !== "connected" && msg.from === "agent") this.onJoined(msg);
    } else if (msg.type === "agent_joined" || msg.type === "contact_connected") {
      this.onJoined(msg);
    } else if (msg.type === "queue_position" || msg.type === "queued") {
      this.onQueued(msg);
    } else if (msg.type === "chat_typing" && msg.from !== "customer") {
      this.agentTypingUntil = msg.typing === false ? 0 : Date.now() + AGENT_TYPING_TTL_MS;
      setText(this.typingEl, msg.typing === false ? "" : "The agent is typing…");
    } else if (msg.type === "chat_delivered") {
      for (const m of this.messages) {
        if (m.from === "customer" && m.status === "sent") {
          m.status = msg.read ? "read" : "delivered";
          this.render(m);
        }
      }
    } else if (msg.type === "contact_ended" || msg.type === "chat_ended") {
      this.onEnded(msg);
    }
  }

  /**
   * A message from the server's history (the auth ack): skip it if shown already. The
   * server's copy has an id; ours may not (the first message, agent pushes, a send whose
   * ack was lost), so an unmatched one of ours with the same sender and text takes the id.
   */
  mergeMessage(message) {
    const id = message.serverId;
    if (id !== undefined && id !== null) {
      if (this.messages.some((m) => m.serverId === id)) return;
      const ours = this.messages.find((m) => (m.serverId === undefined || m.serverId === null)
        && m.from === message.from && m.text === message.text && m.status !== "failed");
      if (ours) {
        ours.serverId = id;
        if (message.at) ours.at = message.at;
        this.render(ours);
        return;
      }
    }
    this.addMessage(message);
  }

  addMessage(message) {
    if (message.serverId !== undefined && message.serverId !== null && this.messages.some((m) => m.serverId === message.serverId)) return;
    this.messages.push(message);
    this.render(message);
  }

  render(message) {
    const key = message.localId ?? message.serverId ?? `m-${this.messages.indexOf(message)}`;
    let el = this.els.get(key);
    if (!el) {
      const cls = message.from === "customer" ? "mine" : message.from === "system" ? "system" : "theirs";
      el = h("li", { class: ["msg", cls] },
        h("div", { class: "bubble" }, h("span", { class: "sr-only", text: message.from === "customer" ? "You: " : message.from === "agent" ? "Agent: " : "" }), h("span", { class: "text", text: message.text })),
        message.from === "system" ? null : h("div", { class: "meta" }));
      this.els.set(key, el);
      this.log.append(el);
      this.log.scrollTop = this.log.scrollHeight;
    }
    const meta = el.querySelector(".meta");
    if (meta) {
      const words = { sending: "Sending…", sent: "Sent", delivered: "Delivered", read: "Read", failed: "Not sent" };
      setText(meta, `${clock(message.at)}${message.from === "customer" && message.status ? ` · ${words[message.status] || ""}` : ""}`);
    }
  }

  async send() {
    const text = this.input.value.trim();
    if (!text || this.state === "ended") return;
    this.input.value = "";
    const message = { from: "customer", text, at: new Date().toISOString(), status: "sending", localId: `local-${++this.localIds}` };
    this.addMessage(message);
    this.typingSentAt = 0;
    try {
      const data = await this.transport.request("chat_send", { text });
      if (message.status === "sending") message.status = data.delivered ? "delivered" : "sent";
      if (data.at) message.at = data.at;
      if (data.id !== undefined && data.id !== null && (message.serverId === undefined || message.serverId === null)) message.serverId = data.id;
    } catch {
      message.status = "failed";
    }
    this.render(message);
    this.input.focus();
  }

  typing() {
    if (Date.now() - this.typingSentAt < TYPING_EVERY_MS || this.state === "ended") return;
    this.typingSentAt = Date.now();
    this.transport.request("chat_typing", { typing: true }).catch(() => {});
  }

  async leave() {
    try {
      await this.transport.leave();
    } finally {
      this.onEnded();
    }
  }

  setConnection(status) {
    if (!this.connEl) return;
    setText(this.connEl, status === "online" ? "" : status === "reconnecting" ? "Reconnecting…" : status === "connecting" ? "Connecting…" : "");
  }

  tick() {
    if (this.agentTypingUntil && Date.now() > this.agentTypingUntil) {
      this.agentTypingUntil = 0;
      setText(this.typingEl, "");
    }
  }
}
