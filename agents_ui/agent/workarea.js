// The work area of one contact: the conversation (chat transcript, email thread or call
// controls), then the wrap-up form. One WorkView per contact is kept alive while the contact
// is open, so switching between contacts keeps drafts, scroll position and focus.

import { h, fill, setText, tierBadge, channelIcon } from "../common/dom.js";
import { clock, duration, humanize } from "../common/format.js";

export const DISPOSITIONS = [
  ["resolved", "Resolved"],
  ["order_status", "Order status given"],
  ["refund_started", "Refund / return started"],
  ["complaint_logged", "Complaint logged"],
  ["follow_up", "Follow-up needed"],
  ["escalated", "Escalated"],
  ["sales", "Sale / upsell"],
  ["no_response", "Customer did not respond"],
  ["other", "Other"],
];

const STATE_LABELS = {
  alerting: ["Incoming", "warn"],
  accepting: ["Accepting…", "info"],
  connecting: ["Answering…", "info"],
  connected: ["Connected", "ok"],
  held: ["On hold", "warn"],
  wrap_up: ["Wrap-up", "info"],
  saving: ["Saving…", "info"],
};

/** The state of a contact as a badge (words and colour). */
export function stateBadge(state) {
  const [label, kind] = STATE_LABELS[state] || [humanize(state), ""];
  return h("span", { class: ["badge", kind, "state"], text: label });
}

const MESSAGE_STATUS = {
  sending: "Sending…",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
  failed: "Not sent",
};

/**
 * One contact's work view. `actions` are the console's verbs:
 * accept, reject, end, hold, retrieve, transfer, sendChat, typing, sendEmail, wrapUpDone.
 */
export class WorkView {
  constructor(contact, actions, options = {}) {
    this.contact = contact;
    this.actions = actions;
    this.options = options;
    this.messageEls = new Map();
    this.el = h("section", {
      class: ["work", `work-${contact.channel}`], "aria-label": `Work area: ${contact.channel} with ${contact.customerName}`,
      data: { contactId: contact.id },
    });
    this.build();
    this.refresh();
  }

  build() {
    const c = this.contact;
    this.stateSlot = h("span", { class: "state-slot" });
    this.timer = h("span", { class: "num timer", title: "Time in this contact state" });
    this.head = h("header", { class: "work-head" },
      h("div", { class: "title" },
        channelIcon(c.channel),
        h("h1", { class: "work-title", text: c.customerName }),
        tierBadge(c.tier),
        this.stateSlot),
      h("div", { class: "meta" },
        h("span", { class: "muted", text: c.queue ? `Queue ${c.queue}` : "" }),
        h("span", { class: "muted num", text: `waited ${duration(c.waitedS)}` }),
        this.timer));

    this.preview = this.buildPreview();
    this.body = h("div", { class: "work-body" });
    if (c.channel === "chat") this.buildChat();
    else if (c.channel === "email") this.buildEmail();
    else this.buildVoice();
    this.controls = this.buildControls();
    this.wrap = this.buildWrapUp();
    this.el.append(this.head, this.preview, this.body, this.controls, this.wrap);
  }

  // ---- the offer preview (before accept) ----

  buildPreview() {
    const c = this.contact;
    const first = c.firstMessage || c.subject || "";
    this.acceptBtn = h("button", { class: "btn ok", type: "button", "aria-label": "Accept", "aria-keyshortcuts": "A", on: { click: () => this.actions.accept(c.id) } },
      "Accept", h("kbd", { text: "A" }));
    this.rejectBtn = h("button", { class: "btn danger", type: "button", "aria-label": "Reject", "aria-keyshortcuts": "R", on: { click: () => this.actions.reject(c.id) } },
      "Reject", h("kbd", { text: "R" }));
    return h("div", { class: "preview" },
      h("p", { class: "muted small", text: `Incoming ${c.channel} — accept to start.` }),
      first ? h("blockquote", { class: "first-message", text: first }) : null,
      h("div", { class: "actions" }, this.acceptBtn, this.rejectBtn));
  }

  // ---- chat ----

  buildChat() {
    this.transcript = h("ol", { class: "transcript", "aria-label": "Conversation", "aria-live": "polite" });
    this.typingEl = h("div", { class: "typing hidden", "aria-live": "polite" },
      h("span", { class: "dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")),
      h("span", { text: `${this.contact.customerName} is typing…` }));
    this.input = h("textarea", {
      class: "field composer-input", rows: "2", placeholder: "Type a reply…  (Enter to send, Shift+Enter for a new line)",
      "aria-label": "Reply to the customer", maxlength: "4000",
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.sendChat();
      }
    });
    this.input.addEventListener("input", () => this.actions.typing(this.contact.id));
    this.sendBtn = h("button", { class: "btn primary", type: "button", text: "Send", on: { click: () => this.sendChat() } });
    this.composer = h("div", { class: "composer" }, this.input, this.sendBtn);
    this.body.append(this.transcript, this.typingEl, this.composer);
    if (this.contact.firstMessage && !this.contact.messages.length) {
      this.contact.messages.push({ from: "customer", text: this.contact.firstMessage, at: this.contact.offeredAtIso, localId: "first" });
    }
    for (const message of this.contact.messages) this.renderMessage(message);
  }

  sendChat() {
    const text = this.input.value.trim();
    if (!text || !this.canTalk()) return;
    this.input.value = "";
    this.actions.sendChat(this.contact.id, text);
    this.input.focus();
  }

  /** Add or update one chat message bubble. */
  renderMessage(message) {
    if (!this.transcript) return;
    const key = message.localId || message.serverId;
    let el = this.messageEls.get(key);
    const mine = message.from === "agent";
    const status = mine ? MESSAGE_STATUS[message.status] || "" : "";
    if (!el) {
      el = h("li", { class: ["msg", mine ? "mine" : message.from === "system" ? "system" : "theirs"] },
        h("div", { class: "bubble" }, h("span", { class: "sr-only", text: mine ? "You: " : `${this.contact.customerName}: ` }),
          h("span", { class: "text", text: message.text })),
        h("div", { class: "msg-meta" }, h("span", { class: "at", text: clock(message.at) }), h("span", { class: "status" })));
      this.messageEls.set(key, el);
      const nearBottom = this.transcript.scrollHeight - this.transcript.scrollTop - this.transcript.clientHeight < 60;
      this.transcript.append(el);
      if (nearBottom || mine) this.transcript.scrollTop = this.transcript.scrollHeight;
    }
    el.classList.toggle("failed", message.status === "failed");
    setText(el.querySelector(".status"), status ? ` · ${status}` : "");
    setText(el.querySelector(".at"), clock(message.at));
  }

  rekeyMessage(oldKey, newKey) {
    const el = this.messageEls.get(oldKey);
    if (el && newKey) {
      this.messageEls.delete(oldKey);
      this.messageEls.set(newKey, el);
    }
  }

  setTyping(typing) {
    if (this.typingEl) this.typingEl.classList.toggle("hidden", !typing);
  }

  // ---- email ----

  buildEmail() {
    const c = this.contact;
    this.thread = h("ol", { class: "thread", "aria-label": "Email thread" });
    if (!c.messages.length && (c.firstMessage || c.subject)) {
      c.messages.push({ from: "customer", subject: c.subject, text: c.firstMessage || "", at: c.offeredAtIso, localId: "first" });
    }
    for (const message of c.messages) this.renderMail(message);
    const subject = c.subject ? (/^re:/i.test(c.subject) ? c.subject : `Re: ${c.subject}`) : "Re: your message";
    this.mailSubject = h("input", { class: "field", "aria-label": "Reply subject", value: subject, readonly: true, title: "Set by the server from the thread" });
    this.mailBody = h("textarea", { class: "field", rows: "6", "aria-label": "Reply text", placeholder: "Write the reply…" });
    this.mailSend = h("button", { class: "btn primary", type: "button", text: "Send reply", on: { click: () => this.sendEmail() } });
    this.outboxNote = h("p", { class: "muted small", role: "status" });
    this.body.append(this.thread,
      h("div", { class: "mail-reply" },
        h("div", { class: "muted small", text: "Reply (threaded with In-Reply-To / References; queued in the outbox)" }),
        this.mailSubject, this.mailBody,
        h("div", { class: "actions" }, this.outboxNote, this.mailSend)));
  }

  renderMail(message) {
    if (!this.thread) return;
    this.thread.append(h("li", { class: ["mail", message.from === "agent" ? "mine" : "theirs"] },
      h("div", { class: "mail-head" },
        h("span", { class: "strong", text: message.from === "agent" ? "You" : this.contact.customerName }),
        h("span", { class: "muted small", text: clock(message.at) })),
      message.subject ? h("div", { class: "mail-subject", text: message.subject }) : null,
      h("div", { class: "mail-body", text: message.text || "" })));
  }

  async sendEmail() {
    const body = this.mailBody.value.trim();
    if (!body || !this.canTalk()) return;
    this.mailSend.disabled = true;
    const data = await this.actions.sendEmail(this.contact.id, { subject: this.mailSubject.value.trim(), body });
    this.mailSend.disabled = false;
    if (data) {
      this.mailBody.value = "";
      this.renderMail({ from: "agent", subject: this.mailSubject.value, text: body, at: new Date().toISOString() });
      setText(this.outboxNote, data.message_id ? `Queued in the outbox as ${data.message_id}` : `Queued in the outbox${data.at ? ` at ${clock(data.at)}` : ""}`);
    }
  }

  // ---- voice / callback ----

  buildVoice() {
    const c = this.contact;
    this.callState = h("div", { class: "call-state", role: "status" });
    this.holdBtn = h("button", { class: "btn", type: "button", text: "Hold", on: { click: () => this.toggleHold() } });
    this.body.append(h("div", { class: "call" },
      h("div", { class: "call-who" },
        h("div", { class: "call-name", text: c.customerName }),
        h("div", { class: "mono muted", text: c.phone || "" })),
      this.callState,
      h("div", { class: "call-buttons" }, this.holdBtn)));
  }

  toggleHold() {
    if (this.contact.state === "held") this.actions.retrieve(this.contact.id);
    else this.actions.hold(this.contact.id);
  }

  // ---- transfer + end ----

  buildControls() {
    const c = this.contact;
    const targetId = `transfer-target-${c.id}`;
    this.transferKind = h("select", { class: "field", "aria-label": "Transfer to a queue or an agent" },
      h("option", { value: "queue", text: "Queue" }), h("option", { value: "agent", text: "Agent" }));
    this.transferTarget = h("input", {
      class: "field", id: targetId, list: "known-queues", placeholder: "queue name or agent id",
      "aria-label": "Transfer target",
    });
    this.transferBtn = h("button", { class: "btn", type: "button", text: "Transfer", on: { click: () => this.transfer() } });
    const endWord = c.channel === "voice" || c.channel === "callback" ? "Hang up" : "End";
    this.endBtn = h("button", { class: "btn danger", type: "button", "aria-label": endWord, "aria-keyshortcuts": "E", on: { click: () => this.actions.end(c.id) } },
      endWord, h("kbd", { text: "E" }));
    return h("div", { class: "work-controls" },
      h("div", { class: "transfer" }, this.transferKind, this.transferTarget, this.transferBtn),
      this.endBtn);
  }

  transfer() {
    const target = this.transferTarget.value.trim();
    if (!target) {
      this.transferTarget.focus();
      return;
    }
    const fields = this.transferKind.value === "agent" ? { to_agent: target } : { to_queue: target };
    this.actions.transfer(this.contact.id, fields);
  }

  // ---- wrap-up ----

  buildWrapUp() {
    const c = this.contact;
    const id = (name) => `${name}-${c.id}`;
    this.disposition = h("select", { class: "field", id: id("disposition"), required: true },
      h("option", { value: "", text: "Choose…" }),
      DISPOSITIONS.map(([value, label]) => h("option", { value, text: label })));
    this.notes = h("textarea", { class: "field", id: id("notes"), rows: "3", placeholder: "What happened, what was promised", maxlength: "4000" });
    this.ticketMode = h("select", { class: "field", id: id("ticket-mode"), "aria-label": "Ticket" },
      h("option", { value: "none", text: "No ticket" }),
      h("option", { value: "complaint", text: "Open a complaint" }),
      h("option", { value: "service", text: "Open a service request" }),
      h("option", { value: "update", text: "Update an open ticket" }));
    const firstLine = (c.subject || c.firstMessage || "").split("\n")[0].slice(0, 120);
    this.ticketSubject = h("input", { class: "field", id: id("ticket-subject"), value: firstLine, "aria-label": "Ticket subject", placeholder: "Subject" });
    this.ticketPriority = h("select", { class: "field", id: id("ticket-priority"), "aria-label": "Ticket priority" },
      ["low", "normal", "high", "urgent"].map((p) => h("option", { value: p, text: humanize(p), selected: p === "normal" })));
    this.ticketStatus = h("select", { class: "field", id: id("ticket-status"), "aria-label": "Ticket status" },
      ["open", "pending", "resolved", "closed"].map((s) => h("option", { value: s, text: humanize(s) })));
    this.ticketPick = h("select", { class: "field", id: id("ticket-pick"), "aria-label": "Open ticket to update" });
    this.ticketFields = h("div", { class: "ticket-fields hidden" }, this.ticketPick, this.ticketSubject, this.ticketPriority, this.ticketStatus);
    this.ticketMode.addEventListener("change", () => this.showTicketFields());
    this.wrapError = h("p", { class: "form-error", role: "alert" });
    this.doneBtn = h("button", { class: "btn primary", type: "submit", "aria-label": "Done", "aria-keyshortcuts": "Control+Enter" }, "Done", h("kbd", { text: "Ctrl+Enter" }));
    this.wrapTimer = h("span", { class: "num muted" });
    const form = h("form", { class: "wrapup", "aria-label": "Wrap-up" },
      h("div", { class: "wrap-head" }, h("h2", { text: "Wrap-up" }), this.wrapTimer),
      h("div", { class: "wrap-grid" },
        h("label", { class: "stack", for: id("disposition") }, "Disposition", this.disposition),
        h("label", { class: "stack", for: id("ticket-mode") }, "Ticket", this.ticketMode)),
      this.ticketFields,
      h("label", { class: "stack", for: id("notes") }, "Notes", this.notes),
      h("div", { class: "actions" }, this.wrapError, this.doneBtn));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submitWrapUp();
    });
    form.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.submitWrapUp();
      }
    });
    return form;
  }

  showTicketFields() {
    const mode = this.ticketMode.value;
    this.ticketFields.classList.toggle("hidden", mode === "none");
    this.ticketPick.classList.toggle("hidden", mode !== "update");
    this.ticketSubject.classList.toggle("hidden", mode === "update");
    this.ticketPriority.classList.toggle("hidden", mode === "update");
    if (mode === "update") {
      const tickets = (this.contact.screenPop && this.contact.screenPop.tickets) || [];
      fill(this.ticketPick, tickets.length
        ? tickets.map((t) => h("option", { value: String(t.id), text: `#${t.id} ${humanize(t.kind)}: ${t.subject}` }))
        : h("option", { value: "", text: "No open tickets" }));
      this.ticketStatus.value = "resolved";
    } else {
      this.ticketStatus.value = "open";
    }
  }

  /** The wrap_up_done fields from the form, or null with the problem shown. */
  wrapUpFields() {
    if (!this.disposition.value) {
      setText(this.wrapError, "Choose a disposition.");
      this.disposition.focus();
      return null;
    }
    const fields = { disposition: this.disposition.value, notes: this.notes.value.trim() };
    const mode = this.ticketMode.value;
    if (mode === "complaint" || mode === "service") {
      const subject = this.ticketSubject.value.trim();
      if (!subject) {
        setText(this.wrapError, "A ticket needs a subject.");
        this.ticketSubject.focus();
        return null;
      }
      fields.ticket = { kind: mode, subject, priority: this.ticketPriority.value, status: this.ticketStatus.value };
    } else if (mode === "update") {
      if (!this.ticketPick.value) {
        setText(this.wrapError, "There is no open ticket to update.");
        return null;
      }
      fields.ticket = { id: this.ticketPick.value, status: this.ticketStatus.value };
    }
    setText(this.wrapError, "");
    return fields;
  }

  submitWrapUp() {
    if (this.contact.state !== "wrap_up") return;
    const fields = this.wrapUpFields();
    if (fields) this.actions.wrapUpDone(this.contact.id, fields);
  }

  showWrapError(message) {
    setText(this.wrapError, message);
  }

  // ---- state ----

  canTalk() {
    return this.contact.state === "connected";
  }

  /** Bring the view in line with the contact's state (no rebuild). */
  refresh() {
    const c = this.contact;
    const state = c.state;
    const old = this.stateSlot.firstChild;
    if (!old || old.dataset.state !== state) {
      const badge = stateBadge(state);
      badge.dataset.state = state;
      fill(this.stateSlot, badge);
    }
    this.timer.dataset.since = String(c.stateSince);
    const alerting = state === "alerting" || state === "accepting";
    const live = state === "connected" || state === "held" || state === "connecting";
    const wrapping = state === "wrap_up" || state === "saving";
    this.preview.classList.toggle("hidden", !alerting);
    this.acceptBtn.disabled = state !== "alerting" || c.expired;
    this.rejectBtn.disabled = state !== "alerting";
    this.body.classList.toggle("hidden", alerting);
    this.body.classList.toggle("ended", wrapping);
    this.controls.classList.toggle("hidden", !live);
    this.wrap.classList.toggle("hidden", !wrapping);
    this.doneBtn.disabled = state === "saving";
    this.wrapTimer.dataset.since = String(c.endedAt || c.stateSince);
    if (this.input) {
      this.input.disabled = state !== "connected";
      this.sendBtn.disabled = state !== "connected";
      if (wrapping) this.setTyping(false);
    }
    if (this.mailSend) this.mailSend.disabled = state !== "connected";
    if (this.holdBtn) {
      setText(this.holdBtn, state === "held" ? "Retrieve" : "Hold");
      this.holdBtn.setAttribute("aria-pressed", state === "held" ? "true" : "false");
      this.holdBtn.disabled = !(state === "connected" || state === "held");
      const words = { connecting: "Answering the call…", connected: "On call", held: "Caller on hold", wrap_up: "Call ended" };
      setText(this.callState, words[state] || humanize(state));
    }
    this.endBtn.disabled = !(state === "connected" || state === "held");
    this.transferBtn.disabled = !(state === "connected" || state === "held");
  }

  /** Focus the most useful control when the view becomes visible. */
  focusMain() {
    if (this.contact.state === "wrap_up") this.disposition.focus();
    else if (this.contact.state === "connected" && this.input) this.input.focus();
  }
}
